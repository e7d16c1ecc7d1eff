source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source = source.git.platform
}

kustomization "b" {
  source     = source.git.platform
  depends_on = ["kustomization.a"]
}
