source "git" "platform" {
  branch = "main"
}
