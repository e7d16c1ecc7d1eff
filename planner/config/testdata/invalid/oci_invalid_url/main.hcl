source "oci" "manifests" {
  url = "https://ghcr.io/example/manifests"
  tag = "v1.0.0"
}
