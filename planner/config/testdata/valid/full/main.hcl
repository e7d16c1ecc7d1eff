strata {
  required_version = ">= 0.1.0"
  backend "local" { path = ".strata/state.db" }
}

cluster {
  context = var.context
}

variable "context" {
  type    = string
  default = "kind-dev"
}

variable "environment" {
  type        = string
  default     = "development"
  description = "Where this runs."
  validation {
    condition     = contains(["development", "production"], var.environment)
    error_message = "environment must be development or production."
  }
}

variable "git_token" {
  type      = string
  default   = "s3cret"
  sensitive = true
}

variable "replicas" {
  type    = number
  default = 2
}

locals {
  registry = "quay.io"
  labels   = { env = var.environment, team = "platform" }
}

source "git" "platform" {
  url      = "https://github.com/example/platform"
  branch   = "main"
  ignore   = ["*.md"]
  interval = "1m"
  verify { public_keys = file("keys/maintainers.asc") }
  auth {
    username = "git"
    password = var.git_token
  }
}

source "helm" "strimzi" {
  url = "https://strimzi.io/charts/"
}

source "helm" "bitnami" {
  url = "oci://registry-1.docker.io/bitnamicharts"
}

kustomization "crds" {
  source = source.git.platform
  path   = "gitops/crds"
}

kustomization "platform_base" {
  source           = source.git.platform
  path             = "gitops/base"
  timeout          = "5m"
  target_namespace = null
  substitute       = { cluster_env = var.environment, token = var.git_token }
  common_labels    = local.labels
  health_check {
    api_version = "v1"
    kind        = "Namespace"
    name        = "platform-operators"
  }
  health_check {
    api_version = "kafka.strimzi.io/v1beta2"
    kind        = "Kafka"
    name        = "mlops-kafka-cluster"
    namespace   = "data-plane"
    condition   = "Ready"
  }
  patch {
    patch = "- op: replace\n  path: /spec/replicas\n  value: 3"
    target {
      kind = "Deployment"
      name = "web"
    }
  }
  image {
    name    = "nginx"
    new_tag = "1.27"
  }
  service_account = "platform-operators/deployer"
  depends_on      = [kustomization.crds]
}

kustomization "local" {
  path = "gitops/base"
}

release "strimzi_kafka_operator" {
  name      = "strimzi"
  namespace = "platform-operators"
  chart     = "strimzi-kafka-operator"
  version   = "0.43.0"
  source    = source.helm.strimzi
  values = {
    watchAnyNamespace    = false
    defaultImageRegistry = local.registry
    replicas             = var.replicas
    auth                 = { token = var.git_token }
    labels               = { for k, v in local.labels : k => upper(v) }
  }
  install {
    create_namespace = true
    crds             = "create_replace"
  }
  upgrade {
    remediation {
      retries  = 3
      strategy = "uninstall"
    }
  }
  rollback { cleanup_on_fail = true }
  drift_detection { mode = "warn" }
  depends_on = [kustomization.platform_base]
}

notification "ops" {
  type    = "slack"
  url     = "https://hooks.slack.com/services/T000/B000/XXXX"
  events  = ["drift"]
  headers = { Authorization = "Bearer x" }
}
