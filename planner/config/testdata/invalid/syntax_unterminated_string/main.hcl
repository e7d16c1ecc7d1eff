kustomization "a" {
  path = "gitops
}
