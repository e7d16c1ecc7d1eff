# The MLOps platform of the GitOps deep dive (Kafka, MinIO, MLflow and
# Airflow on Flux-style tiers) as one stack, in four tiers, each depending on
# the one before:
#
#   1. platform base   namespaces, RBAC, resource quotas, network policies
#   2. operators       Strimzi Kafka operator (its chart installs the Kafka
#                      CRDs), External Secrets Operator
#   3. data services   a Kafka cluster, its node pool and topics (custom
#                      resources of the Strimzi CRDs), MinIO
#   4. ML services     the database credentials of MLflow and Airflow as
#                      ExternalSecrets, MLflow, Airflow
#
# The manifests are kustomize overlays: gitops/base holds what every
# environment shares, gitops/environments/NAME patches it. Each environment
# block below names its cluster and its variables file
# (environments/NAME.vars.hcl), whose values choose the overlay and size the
# releases. See README.md.

strata {
  required_version = ">= 0.1.0"
}

# ------------------------------------------------------------- environments

# One cluster per environment, named by its kubeconfig context. Each
# environment has its own state (.strata/environments/NAME/state.db) and
# lock: strata plan|apply -e NAME, or strata plan --all-environments.
environment "development" {
  cluster { context = "mlops-development" }
  var_files = ["environments/development.vars.hcl"]
}

environment "staging" {
  cluster { context = "mlops-staging" }
  var_files = ["environments/staging.vars.hcl"]
}

environment "production" {
  cluster { context = "mlops-production" }
  var_files = ["environments/production.vars.hcl"]
}

# ---------------------------------------------------------------- variables

variable "environment" {
  type        = string
  description = "The environment: its overlay under gitops/environments and the environment label."
  validation {
    condition     = contains(["development", "staging", "production"], var.environment)
    error_message = "environment must be development, staging or production."
  }
}

variable "chart_repository_url" {
  type        = string
  default     = ""
  description = "A Helm repository that serves every chart of the stack (a mirror, or a local chart repository). Empty: each chart's public repository."
}

variable "namespace_prefix" {
  type        = string
  default     = ""
  description = "Prepended to every namespace name, so that copies of the stack can share one cluster (the tests run all three environments on one)."
}

variable "storage_class" {
  type        = string
  default     = "standard"
  description = "Storage class of the Kafka, MinIO and Airflow volumes."
}

variable "replicas" {
  type = object({
    operators = number # Strimzi and External Secrets controllers
    minio     = number # 1: standalone; 4 or more: distributed
    mlflow    = number
    airflow   = number # Airflow scheduler and webserver
  })
  default = { operators = 1, minio = 1, mlflow = 1, airflow = 1 }
}

variable "resources" {
  type = object({
    cpu    = string
    memory = string
  })
  default     = { cpu = "250m", memory = "512Mi" }
  description = "Requests of the MinIO, MLflow and Airflow pods; the limits are twice as much memory."
}

variable "volume_size" {
  type        = string
  default     = "10Gi"
  description = "Size of each MinIO volume."
}

locals {
  namespaces = {
    operators = "${var.namespace_prefix}platform-operators"
    data      = "${var.namespace_prefix}data-plane"
    ml        = "${var.namespace_prefix}ml-lifecycle"
  }
  overlay = "gitops/environments/${var.environment}"

  # Each chart's public repository, unless chart_repository_url replaces
  # them all.
  mirror = var.chart_repository_url
  charts = {
    strimzi          = local.mirror != "" ? local.mirror : "https://strimzi.io/charts/"
    external_secrets = local.mirror != "" ? local.mirror : "https://charts.external-secrets.io"
    minio            = local.mirror != "" ? local.mirror : "https://charts.min.io/"
    mlflow           = local.mirror != "" ? local.mirror : "https://community-charts.github.io/helm-charts"
    airflow          = local.mirror != "" ? local.mirror : "https://airflow.apache.org"
  }

  # ${namespace_prefix}, ${environment} and ${storage_class} in the manifests.
  substitute = {
    namespace_prefix = var.namespace_prefix
    environment      = var.environment
    storage_class    = var.storage_class
  }
  pod_resources = {
    requests = { cpu = var.resources.cpu, memory = var.resources.memory }
    limits   = { memory = format("%dMi", parseint(trimsuffix(var.resources.memory, "Mi"), 10) * 2) }
  }
}

# ------------------------------------------------------------------ sources

source "helm" "strimzi" {
  url = local.charts.strimzi
}

source "helm" "external_secrets" {
  url = local.charts.external_secrets
}

source "helm" "minio" {
  url = local.charts.minio
}

source "helm" "community_charts" {
  url = local.charts.mlflow
}

source "helm" "apache_airflow" {
  url = local.charts.airflow
}

# ---------------------------------------------------- tier 1: platform base

# Namespaces, service accounts and roles, resource quotas and network
# policies of the three platform namespaces.
kustomization "platform_base" {
  path       = "${local.overlay}/platform"
  prune      = true
  wait       = true
  timeout    = "2m"
  substitute = local.substitute
  health_check {
    api_version = "v1"
    kind        = "Namespace"
    name        = local.namespaces.operators
  }
}

# ---------------------------------------------------------- tier 2: operators

