source "git" "platform" {
  url = "https://example.com/platform.git"
}

kustomization "a" {
  source = source.git.platform
  health_check {
    api_version = "kafka.strimzi.io/v1beta2"
    kind        = "Kafka"
    name        = "mlops-kafka-cluster"
    condition   = "Ready status"
  }
}
