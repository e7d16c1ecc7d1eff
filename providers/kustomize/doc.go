// Package kustomize renders a kustomization of a source tree into Kubernetes
// objects the way Flux's kustomize-controller does.
//
// Build runs kustomize (sigs.k8s.io/kustomize/api, krusty) on a directory
// inside a source tree (a fetched source or the stack's own checkout):
//
//   - every file kustomize reads must be inside the tree: a "../" or a
//     symbolic link that leaves it is an error (ErrOutsideRoot);
//   - a directory without a kustomization.yaml is built from all the YAML
//     files below it (sub-directories with their own kustomization.yaml are
//     included as bases), as Flux does;
//   - the block's target namespace, name prefix and suffix, patches
//     (strategic merge or JSON 6902, with target selectors), images and
//     components are added to the directory's kustomization, as Flux does;
//   - after the build, variables are substituted (Flux's postBuild
//     semantics: ${var}, ${var:=default}, ${var:-default}, …; nothing is
//     substituted when Substitute is empty; objects labelled or annotated
//     kustomize.toolkit.fluxcd.io/substitute: disabled are left alone);
//   - common labels and annotations are set on every object.
//
// A plain tree (kustomization files with only resources: local files and
// directories; no block setting that Flux writes into the kustomization) is
// read without kustomize's pipeline, whose resource map costs time in the
// square of the objects: the same resource factory reads the files, a map
// checks that IDs are unique, and the objects stay in the order read, as
// in Flux's build (which does not sort). Anything else, and any tree
// kustomize would refuse, goes to kustomize. TestPlainMatchesKustomize
// checks both paths give the same objects byte for byte. A directory
// without a kustomization file is read the same way: strata scans it as
// Flux's generator does and keeps each manifest's objects, so that every
// manifest is read and parsed once (TestGeneratedKustomizationMatchesKustomize).
//
// The Flux-compatible parts come from github.com/fluxcd/pkg/kustomize, which
// the kustomize-controller itself uses. Build only reads the tree: the
// generated kustomization lives in memory.
package kustomize
