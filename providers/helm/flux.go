package helm

import (
	"bufio"
	"errors"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

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

// OwnerOfHistory returns the owner that strata's labels name on the latest
// record of hist (oldest first) that carries them, nil when none does. A
// record without them after one with them (a rollback to a revision that
// an older strata or the Helm CLI wrote: Helm's rollback copies that
// revision's labels) does not make the release nobody's.
func OwnerOfHistory(hist []*release.Release) *strkube.Owner {
	for i := len(hist) - 1; i >= 0; i-- {
		if o := OwnerOf(hist[i]); o != nil {
			return o
		}
	}
	return nil
}

// ownerOfRelease returns the owner of the release whose latest record is
// last (see OwnerOfHistory), reading the history only when last carries no
// labels.
func ownerOfRelease(cfg *action.Configuration, last *release.Release) (*strkube.Owner, error) {
	if o := OwnerOf(last); o != nil {
		return o, nil
	}
	hist, err := cfg.Releases.History(last.Name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("read release %s: %w", last.Name, err)
	}
	sort.Slice(hist, func(i, j int) bool { return hist[i].Version < hist[j].Version })
	return OwnerOfHistory(hist), nil
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
