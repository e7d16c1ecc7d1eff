release "r" {
  chart  = "./chart"
  values = { a = 1e400 }
}
