kustomization "a" {
  path == "."
}
