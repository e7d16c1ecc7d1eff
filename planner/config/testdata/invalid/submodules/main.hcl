source "git" "platform" {
  url                = "https://git.example.com/platform.git"
  branch             = "main"
  recurse_submodules = true
}
