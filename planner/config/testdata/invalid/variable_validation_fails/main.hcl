variable "environment" {
  type    = string
  default = "staging"
  validation {
    condition     = contains(["development", "production"], var.environment)
    error_message = "The environment must be development or production."
  }
}
