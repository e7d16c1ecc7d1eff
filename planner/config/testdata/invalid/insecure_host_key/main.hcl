source "git" "platform" {
  url    = "ssh://git@git.example.com/platform.git"
  branch = "main"
  auth {
    private_key              = "key"
    insecure_ignore_host_key = true
  }
}
