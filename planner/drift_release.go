package planner

// This file belongs to strata drift: the drift of a Helm release (its
// revision in Helm's storage, and the objects of its deployed revision).

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// driftRelease compares the Helm release in the cluster (Helm's own
// storage: helm.Manager History) with the revision strata recorded.
func (e *Engine) driftRelease(ctx context.Context, snap *state.Snapshot, r *config.Release) drift.Block {
	addr := r.Address().String()
	blk := drift.Block{Address: addr, Kind: string(config.KindRelease)}
	if r.Suspend {
		blk.Suspended = true
		return blk
	}
	rel, ok := snap.Release(addr)
	if !ok {
		blk.Notes = append(blk.Notes, "not applied yet")
		return blk
	}
	if sb, ok := snap.Block(addr); ok {
		blk.Revision = sb.Revision
	}
	if err := e.releaseSecrets(r); err != nil {
		blk.Error = err.Error()
		return blk
	}
	hm, err := e.helmAs(r.ServiceAccount)
	if err != nil {
		blk.Error = err.Error()
		return blk
	}
	hist, err := hm.History(ctx, rel.Name, rel.Namespace)
	if err != nil {
		blk.Error = fmt.Sprintf("read Helm release %s/%s: %v", rel.Namespace, rel.Name, err)
		return blk
	}
	blk.Checked = 1
	if rel.Revision == 0 && rel.Status == releasePendingInstall {
		// An apply was killed while installing it (recordInstall).
		if len(hist) > 0 {
			blk.Items = append(blk.Items, drift.Item{Address: addr, Kind: drift.Unrecorded,
				Message: fmt.Sprintf("Helm release %s/%s was installed by an interrupted apply and is not recorded in the state (strata apply records it; removing the block uninstalls it)", rel.Namespace, rel.Name)})
		}
		return blk
	}
	if len(hist) == 0 {
		blk.Items = append(blk.Items, drift.Item{Address: addr, Kind: drift.Deleted,
			Message: fmt.Sprintf("Helm release %s/%s was uninstalled outside strata", rel.Namespace, rel.Name)})
		return blk
	}
	latest := hist[len(hist)-1]
	if latest.Version == rel.Revision {
		if st := latest.Info.Status.String(); rel.Status != "" && st != rel.Status {
			blk.Items = append(blk.Items, drift.Item{Address: addr, Kind: drift.Release,
				Message: fmt.Sprintf("Helm release status is %s, strata left it %s", st, rel.Status),
				Fields:  []drift.Field{{Path: "status", Live: st, Applied: rel.Status}}})
			return blk
		}
		if r.DriftDetection.Mode != string(helm.DriftDisabled) {
			e.driftReleaseObjects(ctx, addr, r.ServiceAccount, rel, &blk)
		}
		return blk
	}
	it := drift.Item{Address: addr, Kind: drift.Release,
		Message: fmt.Sprintf("Helm release %s/%s changed outside strata: revision %d -> %d (%s)",
			rel.Namespace, rel.Name, rel.Revision, latest.Version, latest.Info.Status)}
	if d := latest.Info.Description; d != "" {
		it.Message += ": " + d
	}
	it.Fields = append(it.Fields, drift.Field{Path: "revision", Live: latest.Version, Applied: rel.Revision})
	if latest.Chart != nil && latest.Chart.Metadata != nil {
		if v := latest.Chart.Metadata.Version; v != rel.Version {
			it.Fields = append(it.Fields, drift.Field{Path: "chart.version", Live: v, Applied: rel.Version})
		}
	}
	// Name the values that changed, never their content: values often
	// hold credentials.
	var applied map[string]any
	for _, h := range hist {
		if h.Version == rel.Revision {
			applied = h.Config
		}
	}
	if applied != nil || rel.Revision == 0 {
		for _, p := range changedPaths("values", applied, latest.Config) {
			it.Fields = append(it.Fields, drift.Field{Path: p, Sensitive: true})
		}
	}
	blk.Items = append(blk.Items, it)
	return blk
}

// driftReleaseObjects adds the objects of the release's deployed revision
// that were edited or deleted in the cluster (what a plan would correct).
func (e *Engine) driftReleaseObjects(ctx context.Context, addr, serviceAccount string, rel state.Release, blk *drift.Block) {
	hm, err := e.helmAs(serviceAccount)
	if err != nil {
		blk.Error = err.Error()
		return
	}
	changes, err := hm.Drift(ctx, rel.Name, rel.Namespace)
	if err != nil {
		blk.Error = err.Error()
		return
	}
	for _, c := range changes {
		it := drift.Item{Address: c.Ref.Address(addr), Kind: drift.Modified,
			Message: "object of the Helm release changed in the cluster outside strata"}
		if c.Action == kube.ActionCreate {
			it.Kind, it.Message = drift.Deleted, "object of the Helm release deleted in the cluster outside strata"
		}
		it.Fields = driftFields(c.Fields)
		blk.Items = append(blk.Items, it)
	}
}

// changedPaths lists the dotted paths where two values differ.
func changedPaths(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if a == nil && bok {
		am, aok = map[string]any{}, true
	}
	if b == nil && aok {
		bm, bok = map[string]any{}, true
	}
	if !aok || !bok {
		if jsonEqual(a, b) {
			return nil
		}
		return []string{path}
	}
	keys := make([]string, 0, len(am)+len(bm))
	for k := range am {
		keys = append(keys, k)
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		av, aok := am[k]
		bv, bok := bm[k]
		if !aok || !bok {
			out = append(out, path+"."+k)
			continue
		}
		out = append(out, changedPaths(path+"."+k, av, bv)...)
	}
	return out
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
