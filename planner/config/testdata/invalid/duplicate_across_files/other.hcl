

source "git" "platform" {
  url = "https://example.com/other.git"
}
