// Package helm provides the real Helm CLI to tests: the command
// helm.sh/helm/v3/cmd/helm, declared as a tool of this module (go.mod's
// `tool` directive, so `go tool helm ...` also runs it), built once per
// machine and Helm version next to the test cluster's binaries.
//
// helm.sh/helm/v3/cmd/helm is a main package and cannot be imported, so
// the CLI is built with `go build` from the module cache; the version is the
// one go.mod requires, the same SDK strata uses. Tests use it to check that
// `helm list`, `helm history` and `helm get values` show strata's releases,
// and to install releases strata then adopts.
package helm
