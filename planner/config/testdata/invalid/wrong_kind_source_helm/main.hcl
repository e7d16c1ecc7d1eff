source "helm" "bitnami" {
  url = "https://charts.bitnami.com/bitnami"
}

kustomization "a" {
  source = source.helm.bitnami
}
