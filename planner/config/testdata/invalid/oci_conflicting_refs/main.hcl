source "oci" "manifests" {
  url    = "oci://ghcr.io/example/manifests"
  tag    = "v1.0.0"
  semver = "~> 1.0"
}
