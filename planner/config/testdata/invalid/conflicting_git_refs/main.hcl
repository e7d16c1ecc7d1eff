source "git" "platform" {
  url    = "https://example.com/platform.git"
  branch = "main"
  tag    = "v1.0.0"
}
