# Imported from Flux manifests by `strata import flux`. Review the TODO(strata import)
# comments: each marks a setting that was not carried over exactly.

# GitRepository flux-system/platform (testdata/corpus/clean/sources.yaml:2)
source "git" "platform" {
  url      = "https://git.example.com/org/platform"
  branch   = "main"
  ignore   = ["/*", "!/infra/", "!/apps/"]
  interval = "5m"
  timeout  = "2m"
  verify {
    mode = "tag_and_head"
    # The OpenPGP public keys of Secret flux-system/pgp-public-keys (every key of it, concatenated).
    public_keys = env("FLUX_SYSTEM_PGP_PUBLIC_KEYS_KEYS")
  }
  auth {
    # From Secret flux-system/https-credentials, as Flux reads it: the keys it lacks stay empty. For example:
    #   export FLUX_SYSTEM_HTTPS_CREDENTIALS_USERNAME="$(kubectl -n flux-system get secret https-credentials -o jsonpath='{.data.username}' | base64 -d)"
    #   export FLUX_SYSTEM_HTTPS_CREDENTIALS_PASSWORD="$(kubectl -n flux-system get secret https-credentials -o jsonpath='{.data.password}' | base64 -d)"
    #   export FLUX_SYSTEM_HTTPS_CREDENTIALS_BEARERTOKEN="$(kubectl -n flux-system get secret https-credentials -o jsonpath='{.data.bearerToken}' | base64 -d)"
    #   export FLUX_SYSTEM_HTTPS_CREDENTIALS_CA_CRT="$(kubectl -n flux-system get secret https-credentials -o jsonpath='{.data.ca\.crt}' | base64 -d)"
    username     = env("FLUX_SYSTEM_HTTPS_CREDENTIALS_USERNAME", "")
    password     = env("FLUX_SYSTEM_HTTPS_CREDENTIALS_PASSWORD", "")
    bearer_token = env("FLUX_SYSTEM_HTTPS_CREDENTIALS_BEARERTOKEN", "")
    ca           = env("FLUX_SYSTEM_HTTPS_CREDENTIALS_CA_CRT", "")
  }
}

# GitRepository flux-system/charts-repo (testdata/corpus/clean/sources.yaml:27)
source "git" "charts-repo" {
  url      = "ssh://git@git.example.com/org/charts"
  tag      = "v1.2.0"
  interval = "10m"
  verify {
    mode = "head"
    # The OpenPGP public keys of Secret flux-system/pgp-public-keys (every key of it, concatenated).
    public_keys = env("FLUX_SYSTEM_PGP_PUBLIC_KEYS_KEYS")
  }
  auth {
    # From Secret flux-system/ssh-credentials, as Flux reads it: the keys it lacks stay empty. For example:
    #   export FLUX_SYSTEM_SSH_CREDENTIALS_IDENTITY="$(kubectl -n flux-system get secret ssh-credentials -o jsonpath='{.data.identity}' | base64 -d)"
    #   export FLUX_SYSTEM_SSH_CREDENTIALS_KNOWN_HOSTS="$(kubectl -n flux-system get secret ssh-credentials -o jsonpath='{.data.known_hosts}' | base64 -d)"
    #   export FLUX_SYSTEM_SSH_CREDENTIALS_PASSWORD="$(kubectl -n flux-system get secret ssh-credentials -o jsonpath='{.data.password}' | base64 -d)"
    private_key = env("FLUX_SYSTEM_SSH_CREDENTIALS_IDENTITY")
    known_hosts = env("FLUX_SYSTEM_SSH_CREDENTIALS_KNOWN_HOSTS")
    passphrase  = env("FLUX_SYSTEM_SSH_CREDENTIALS_PASSWORD", "")
  }
}

# GitRepository flux-system/pinned (testdata/corpus/clean/sources.yaml:44)
source "git" "pinned" {
  url      = "https://git.example.com/org/pinned"
  branch   = "release"
  commit   = "0123456789abcdef0123456789abcdef01234567"
  interval = "1h"
}

# GitRepository flux-system/releases (testdata/corpus/clean/sources.yaml:56)
source "git" "releases" {
  url      = "https://git.example.com/org/releases"
  semver   = ">= 1.0.0, < 2.0.0"
  interval = "30m"
}

# GitRepository flux-system/pull-request (testdata/corpus/clean/sources.yaml:67)
source "git" "pull-request" {
  url      = "https://git.example.com/org/platform"
  ref      = "refs/pull/42/head"
  interval = "1m"
}

