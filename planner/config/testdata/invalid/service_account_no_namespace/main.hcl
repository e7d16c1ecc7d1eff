source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source          = source.git.platform
  service_account = "deployer"
}
