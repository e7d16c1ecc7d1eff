source "helm" "bitnami" {
  url = "https://charts.bitnami.com/bitnami"
}

release "redis" {
  chart   = "redis"
  version = "latest"
  source  = source.helm.bitnami
}