# GitRepository flux-system/default-ref (testdata/corpus/clean/sources.yaml:78)
source "git" "default-ref" {
  url      = "https://git.example.com/org/legacy"
  branch   = "master"
  interval = "10m"
}

# HelmRepository flux-system/bitnami (testdata/corpus/clean/sources.yaml:89)
source "helm" "bitnami" {
  url              = "https://charts.example.com/bitnami"
  interval         = "1h"
  timeout          = "3m"
  pass_credentials = true
  # From Secret flux-system/chart-tls, as Flux reads it: the keys it lacks stay empty. For example:
  #   export FLUX_SYSTEM_CHART_TLS_CA_CRT="$(kubectl -n flux-system get secret chart-tls -o jsonpath='{.data.ca\.crt}' | base64 -d)"
  ca = env("FLUX_SYSTEM_CHART_TLS_CA_CRT", "")
  auth {
    # From Secret flux-system/chart-credentials, as Flux reads it: the keys it lacks stay empty. For example:
    #   export FLUX_SYSTEM_CHART_CREDENTIALS_USERNAME="$(kubectl -n flux-system get secret chart-credentials -o jsonpath='{.data.username}' | base64 -d)"
    #   export FLUX_SYSTEM_CHART_CREDENTIALS_PASSWORD="$(kubectl -n flux-system get secret chart-credentials -o jsonpath='{.data.password}' | base64 -d)"
    # A Secret of type kubernetes.io/dockerconfigjson holds them in its auths entry instead.
    username = env("FLUX_SYSTEM_CHART_CREDENTIALS_USERNAME", "")
    password = env("FLUX_SYSTEM_CHART_CREDENTIALS_PASSWORD", "")
    # From Secret flux-system/chart-tls, as Flux reads it: the keys it lacks stay empty. For example:
    #   export FLUX_SYSTEM_CHART_TLS_TLS_CRT="$(kubectl -n flux-system get secret chart-tls -o jsonpath='{.data.tls\.crt}' | base64 -d)"
    #   export FLUX_SYSTEM_CHART_TLS_TLS_KEY="$(kubectl -n flux-system get secret chart-tls -o jsonpath='{.data.tls\.key}' | base64 -d)"
    cert = env("FLUX_SYSTEM_CHART_TLS_TLS_CRT", "")
    key  = env("FLUX_SYSTEM_CHART_TLS_TLS_KEY", "")
  }
}

# HelmRepository flux-system/ghcr (testdata/corpus/clean/sources.yaml:104)
source "helm" "ghcr" {
  url        = "oci://registry.example.com/org/charts"
  interval   = "10m"
  plain_http = true
}

# OCIRepository flux-system/podinfo-chart (testdata/corpus/clean/sources.yaml:115)
source "helm" "podinfo-chart" {
  url      = "oci://ghcr.io/stefanprodan/charts"
  interval = "10m"
}

# GitRepository team-a/apps (testdata/corpus/clean/tenants/team-a.yaml:14)
source "git" "team-a_apps" {
  url      = "https://git.example.com/team-a/apps"
  branch   = "main"
  interval = "1m"
}

# GitRepository team-b/apps (testdata/corpus/clean/tenants/team-b.yaml:1)
source "git" "team-b_apps" {
  url      = "https://git.example.com/team-b/apps"
  branch   = "main"
  interval = "1m"
}

# GitRepository flux-system/flux-system (testdata/corpus/leftovers/flux-system/gotk-sync.yaml:3)
source "git" "flux-system" {
  url      = "ssh://git@github.com/org/fleet"
  branch   = "main"
  interval = "1m"
  auth {
    # From Secret flux-system/flux-system, as Flux reads it: the keys it lacks stay empty. For example:
    #   export FLUX_SYSTEM_FLUX_SYSTEM_IDENTITY="$(kubectl -n flux-system get secret flux-system -o jsonpath='{.data.identity}' | base64 -d)"
    #   export FLUX_SYSTEM_FLUX_SYSTEM_KNOWN_HOSTS="$(kubectl -n flux-system get secret flux-system -o jsonpath='{.data.known_hosts}' | base64 -d)"
    #   export FLUX_SYSTEM_FLUX_SYSTEM_PASSWORD="$(kubectl -n flux-system get secret flux-system -o jsonpath='{.data.password}' | base64 -d)"
    private_key = env("FLUX_SYSTEM_FLUX_SYSTEM_IDENTITY")
    known_hosts = env("FLUX_SYSTEM_FLUX_SYSTEM_KNOWN_HOSTS")
    passphrase  = env("FLUX_SYSTEM_FLUX_SYSTEM_PASSWORD", "")
  }
}

