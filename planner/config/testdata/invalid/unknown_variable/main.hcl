variable "environment" {
  default = "dev"
}

source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source     = source.git.platform
  substitute = { env = var.enviroment }
}
