// Package ociregistry runs an in-process OCI registry for tests: the
// reference implementation, github.com/distribution/distribution/v3, with
// filesystem storage, behind optional basic auth and TLS, with a request
// log. PushChart uploads Helm charts the way `helm push` does; PushArtifact
// uploads manifests the way `flux push artifact` does.
package ociregistry
