source "git" "platform" {
  url    = "https://example.com/platform.git"
  semver = "^1.2"
}
