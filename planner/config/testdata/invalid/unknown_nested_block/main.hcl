release "a" {
  chart = "./chart"
  upgrade {
    remedation {
      retries = 3
    }
  }
}
