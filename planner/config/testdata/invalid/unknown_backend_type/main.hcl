strata {
  backend "consul" {
    path = "x"
  }
}
