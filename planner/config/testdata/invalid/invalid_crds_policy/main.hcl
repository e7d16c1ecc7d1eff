release "a" {
  chart = "./chart"
  install {
    crds = "create_replac"
  }
}
