release "a" {
  chart       = "./chart"
  max_history = "ten"
}
