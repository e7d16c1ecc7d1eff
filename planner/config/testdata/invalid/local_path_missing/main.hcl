kustomization "a" {
  path = "./gitops/missing"
}
