// Package oci fetches OCI artifacts in Flux's format (`flux push
// artifact`) from container registries: a manifest whose config has the
// media type ConfigMediaType and whose content layer, a gzipped tarball of
// Kubernetes manifests, has the media type ContentMediaType.
//
// Client.Resolve picks the manifest a Ref names: a tag, the highest tag
// matching a hashicorp/go-version constraint, or a pinned digest. The
// revision is Flux's: "<tag>@sha256:<hex>", or the bare digest when the
// manifest was pinned by digest.
//
// Client.Fetch downloads the manifest and its content layer (the registry
// client checks every blob against its digest) and unpacks the layer into
// the artifact cache (providers/cache), keyed by manifest digest, so an
// artifact already cached is not downloaded again. Unpacking refuses
// entries that are absolute or climb out with "..", hard links and
// special files, and symbolic links that, resolved, lead outside the tree
// (internal/confine): the same confinement as Git trees.
//
// Registries are reached with oras-go (oras.land/oras-go/v2), with basic
// or token auth, extra CAs, client certificates and, for local
// registries, plain HTTP. Credentials go only to the artifact's registry
// and never appear in errors.
package oci
