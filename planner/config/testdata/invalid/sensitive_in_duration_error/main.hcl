variable "token" {
  type      = string
  default   = "hunter2-secret"
  sensitive = true
}

source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source  = source.git.platform
  timeout = var.token
}
