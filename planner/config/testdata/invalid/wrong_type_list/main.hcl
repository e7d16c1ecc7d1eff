source "git" "platform" {
  url    = "https://example.com/platform.git"
  ignore = { md = "*.md" }
}
