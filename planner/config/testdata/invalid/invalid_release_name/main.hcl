release "Web_Frontend" {
  chart = "./chart"
}
