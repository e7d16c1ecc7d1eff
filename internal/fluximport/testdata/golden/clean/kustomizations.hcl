# Imported from Flux manifests by `strata import flux`. Review the TODO(strata import)
# comments: each marks a setting that was not carried over exactly.

# Kustomization flux-system/crds (testdata/corpus/clean/infra/kustomizations.yaml:1)
kustomization "crds" {
  source   = source.git.platform
  path     = "infra/crds"
  prune    = true
  wait     = true
  timeout  = "3m"
  interval = "10m"
}

# Kustomization flux-system/infra (testdata/corpus/clean/infra/kustomizations.yaml:21)
kustomization "infra" {
  source           = source.git.platform
  path             = "infra/base"
  prune            = false
  wait             = false
  force            = true
  timeout          = "30m"
  interval         = "30m"
  target_namespace = "infra"
  substitute = {
    cluster_env = "production"
    region      = "eu-west-1"
  }
  name_prefix = "infra-"
  name_suffix = "-v1"
  common_labels = {
    team = "platform"
  }
  common_annotations = {
    owner = "platform@example.com"
  }
  components = ["../components/monitoring"]
  depends_on = [kustomization.crds]
  patch {
    patch = <<EOT
apiVersion: apps/v1
kind: Deployment
metadata:
  name: not-used
spec:
  replicas: 3
EOT
    target {
      group               = "apps"
      version             = "v1"
      kind                = "Deployment"
      label_selector      = "app.kubernetes.io/part-of=infra"
      annotation_selector = "scale=true"
    }
  }
  patch {
    patch = <<EOT
- op: add
  path: /metadata/annotations/patched
  value: "yes"
EOT
    target {
      kind      = "ConfigMap"
      name      = "settings"
      namespace = "infra"
    }
  }
  image {
    name    = "nginx"
    new_tag = "1.27"
  }
  image {
    name     = "redis"
    new_name = "registry.example.com/redis"
    digest   = "sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"
  }
}

# Kustomization flux-system/legacy (testdata/corpus/clean/infra/kustomizations.yaml:81)
kustomization "legacy" {
  source   = source.git.default-ref
  prune    = true
  wait     = false
  interval = "5m"
  patch {
    patch = <<EOT
apiVersion: v1
kind: ConfigMap
metadata:
  name: legacy
data:
  mode: strategic
EOT
  }
  patch {
    patch = <<EOT
- op: replace
  path: /spec/type
  value: NodePort
EOT
    target {
      version = "v1"
      kind    = "Service"
      name    = "legacy"
    }
  }
}

# Kustomization team-a/apps (testdata/corpus/clean/tenants/team-a.yaml:25)
kustomization "team-a_apps" {
  source           = source.git.team-a_apps
  path             = "deploy"
  prune            = true
  wait             = false
  interval         = "5m"
  suspend          = true
  target_namespace = "team-a"
  service_account  = "team-a/reconciler"
  depends_on       = [kustomization.infra]
}

# Kustomization team-b/apps (testdata/corpus/clean/tenants/team-b.yaml:12)
kustomization "team-b_apps" {
  source           = source.git.team-b_apps
  prune            = true
  wait             = false
  interval         = "5m"
  target_namespace = "team-b-apps"
  service_account  = "team-b/reconciler"
}
