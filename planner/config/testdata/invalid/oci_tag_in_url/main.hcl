source "oci" "manifests" {
  url = "oci://ghcr.io/example/manifests:v1.0.0"
  tag = "v1.0.0"
}
