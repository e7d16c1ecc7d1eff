// Package addrs is the one home of strata's addresses: how a block and an
// object are named in plans, state, labels, drift reports and on the command
// line, and how those names are parsed back.
//
// A block address names a graph block of a stack:
//
//	source.git.NAME  source.helm.NAME  source.oci.NAME  kustomization.NAME  release.NAME
//
// An object address names one Kubernetes object inside a block: the block
// address, then the object part Kind[.group][/namespace]/name, the group
// left out for the core group and the namespace for cluster-scoped objects:
//
//	kustomization.app/Deployment.apps/web/api
//	kustomization.app/Namespace/web
//
// The object's version is not part of its address: an object keeps its
// address when its API version changes.
//
// The package depends on nothing else of strata, so that the language
// (planner/config), the plan model, the state and the providers all use it
// without depending on one another. planner/config re-exports [Block] as
// config.Address.
package addrs
