strata {
  required_version = ">== 0.1"
}
