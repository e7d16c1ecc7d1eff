release "a" {
  chart  = "./chart"
  values = "replicaCount: 2"
}
