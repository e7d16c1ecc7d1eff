package helm

import (
	"bufio"
	"strings"

	"helm.sh/helm/v3/pkg/release"

	strkube "github.com/strata-gitops/strata/providers/kube"
)

// fluxOwnerOf returns the Flux HelmRelease that installed rel, or nil:
// helm-controller's labels (helm.toolkit.fluxcd.io/name and namespace) on
// the release's storage, or, as its post-renderer puts them on every
// object of the release, in the release's manifest.
func fluxOwnerOf(rel *release.Release) *strkube.FluxOwner {
	if rel == nil {
		return nil
	}
	name, ns := rel.Labels[strkube.FluxHelmName], rel.Labels[strkube.FluxHelmNamespace]
	if name == "" || ns == "" {
		name, ns = manifestLabel(rel.Manifest, strkube.FluxHelmName), manifestLabel(rel.Manifest, strkube.FluxHelmNamespace)
	}
	if name == "" || ns == "" {
		return nil
	}
	return &strkube.FluxOwner{Kind: "HelmRelease", Namespace: ns, Name: name, Managers: []string{strkube.FluxHelmManager}}
}

// OwnerOf returns the owner that strata's labels on the record of rel name
// (see ReleaseSpec.Labels), or nil when it carries none.
func OwnerOf(rel *release.Release) *strkube.Owner {
	l := rel.Labels
	o := strkube.Owner{Stack: l[strkube.LabelStack], StackID: l[strkube.LabelStackID], Block: l[strkube.LabelBlock]}
	if o == (strkube.Owner{}) {
		return nil
	}
	return &o
}

// manifestLabel returns the first value of the label key in a rendered
// manifest ("    key: value" lines), "" when there is none.
func manifestLabel(manifest, key string) string {
	sc := bufio.NewScanner(strings.NewReader(manifest))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if ok && strings.Trim(k, `"'`) == key {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}
