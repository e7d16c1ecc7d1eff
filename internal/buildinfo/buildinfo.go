// Package buildinfo reports the version of strata and of the libraries it is
// built with, read from the binary's embedded module information.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version is strata's version. Release builds set it with
// -ldflags "-X github.com/strata-gitops/strata/internal/buildinfo.Version=v1.2.3".
var Version = "v0.1.0-dev"

// Library names a dependency whose version users care about.
type Library struct {
	Name    string // display name, e.g. "helm"
	Module  string // module path, e.g. "helm.sh/helm/v3"
	Version string // resolved version, or "unknown"
}

// Info is the version report printed by `strata version`.
type Info struct {
	Version   string    `json:"version"`
	GoVersion string    `json:"go_version"`
	Platform  string    `json:"platform"`
	Libraries []Library `json:"libraries"`
}

// watched lists the libraries shown in the version report, in display order.
var watched = []Library{
	{Name: "helm", Module: "helm.sh/helm/v3"},
	{Name: "kustomize", Module: "sigs.k8s.io/kustomize/api"},
	{Name: "client-go", Module: "k8s.io/client-go"},
	{Name: "hcl", Module: "github.com/hashicorp/hcl/v2"},
	{Name: "go-git", Module: "github.com/go-git/go-git/v5"},
	{Name: "bbolt", Module: "go.etcd.io/bbolt"},
}

// Read returns the version report of the running binary.
func Read() Info {
	info := Info{
		Version:   Version,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	deps := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
			deps[d.Path] = v
		}
	}
	for _, l := range watched {
		l.Version = deps[l.Module]
		if l.Version == "" {
			l.Version = "unknown"
		}
		info.Libraries = append(info.Libraries, l)
	}
	return info
}
