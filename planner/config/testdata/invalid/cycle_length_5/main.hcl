source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source     = source.git.platform
  depends_on = [kustomization.b]
}

kustomization "b" {
  source     = source.git.platform
  depends_on = [kustomization.c]
}

kustomization "c" {
  source     = source.git.platform
  depends_on = [kustomization.d]
}

kustomization "d" {
  source     = source.git.platform
  depends_on = [kustomization.e]
}

kustomization "e" {
  source     = source.git.platform
  depends_on = [kustomization.a]
}

kustomization "outside" {
  source     = source.git.platform
  depends_on = [kustomization.a]
}
