release "a" {
  chart        = "./chart"
  values_files = ["values/prod.yaml"]
}
