release "web" {
  chart = "./chart"
}

kustomization "a" {
  source = release.web
}
