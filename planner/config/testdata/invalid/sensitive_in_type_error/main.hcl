variable "token" {
  type      = string
  default   = "hunter2-secret"
  sensitive = true
}

release "a" {
  chart       = "./chart"
  max_history = var.token
}
