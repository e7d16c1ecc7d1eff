source "oci" "manifests" {
  url = "oci://ghcr.io/example/manifests"
  tag = "v1.0.0"
}
release "app" {
  source = source.oci.manifests
  chart  = "app"
}
