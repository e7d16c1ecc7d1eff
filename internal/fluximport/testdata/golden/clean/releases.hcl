# Imported from Flux manifests by `strata import flux`. Review the TODO(strata import)
# comments: each marks a setting that was not carried over exactly.

# HelmRelease apps/podinfo (testdata/corpus/clean/releases.yaml:1)
release "podinfo" {
  namespace = "apps"
  source    = source.helm.bitnami
  chart     = "podinfo"
  version   = ">= 6.0.0, < 7.0.0"
  values = {
    replicaCount = 2
    ratio        = 0.5
    enabled      = true
    nothing      = null
    "dashed-key" = "x"
    "true"       = "a boolean-looking key"
    ingress = {
      hosts = [{
        host  = "podinfo.example.com"
        paths = ["/"]
      }]
    }
    message   = <<EOT
Hello from podinfo.
Literal $ signs, %%{ nor_this } and \\ backslashes.
EOT
    quote     = "say \"hi\""
    big       = 12345678901234567890
    small     = 0.0015
    hex       = 31
    empty     = ""
    emptyMap  = {}
    emptyList = []
    unicode   = "grüße\t✓"
    oneLine   = "cost: 5$, %%{x} and \\\\"
    defaults = {
      cpu = "100m"
    }
    override = {
      cpu = "100m"
    }
  }
  timeout         = "10m"
  interval        = "10m"
  max_history     = 10
  service_account = "apps/deployer"
  depends_on      = [release.team-a_redis]
  values_from {
    kind = "ConfigMap"
    name = "podinfo-values"
  }
  values_from {
    kind        = "Secret"
    name        = "podinfo-secrets"
    key         = "token"
    target_path = "auth.token"
    optional    = true
  }
  install {
    create_namespace = true
    crds             = "create_replace"
    disable_hooks    = true
    remediation {
      retries                = 3
      remediate_last_failure = true
    }
  }
  upgrade {
    crds            = "create"
    cleanup_on_fail = true
    force           = true
    disable_hooks   = true
    remediation {
      retries                = 2
      strategy               = "uninstall"
      remediate_last_failure = false
    }
  }
  rollback {
    cleanup_on_fail = true
    force           = true
    recreate        = true
    disable_hooks   = true
    timeout         = "2m"
  }
  uninstall {
    keep_history  = true
    disable_hooks = true
    timeout       = "3m"
  }
  drift_detection {
    mode = "warn"
  }
}

# HelmRelease flux-system/git-chart (testdata/corpus/clean/releases.yaml:94)
release "git-chart" {
  name      = "web-git-chart"
  namespace = "web"
  source    = source.git.charts-repo
  chart     = "charts/app"
  wait      = false
  interval  = "5m"
  suspend   = true
}

# HelmRelease flux-system/oci-podinfo (testdata/corpus/clean/releases.yaml:119)
release "oci-podinfo" {
  namespace = "flux-system"
  source    = source.helm.podinfo-chart
  chart     = "podinfo"
  version   = ">= 6.5.0, < 6.6.0"
  interval  = "5m"
  drift_detection {
    mode = "disabled"
  }
}

# HelmRelease flux-system/old (testdata/corpus/clean/releases.yaml:130)
release "old" {
  namespace = "flux-system"
  source    = source.helm.ghcr
  chart     = "nginx"
  version   = ">= 15.0.0, < 16.0.0"
  interval  = "5m"
  install {
    crds = "skip"
  }
  drift_detection {
    mode = "disabled"
  }
}

# HelmRelease team-a/redis (testdata/corpus/clean/tenants/team-a.yaml:44)
release "team-a_redis" {
  name      = "redis"
  namespace = "team-a"
  source    = source.helm.bitnami
  chart     = "redis"
  version   = ">= 18.1.0, < 19.0.0"
  values = {
    architecture = "standalone"
  }
  interval        = "10m"
  service_account = "team-a/reconciler"
  drift_detection {
    mode = "disabled"
  }
}

# HelmRelease team-b/redis (testdata/corpus/clean/tenants/team-b.yaml:27)
release "team-b_redis" {
  name            = "redis"
  namespace       = "team-b"
  source          = source.helm.bitnami
  chart           = "redis"
  version         = ">= 18.1.0, < 19.0.0"
  interval        = "10m"
  service_account = "team-b/reconciler"
  drift_detection {
    mode = "disabled"
  }
}
