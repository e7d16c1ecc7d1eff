// Package source holds the types shared by the source providers
// (providers/git, providers/helmrepo): the Artifact a source resolves to
// and the content digest that identifies it.
//
// An Artifact is immutable once returned: its Dir lives in the artifact
// cache (providers/cache) and must be treated as read-only by consumers
// such as kustomize builds and Helm chart loading.
package source
