// Package helmrepo resolves and downloads Helm charts from HTTP(S) chart
// repositories (index.yaml) and OCI registries (oci://).
//
// Client.Resolve picks a chart version: an exact version or a
// hashicorp/go-version constraint ("~> 1.2" means >= 1.2, < 2.0, which is
// not Helm's ~1.2), the highest match winning. Pre-releases are considered
// only when ChartRef.Prerelease is set; then a pre-release matches when its
// release version does (so ">= 1.0" admits 2.0.0-rc.1).
//
// Client.Fetch downloads the chosen version into the artifact cache
// (providers/cache) keyed by digest and checks it: for HTTP repositories
// against the digest recorded in index.yaml, for OCI against the manifest
// digest (the registry client also checks every blob's digest). A chart
// already in the cache is not downloaded again.
//
// HTTP indexes are cached too, with their ETag and Last-Modified, and
// re-validated with If-None-Match / If-Modified-Since, so an unchanged
// index costs one 304 response. With Options.Offline the cached index is
// used as is and no request is made; an exact version or a pinned digest
// that is cached then resolves and fetches without network.
//
// OCI registries are reached through Helm's registry client
// (helm.sh/helm/v3/pkg/registry): tags are listed and filtered by the
// constraint, and ChartRef.Digest pins a manifest digest.
//
// Credentials go only to the repository's host (chart URLs on other hosts
// get them only with Spec.PassCredentials) and never appear in errors.
package helmrepo