# The Strimzi cluster operator, watching the data-plane namespace. Its chart
# ships the Kafka CRDs in crds/: an install creates them, an upgrade
# replaces them with the chart's (Strimzi's upgrade procedure).
release "strimzi_kafka_operator" {
  name      = "strimzi-kafka-operator"
  namespace = local.namespaces.operators
  chart     = "strimzi-kafka-operator"
  version   = ">= 0.45.0, < 0.50.0"
  source    = source.helm.strimzi
  values = {
    watchNamespaces      = [local.namespaces.data]
    watchAnyNamespace    = false
    replicas             = var.replicas.operators
    defaultImageRegistry = "quay.io"
  }
  upgrade {
    crds = "create_replace"
    remediation {
      retries = 3
    }
  }
  rollback {
    cleanup_on_fail = true
  }
  timeout    = "5m"
  depends_on = [kustomization.platform_base]
}

# External Secrets Operator; its CRDs are templates of the chart
# (installCRDs), so upgrades keep them current.
release "external_secrets" {
  name      = "external-secrets"
  namespace = local.namespaces.operators
  chart     = "external-secrets"
  version   = ">= 0.17.0, < 2.0.0"
  source    = source.helm.external_secrets
  values = {
    installCRDs  = true
    replicaCount = var.replicas.operators
  }
  upgrade {
    remediation {
      retries = 3
    }
  }
  timeout    = "5m"
  depends_on = [kustomization.platform_base]
}

# ----------------------------------------------------- tier 3: data services

# The Kafka cluster (KRaft, one node pool) and its topics: custom resources
# of the CRDs the Strimzi release installs in the same apply. The apply
# waits until the operator reports the Kafka Ready.
kustomization "data_services" {
  path       = "${local.overlay}/data-services"
  prune      = true
  wait       = true
  timeout    = "15m"
  substitute = local.substitute
  health_check {
    api_version = "kafka.strimzi.io/v1beta2"
    kind        = "Kafka"
    name        = "mlops-kafka-cluster"
    namespace   = local.namespaces.data
    condition   = "Ready"
  }
  depends_on = [release.strimzi_kafka_operator, release.external_secrets]
}

# MinIO, the artifact store of MLflow.
release "minio" {
  namespace = local.namespaces.data
  chart     = "minio"
  version   = "~> 5.0"
  source    = source.helm.minio
  values = {
    mode      = var.replicas.minio > 1 ? "distributed" : "standalone"
    replicas  = var.replicas.minio
    resources = local.pod_resources
    persistence = {
      size         = var.volume_size
      storageClass = var.storage_class
    }
    buckets = [{ name = "mlflow-artifacts", policy = "none", purge = false }]
  }
  timeout    = "10m"
  depends_on = [release.strimzi_kafka_operator, release.external_secrets]
}

# ------------------------------------------------------ tier 4: ML services

# The Vault secret store and the ExternalSecrets that give MLflow and
# Airflow their database credentials. The apply waits until the External
# Secrets Operator has synced MLflow's.
kustomization "ml_services" {
  path       = "${local.overlay}/ml-services"
  prune      = true
  wait       = true
  timeout    = "5m"
  substitute = local.substitute
  health_check {
    api_version = "external-secrets.io/v1"
    kind        = "ExternalSecret"
    name        = "mlflow-db-credentials"
    namespace   = local.namespaces.ml
    condition   = "Ready"
  }
  depends_on = [kustomization.data_services, release.minio]
}

# MLflow, with its PostgreSQL credentials from the ExternalSecret's Secret
# and its artifacts in MinIO.
release "mlflow" {
  namespace = local.namespaces.ml
  chart     = "mlflow"
  version   = "~> 1.0"
  source    = source.helm.community_charts
  values = {
    replicaCount = var.replicas.mlflow
    resources    = local.pod_resources
    backendStore = {
      postgres = {
        enabled  = true
        host     = "mlflow-postgres.${local.namespaces.ml}.svc"
        port     = 5432
        database = "mlflow"
      }
      existingDatabaseSecret = {
        name        = "mlflow-postgres-secret"
        usernameKey = "username"
        passwordKey = "password"
      }
    }
    artifactRoot = {
      proxiedArtifactStorage = true
      s3 = {
        enabled = true
        bucket  = "mlflow-artifacts"
      }
    }
    extraEnvVars = {
      MLFLOW_S3_ENDPOINT_URL = "http://minio.${local.namespaces.data}.svc:9000"
    }
  }
  timeout    = "10m"
  depends_on = [kustomization.ml_services]
}

# Airflow with the KubernetesExecutor; its metadata database connection
# comes from the airflow-metadata Secret of the ExternalSecret.
release "airflow" {
  namespace = local.namespaces.ml
  chart     = "airflow"
  version   = "~> 1.15"
  source    = source.helm.apache_airflow
  values = {
    executor   = "KubernetesExecutor"
    data       = { metadataSecretName = "airflow-metadata" }
    postgresql = { enabled = false }
    scheduler  = { replicas = var.replicas.airflow, resources = local.pod_resources }
    webserver  = { replicas = var.replicas.airflow, resources = local.pod_resources }
    logs = {
      persistence = { enabled = true, storageClassName = var.storage_class }
    }
  }
  timeout    = "10m"
  depends_on = [kustomization.ml_services]
}
