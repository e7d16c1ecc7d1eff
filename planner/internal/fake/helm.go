package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"

	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
)

// Helm is an in-memory Helm: releases with a revision, a chart version
// and the digest of their values. Charts are loaded from
// ReleaseSpec.ChartPath with Helm's loader. It is safe for concurrent use.
type Helm struct {
	// FailApply makes the install or upgrade of the release with this
	// name fail.
	FailApply map[string]error
	// Journal, when set, is told every operation too (e.g. Cluster.Note).
	Journal func(string)

	mu       sync.Mutex
	releases map[string]*fakeRelease // by namespace/name
	log      []string
}

type fakeRelease struct {
	name, namespace, chart, version, values string
	revision                                int
	status                                  string
}

// NewHelm returns a Helm without releases.
func NewHelm() *Helm {
	return &Helm{FailApply: map[string]error{}, releases: map[string]*fakeRelease{}}
}

// As returns Helm acting as serviceAccount; the fake makes no difference.
func (h *Helm) As(string) *Helm { return h }

// Log returns the operations done, in order: "install ns/name",
// "upgrade ns/name", "uninstall ns/name".
func (h *Helm) Log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

// note logs an operation. The caller holds mu.
func (h *Helm) note(entry string) {
	h.log = append(h.log, entry)
	if h.Journal != nil {
		h.Journal(entry)
	}
}

// Revision returns the revision and status of a release (0, "" when
// there is none).
func (h *Helm) Revision(namespace, name string) (int, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.releases[namespace+"/"+name]; r != nil {
		return r.revision, r.status
	}
	return 0, ""
}

// Upgrade moves a release on by one revision, as the Helm CLI would.
func (h *Helm) Upgrade(namespace, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.releases[namespace+"/"+name]; r != nil {
		r.revision++
	}
}

func valuesDigest(v map[string]any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Plan plans an install, an upgrade (chart version or values changed) or
// nothing.
func (h *Helm) Plan(_ context.Context, spec helm.ReleaseSpec) (*helm.ReleasePlan, error) {
	ch := spec.Chart
	if ch == nil {
		c, err := loader.Load(spec.ChartPath)
		if err != nil {
			return nil, err
		}
		ch = c
	}
	spec.Chart = ch
	h.mu.Lock()
	defer h.mu.Unlock()
	rp := &helm.ReleasePlan{Name: spec.Name, Namespace: spec.Namespace, Spec: spec, Action: helm.ActionNoop,
		Chart: helm.Change{New: ch.Metadata.Name}, ChartVersion: helm.Change{New: ch.Metadata.Version},
		ValuesDigest: helm.Change{New: valuesDigest(spec.Values)}}
	r := h.releases[spec.Namespace+"/"+spec.Name]
	switch {
	case r == nil:
		rp.Action, rp.Reason = helm.ActionInstall, "not installed"
	default:
		rp.Revision, rp.Status = r.revision, r.status
		rp.Chart.Old, rp.ChartVersion.Old, rp.ValuesDigest.Old = r.chart, r.version, r.values
		if r.version != ch.Metadata.Version || r.values != rp.ValuesDigest.New {
			rp.Action, rp.Reason = helm.ActionUpgrade, "chart or values changed"
		}
	}
	return rp, nil
}

// Check refuses a plan whose release moved since it was planned.
func (h *Helm) Check(_ context.Context, p *helm.ReleasePlan) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rev := 0
	if r := h.releases[p.Namespace+"/"+p.Name]; r != nil {
		rev = r.revision
	}
	if rev != p.Revision {
		return fmt.Errorf("%w: revision %d, now %d", helm.ErrStalePlan, p.Revision, rev)
	}
	return nil
}

// Apply installs or upgrades the release.
func (h *Helm) Apply(_ context.Context, p *helm.ReleasePlan, _ chan<- helm.Event) (*helm.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := p.Namespace + "/" + p.Name
	h.note(string(p.Action) + " " + id)
	if err := h.FailApply[p.Name]; err != nil {
		return nil, err
	}
	r := h.releases[id]
	if r == nil {
		r = &fakeRelease{name: p.Name, namespace: p.Namespace}
		h.releases[id] = r
	}
	r.revision++
	r.chart, r.version, r.values, r.status = p.Chart.New, p.ChartVersion.New, p.ValuesDigest.New, "deployed"
	return &helm.Result{Name: r.name, Namespace: r.namespace, Chart: r.chart, ChartVersion: r.version, ValuesDigest: r.values,
		Revision: r.revision, Status: r.status, Action: p.Action}, nil
}

// UninstallHooks returns no hooks.
func (h *Helm) UninstallHooks(context.Context, string, string, bool) ([]helm.Hook, error) {
	return nil, nil
}

// Uninstall removes the release.
func (h *Helm) Uninstall(_ context.Context, name, namespace string, _ helm.UninstallOptions, _ chan<- helm.Event) (*helm.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := namespace + "/" + name
	h.note("uninstall " + id)
	delete(h.releases, id)
	return &helm.Result{Name: name, Namespace: namespace, Action: helm.ActionUninstall}, nil
}

// History returns the release's latest revision only.
func (h *Helm) History(_ context.Context, name, namespace string) ([]*release.Release, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.releases[namespace+"/"+name]
	if r == nil {
		return nil, nil
	}
	return []*release.Release{{Name: name, Namespace: namespace, Version: r.revision,
		Info: &release.Info{Status: release.Status(r.status)}}}, nil
}

// Drift reports no drift.
func (h *Helm) Drift(context.Context, string, string) ([]kube.Change, error) { return nil, nil }
