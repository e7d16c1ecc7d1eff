source "oci" "manifests" {
  url = "oci://ghcr.io/example/manifests"
}
