variable "token" {
  type      = string
  default   = "hunter2-secret"
  sensitive = true
  validation {
    condition     = length(var.token) > 20
    error_message = "The token ${var.token} is too short."
  }
}
