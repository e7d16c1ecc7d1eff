kustomization "1st" {
  path = "."
}
