source "git" "platform" {
  url = "https://example.com/platform.git"
  verify {
    public_keys = file("keys/missing.asc")
  }
}
