kustomization "a" {
  path = "."
