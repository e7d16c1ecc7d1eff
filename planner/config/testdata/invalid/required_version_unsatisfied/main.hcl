strata {
  required_version = ">= 99.0"
}
