kustomization "a" {
  pathh = "."
}
