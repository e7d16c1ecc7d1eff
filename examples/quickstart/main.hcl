# The quickstart stack: two kustomizations from this directory, the second
# depending on the first, and one variable substituted into the manifests.
#
#   strata plan
#   strata apply
#   strata state list

strata {
  required_version = ">= 0.1.0"
  # The state lives in .strata/state.db beside this file (the default).
}

variable "environment" {
  type        = string
  default     = "development"
  description = "Name of the environment, substituted for $${environment} in the manifests."
}

# A Namespace and a ConfigMap with the environment's settings.
kustomization "base" {
  path    = "manifests/base"
  prune   = true
  wait    = true
  timeout = "2m"
  substitute = {
    environment = var.environment
  }
}

# A Deployment and its Service, applied once the namespace exists.
kustomization "app" {
  path    = "manifests/app"
  prune   = true
  wait    = true
  timeout = "2m"
  substitute = {
    environment = var.environment
  }
  depends_on = [kustomization.base]
}
