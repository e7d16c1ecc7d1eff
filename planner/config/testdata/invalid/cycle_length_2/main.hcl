source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source     = source.git.platform
  depends_on = [release.b]
}

release "b" {
  chart      = "./chart"
  values     = { owner = kustomization.a.name }
}
