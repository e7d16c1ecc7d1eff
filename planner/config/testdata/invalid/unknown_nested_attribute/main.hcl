source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source = source.git.platform
  health_check {
    api_version = "v1"
    kindd       = "Namespace"
    name        = "x"
  }
}
