source "helm" "bitnami" {
  url = "s3://charts/bitnami"
}
