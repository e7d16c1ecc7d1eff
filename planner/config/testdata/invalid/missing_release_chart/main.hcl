release "a" {
  namespace = "apps"
}
