source "git" "platform" {
  url = "https://example.com/platform.git"
  auth {
    username = "git"
    password = env("STRATA_TEST_UNSET_TOKEN")
  }
}
