notification "ops" {
  type = "email"
  url  = "https://hooks.example.com/x"
}