# OCIRepository flux-system/manifests (testdata/corpus/leftovers/leftovers.yaml:21)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:30: spec.ref.tag: tag "latest" is not a chart version; version is left out (the highest version is taken)
source "helm" "manifests" {
  url      = "oci://ghcr.io/org"
  interval = "5m"
}

# OCIRepository flux-system/manifests (testdata/corpus/leftovers/leftovers.yaml:21)
source "oci" "manifests" {
  url      = "oci://ghcr.io/org/manifests"
  tag      = "latest"
  interval = "5m"
}

# GitRepository flux-system/tenant (testdata/corpus/leftovers/leftovers.yaml:32)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:47: spec.ref.semver: ">=1.0.0 || <0.5.0" has alternatives (||), which strata's version constraints cannot express; left out (the remote's default branch is taken): set semver in Terraform's syntax
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:42: spec.suspend: strata has no suspended sources; the blocks using this source fetch it at every plan (suspend those blocks instead)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:40: spec.provider: strata has no azure workload identity; give the source credentials in an auth block
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:41: spec.recurseSubmodules: strata does not fetch Git submodules; vendor them or declare their repositories as sources
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:43: spec.include: strata does not merge other GitRepositories into a tree; declare them as sources of their own
source "git" "tenant" {
  url      = "https://git.example.com/org/tenant"
  interval = "5m"
}

# OCIRepository flux-system/only-manifests (testdata/corpus/leftovers/leftovers.yaml:209)
source "oci" "only-manifests" {
  url      = "oci://ghcr.io/org/only-manifests"
  semver   = ">= 1.0.0"
  interval = "5m"
}

# OCIRepository flux-system/pinned (testdata/corpus/leftovers/leftovers.yaml:234)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:244: spec.provider: strata has no aws workload identity; give the source credentials in an auth block
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:257: spec.verify: strata does not verify artifact signatures (cosign, notation)
# TODO(strata import): testdata/corpus/leftovers/leftovers.yaml:254: spec.layerSelector: strata takes the layer of Flux's content media type (application/vnd.cncf.flux.content.v1.tar+gzip), or the first layer, and extracts it; push the manifests in that layer
source "oci" "pinned" {
  url        = "oci://registry.example.com/org/pinned"
  digest     = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  interval   = "10m"
  timeout    = "2m"
  plain_http = true
  # From Secret flux-system/registry-tls, as Flux reads it: the keys it lacks stay empty. For example:
  #   export FLUX_SYSTEM_REGISTRY_TLS_CA_CRT="$(kubectl -n flux-system get secret registry-tls -o jsonpath='{.data.ca\.crt}' | base64 -d)"
  ca = env("FLUX_SYSTEM_REGISTRY_TLS_CA_CRT", "")
  auth {
    # From Secret flux-system/registry-login, as Flux reads it: the keys it lacks stay empty. For example:
    #   export FLUX_SYSTEM_REGISTRY_LOGIN_USERNAME="$(kubectl -n flux-system get secret registry-login -o jsonpath='{.data.username}' | base64 -d)"
    #   export FLUX_SYSTEM_REGISTRY_LOGIN_PASSWORD="$(kubectl -n flux-system get secret registry-login -o jsonpath='{.data.password}' | base64 -d)"
    # A Secret of type kubernetes.io/dockerconfigjson holds them in its auths entry instead.
    username = env("FLUX_SYSTEM_REGISTRY_LOGIN_USERNAME", "")
    password = env("FLUX_SYSTEM_REGISTRY_LOGIN_PASSWORD", "")
    # From Secret flux-system/registry-tls, as Flux reads it: the keys it lacks stay empty. For example:
    #   export FLUX_SYSTEM_REGISTRY_TLS_TLS_CRT="$(kubectl -n flux-system get secret registry-tls -o jsonpath='{.data.tls\.crt}' | base64 -d)"
    #   export FLUX_SYSTEM_REGISTRY_TLS_TLS_KEY="$(kubectl -n flux-system get secret registry-tls -o jsonpath='{.data.tls\.key}' | base64 -d)"
    cert = env("FLUX_SYSTEM_REGISTRY_TLS_TLS_CRT", "")
    key  = env("FLUX_SYSTEM_REGISTRY_TLS_TLS_KEY", "")
  }
}

# OCIRepository flux-system/unpinned (testdata/corpus/leftovers/leftovers.yaml:260)
source "oci" "unpinned" {
  url      = "oci://registry.example.com/org/unpinned"
  tag      = "latest"
  interval = "5m"
}
