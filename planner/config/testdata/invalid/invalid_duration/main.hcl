source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source  = source.git.platform
  timeout = "5 minutes"
}
