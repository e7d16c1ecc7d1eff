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

# HelmRelease flux-system/latest-oci-too (testdata/corpus/leftovers/flux-system/gotk-sync.yaml:44)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:30: spec.ref.tag: tag "latest" is not a chart version; version is left out (the highest version is taken)
release "latest-oci-too" {
  namespace = "flux-system"
  source    = source.helm.manifests
  chart     = "manifests"
  interval  = "5m"
  drift_detection {
    mode = "disabled"
  }
}

# HelmRelease default/nons (testdata/corpus/leftovers/leftovers.yaml:103)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:106: metadata.namespace: not set: taken as "default"; the namespace a kustomize overlay or the Kustomization applying this file gives it is not known here
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:131: spec.values.cluster: ${cluster_name} is a variable that the postBuild substitution of the Flux Kustomization applying this file replaces; it is carried over literally: use a strata variable instead
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:117: spec.chart.spec.reconcileStrategy: strata upgrades a release when its chart's version or content changes, not at every new source revision
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:113: spec.chart.spec.valuesFiles: these are files of the chart's source, which strata does not read as values; copy them into the stack and list them in values_files
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:115: spec.chart.spec.verify: strata does not verify chart signatures (cosign, notation)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:141: spec.install.timeout: strata has one timeout for installs and upgrades (timeout = "5m")
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:147: spec.upgrade.disableWaitForJobs: strata waits for Jobs whenever it waits
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:108: spec.install.disableWait: strata waits for every action of a release or for none: it waits (wait = true)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:155: spec.dependsOn[0]: HelmRelease default/bucket-release is left out of the stack; so is this dependency
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:144: spec.install.remediation.retries: strata has no unlimited retries; set a number
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:142: spec.install.replace: strata does not reuse the name of a deleted release
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:146: spec.upgrade.preserveValues: strata upgrades with the stack's values only; put every value in the stack
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:149: spec.uninstall.deletionPropagation: strata uninstalls with background deletion
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:152: spec.driftDetection.ignore: strata has no ignore rules for drift; a drifted field is corrected (mode enabled) or reported (warn)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:138: spec.test.enable: strata does not run Helm tests; run `helm test` after the apply
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:132: spec.postRenderers: strata has no post-renderers; move the patches into the chart or its values
release "nons" {
  namespace = "default"
  source    = source.git.tenant
  chart     = "app"
  values = {
    cluster = "$${cluster_name}"
  }
  interval = "5m"
  values_from {
    kind = "ConfigMap"
    name = "app-values"
  }
  values_from {
    kind        = "Secret"
    name        = "app-secrets"
    key         = "password"
    target_path = "auth.password"
    optional    = true
  }
}

# HelmRelease default/bucket-release (testdata/corpus/leftovers/leftovers.yaml:157)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:167: spec.chart.spec.sourceRef: strata has no bucket source: the release is left out (commented)
# TODO(strata import): release "bucket-release" is left out, for the reason above.

# HelmRelease flux-system/latest-oci (testdata/corpus/leftovers/leftovers.yaml:172)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:30: spec.ref.tag: tag "latest" is not a chart version; version is left out (the highest version is taken)
release "latest-oci" {
  namespace = "flux-system"
  source    = source.helm.manifests
  chart     = "manifests"
  interval  = "5m"
  drift_detection {
    mode = "disabled"
  }
}

# HelmRelease flux-system/elsewhere (testdata/corpus/leftovers/leftovers.yaml:195)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:205: spec.chart.spec.sourceRef: HelmRepository flux-system/not-imported is not among the imported manifests: the release is left out; import it too
# TODO(strata import): release "elsewhere" is left out, for the reason above.
