locals {
  registry = "quay.io"
}

release "a" {
  chart  = "./chart"
  values = { image = local.registy }
}
