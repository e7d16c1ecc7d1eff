source "oci" "manifests" {
  url    = "oci://ghcr.io/example/manifests"
  digest = "sha256:1234"
}
