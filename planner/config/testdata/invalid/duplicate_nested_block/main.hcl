release "a" {
  chart = "./chart"
  upgrade {
    force = true
  }
  upgrade {
    force = false
  }
}
