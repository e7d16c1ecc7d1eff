# A stack whose sensitive variable reaches objects other than Secrets:
# through kustomization substitutions (as is, and derived with upper())
# into a Deployment's env var, a ConfigMap value and a label, and through
# release values (a string and a number) into a chart's ConfigMap. TestSensitiveValuesNeverShown
# checks that no output of strata shows it.

variable "namespace" {
  type = string
}

variable "token" {
  type      = string
  sensitive = true
  default   = "tok-Zq81mWx4"
}

# A number: Helm prints it from the chart's values as Go does (7.340033e+06).
variable "port" {
  type      = number
  sensitive = true
  default   = 7340033
}

# suffix = "!" makes the labels invalid: the API server then refuses them,
# quoting the value.
variable "suffix" {
  type    = string
  default = ""
}

kustomization "app" {
  path             = "app"
  target_namespace = var.namespace
  wait             = false
  force            = true # the immutable Secret is replaced when the token changes
  substitute = {
    token  = var.token
    team   = upper(var.token)
    suffix = var.suffix
  }
}

release "web" {
  namespace = var.namespace
  chart     = "charts/web"
  wait      = false
  values = {
    url  = "https://user:${var.token}@db.example.com"
    team = "${upper(var.token)}${var.suffix}"
    port = var.port
  }
}
