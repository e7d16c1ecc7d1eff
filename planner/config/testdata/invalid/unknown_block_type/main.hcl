kustomisation "a" {
  path = "."
}
