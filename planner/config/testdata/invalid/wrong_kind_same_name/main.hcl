source "helm" "platform" {
  url = "https://charts.example.com"
}

kustomization "a" {
  source = source.git.platform
}
