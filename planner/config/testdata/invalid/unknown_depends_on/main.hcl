source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "base" {
  source = source.git.platform
}

kustomization "apps" {
  source     = source.git.platform
  depends_on = [kustomization.bsae]
}
