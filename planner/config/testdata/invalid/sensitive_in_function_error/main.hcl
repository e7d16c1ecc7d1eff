variable "token" {
  type      = string
  default   = "hunter2-secret"
  sensitive = true
}

locals {
  port    = tonumber(var.token)
  token   = var.token
  decoded = jsondecode(local.token)
}
