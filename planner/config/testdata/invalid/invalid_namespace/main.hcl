release "web" {
  chart     = "./chart"
  namespace = "Apps_Prod"
}
