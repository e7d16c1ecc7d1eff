package planner

// This file belongs to strata drift (issue 9): the engine's drift check.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/git"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/helmrepo"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// DriftOptions configure Engine.Drift.
type DriftOptions struct {
	// Sources also checks whether Git sources moved on since the last apply.
	Sources bool
	// Blocks limits the check to these block addresses; empty checks all.
	Blocks []string
	// Concurrency bounds parallel list requests (default 16).
	Concurrency int
	// Baseline remembers strata's field sets between checks. Nil loads
	// BaselineFile of the stack (local backend) and saves it after the check.
	Baseline *Baseline
}

// Drift compares the live cluster with what the state says strata applied,
// block by block, and changes nothing. Suspended blocks are skipped and
// reported as such. An object is drifted when a field strata applied has
// another value in the cluster (or is gone), or when the object is gone.
//
// It is fast on large stacks: the live objects are listed (metadata only)
// with one request per kind and namespace; an object whose resourceVersion
// is the one recorded at apply time is unchanged, and one whose field
// manager "strata" still owns every field of the manifest was not edited
// (server-side apply moves the ownership of a field to whoever changes
// it). Only the remaining suspects get the same server-side dry run as
// plan, which names the changed fields exactly.
//
// A block that cannot be checked carries an Error in the report; Drift
// itself fails only when the state or the cluster cannot be reached.
func (e *Engine) Drift(ctx context.Context, opts DriftOptions) (*drift.Report, error) {
	if e.stack == nil {
		return nil, errors.New("no stack loaded")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	start := e.opts.Now()
	store, err := e.Store()
	if err != nil {
		return nil, err
	}
	snap, err := store.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	mgr, err := e.Kube()
	if err != nil {
		return nil, err
	}
	if opts.Baseline == nil {
		path := filepath.Join(e.dir, BaselineFile)
		opts.Baseline = LoadBaseline(path)
		defer func() { _ = opts.Baseline.Save(path) }() // only a cache
	}
	e.stackID = snap.Lineage
	rep := &drift.Report{FormatVersion: drift.FormatVersion, Stack: e.name, CheckedAt: start.UTC()}
	want := func(addr string) bool { return len(opts.Blocks) == 0 || slices.Contains(opts.Blocks, addr) }
	for _, b := range e.stack.Blocks() {
		addr := b.Address().String()
		if !want(addr) {
			continue
		}
		var blk drift.Block
		switch b := b.(type) {
		case *config.Kustomization:
			blk = e.driftKustomization(ctx, mgr, snap, b, opts)
		case *config.Release:
			blk = e.driftRelease(ctx, snap, b)
			if opts.Sources {
				e.driftChart(ctx, snap, b, &blk)
			}
		case *config.GitSource:
			if !opts.Sources {
				continue
			}
			blk = e.driftGitSource(ctx, snap, b)
		default:
			continue
		}
		rep.Blocks = append(rep.Blocks, blk)
	}
	e.scrubReport(rep)
	rep.Sort()
	rep.Duration = e.opts.Now().Sub(start)
	return rep, nil
}

// Suspended returns the addresses of the stack's blocks with
// suspend = true, which plan, apply and drift skip.
func (e *Engine) Suspended() []string {
	if e.stack == nil {
		return nil
	}
	var out []string
	for _, b := range e.stack.Blocks() {
		switch b := b.(type) {
		case *config.Kustomization:
			if b.Suspend {
				out = append(out, b.Address().String())
			}
		case *config.Release:
			if b.Suspend {
				out = append(out, b.Address().String())
			}
		}
	}
	return out
}

func (e *Engine) driftGitSource(ctx context.Context, snap *state.Snapshot, s *config.GitSource) drift.Block {
	addr := s.Address().String()
	blk := drift.Block{Address: addr, Kind: "source.git"}
	sb, ok := snap.Block(addr)
	if !ok {
		blk.Notes = append(blk.Notes, "not applied yet")
		return blk
	}
	blk.Revision = sb.Revision
	f, err := e.gitFetcher()
	if err != nil {
		blk.Error = err.Error()
		return blk
	}
	rctx, cancel := sourceContext(ctx, s.Timeout)
	defer cancel()
	res, err := f.Resolve(rctx, gitSpec(s))
	if err != nil {
		blk.Error = timedOut(rctx, s.Timeout, err).Error()
		return blk
	}
	blk.Checked = 1
	if res.Revision != sb.Revision {
		blk.Items = append(blk.Items, drift.Item{Address: addr, Kind: drift.SourceMoved,
			Message: fmt.Sprintf("moved on since the last apply: %s -> %s; the cluster is behind Git", sb.Revision, res.Revision),
			Fields:  []drift.Field{{Path: "revision", Live: sb.Revision, Applied: res.Revision}}})
	}
	return blk
}

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

// driftChart adds to blk a SourceMoved item when the release's chart
// repository now serves another chart version for the block's version
// constraint than the one applied (a newer one, or the same version
// republished with another digest): the cluster is behind the repository.
func (e *Engine) driftChart(ctx context.Context, snap *state.Snapshot, r *config.Release, blk *drift.Block) {
	if r.Suspend || r.Source == nil || r.Source.Addr.Type != config.SourceHelm || blk.Error != "" {
		return
	}
	addr := r.Address().String()
	rel, ok := snap.Release(addr)
	if !ok {
		return
	}
	src := e.stack.HelmSources[r.Source.Addr.Name]
	if src == nil {
		return
	}
	cl, err := e.helmRepos()
	if err != nil {
		blk.Error = err.Error()
		return
	}
	rctx, cancel := sourceContext(ctx, src.Timeout)
	defer cancel()
	cv, err := cl.Resolve(rctx, helmSpec(src), helmrepo.ChartRef{Name: r.Chart, Version: r.Version})
	if err != nil {
		blk.Error = fmt.Sprintf("%s: %v", r.Source.Addr, timedOut(rctx, src.Timeout, err))
		return
	}
	blk.Checked++
	applied := blk.Revision // "<version>@<digest>" for charts from a repository
	if !strings.Contains(applied, "@") {
		applied = rel.Version
	}
	if cv.Version == rel.Version && (applied == rel.Version || cv.Revision() == applied) {
		return
	}
	constraint := r.Version
	if constraint == "" {
		constraint = "latest"
	}
	msg := fmt.Sprintf("chart %s %s is available for version %q, %s is applied; the cluster is behind the repository",
		r.Chart, cv.Version, constraint, rel.Version)
	if cv.Version == rel.Version {
		msg = fmt.Sprintf("chart %s %s was republished with another digest (%s, %s applied)", r.Chart, cv.Version, cv.Digest, applied)
	}
	blk.Items = append(blk.Items, drift.Item{Address: addr, Kind: drift.SourceMoved, Message: msg,
		Fields: []drift.Field{{Path: "chart.version", Live: rel.Version, Applied: cv.Version}}})
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

// driftFields turns the field diff of a dry run (live before, applied
// after) into drift fields, Secret values masked.
func driftFields(fs []kube.FieldDiff) []drift.Field {
	var out []drift.Field
	for _, f := range fs {
		df := drift.Field{Path: f.Path, Live: f.Before, Applied: f.After}
		if plan.HoldsMasked(f.Before) || plan.HoldsMasked(f.After) {
			df.Live, df.Applied, df.Sensitive = nil, nil, true
		}
		out = append(out, df)
	}
	return out
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

// driftTarget is one object of a kustomization, as recorded, as listed
// and as rendered.
type driftTarget struct {
	rec     state.Object
	desired *unstructured.Unstructured // nil until rendered, or when it no longer renders as applied
	// What the scan found.
	status    scanStatus
	owned     string           // hash of the field sets of manager strata
	ownedSets []map[string]any // the field sets of manager strata
	liveUID   string
}

type scanStatus int

const (
	scanClean    scanStatus = iota // unchanged since the apply, or cleared
	scanDeleted                    // gone
	scanCheck                      // changed since the apply: fields must be checked
	scanSuspect                    // needs a dry run
	scanDisowned                   // lost fields it applied; not renderable as applied
)

func (e *Engine) driftKustomization(ctx context.Context, mgr *kube.Manager, snap *state.Snapshot, k *config.Kustomization, opts DriftOptions) drift.Block {
	addr := k.Address().String()
	blk := drift.Block{Address: addr, Kind: string(config.KindKustomization)}
	if k.Suspend {
		blk.Suspended = true
		return blk
	}
	sb, ok := snap.Block(addr)
	recs := snap.BlockObjects(addr)
	if !ok && len(recs) == 0 {
		blk.Notes = append(blk.Notes, "not applied yet")
		return blk
	}
	blk.Revision = sb.Revision
	if sb.Status == state.StatusFailed {
		blk.Notes = append(blk.Notes, "the last apply failed; objects are compared with what was applied")
	}
	if n := len(sb.Intents); n > 0 {
		blk.Notes = append(blk.Notes, fmt.Sprintf("an apply was interrupted while writing %d objects it did not record: "+
			"run strata plan, which prunes or records those it created", n))
	}
	m, err := mgr.Impersonate(k.ServiceAccount)
	if err != nil {
		blk.Error = err.Error()
		return blk
	}
	targets := make([]driftTarget, len(recs))
	index := make(map[string]int, len(recs))
	for i, r := range recs {
		targets[i].rec = r
		index[r.Address] = i
	}
	if len(targets) == 0 {
		return blk
	}
	if err := e.driftScan(ctx, m, targets, opts); err != nil {
		blk.Error = err.Error()
		return blk
	}
	blk.Checked = len(targets)

	// Objects changed since the apply whose field ownership matches the
	// baseline (strata's field set when it owned every field it applied)
	// are clear; the others need the block rendered as it was applied.
	var pending []int
	why := "the configuration changed since the last apply"
	for i := range targets {
		t := &targets[i]
		if t.status != scanCheck {
			continue
		}
		if h, ok := opts.Baseline.get(t.rec); ok && h == t.owned && !isSecretObject(t.rec) {
			t.status = scanClean
			continue
		}
		pending = append(pending, i)
	}
	if len(pending) > 0 {
		// Render the block as it was applied: the current configuration at
		// the recorded source revision. Objects whose digest still matches
		// the state are compared field by field; the others only for
		// existence.
		desired, rerr := e.renderApplied(ctx, m, k, sb.Revision)
		if rerr != nil {
			why = "the block cannot be rendered as applied"
			blk.Notes = append(blk.Notes, "objects checked for deletion only: "+rerr.Error())
		}
		for _, o := range desired {
			i, ok := index[kube.RefOf(o).Address(addr)]
			if !ok {
				continue
			}
			if o = asApplied(o, targets[i].rec.Digest); o != nil {
				targets[i].desired = o
			}
		}
		unverified := 0
		for _, i := range pending {
			t := &targets[i]
			switch {
			case t.desired == nil && t.rec.FieldsHash != "" && t.owned != t.rec.FieldsHash &&
				t.liveUID == t.rec.UID && !isSecretObject(t.rec):
				// The fields cannot be named without the configuration as
				// applied, but strata no longer owns what it applied.
				t.status = scanDisowned
			case t.desired == nil:
				unverified++
				t.status = scanClean
			case t.liveUID != t.rec.UID && t.rec.UID != "":
				t.status = scanSuspect
			case t.owned == "": // not listed: its labels changed
				t.status = scanSuspect
			case writeOnly(t.desired) || !kube.OwnsAll(t.ownedSets, t.desired.Object):
				t.status = scanSuspect
			default:
				t.status = scanClean
				opts.Baseline.put(t.rec, t.owned)
			}
		}
		if unverified > 0 && rerr == nil {
			blk.Notes = append(blk.Notes, fmt.Sprintf("%d objects checked for deletion only: the configuration changed since the last apply (run strata plan)", unverified))
		}
	}

	var objs []*unstructured.Unstructured
	for i := range targets {
		t := &targets[i]
		switch t.status {
		case scanDeleted:
			blk.Items = append(blk.Items, drift.Item{Address: t.rec.Address, Kind: drift.Deleted,
				Message: "deleted in the cluster outside strata"})
		case scanDisowned:
			blk.Items = append(blk.Items, drift.Item{Address: t.rec.Address, Kind: drift.Modified,
				Message: "fields strata applied were written by someone else since the apply (" + why + ", so they cannot be named or compared here: run strata plan)"})
		case scanSuspect:
			objs = append(objs, t.desired)
		}
	}
	if len(objs) == 0 {
		return blk
	}
	blk.DryRuns = len(objs)
	// No stack id: the objects keep the labels they were applied with
	// (objects applied before stack ids have none).
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: e.name, Block: addr})
	if err != nil {
		blk.Error = err.Error()
		return blk
	}
	for _, c := range cs.Changes {
		it := drift.Item{Address: c.Ref.Address(addr)}
		switch c.Action {
		case kube.ActionNoop:
			continue
		case kube.ActionCreate:
			it.Kind, it.Message = drift.Deleted, "deleted in the cluster outside strata"
		default:
			it.Kind, it.Message = drift.Modified, "changed in the cluster outside strata"
			if c.Unowned {
				it.Message += "; its ownership labels were changed"
			}
			if i, ok := index[it.Address]; ok && c.LiveUID != "" && targets[i].rec.UID != "" && c.LiveUID != targets[i].rec.UID {
				it.Message = "deleted and re-created outside strata"
			}
			it.Fields = driftFields(c.Fields)
		}
		blk.Items = append(blk.Items, it)
	}
	return blk
}

func isSecretObject(r state.Object) bool { return r.Group == "" && r.Kind == "Secret" }

// asApplied returns o, prepared with the stack id, when its digest is the
// recorded one, or o without the stack id when that matches (an object
// applied before stack ids), or nil.
func asApplied(o *unstructured.Unstructured, digest string) *unstructured.Unstructured {
	if kube.Digest(o) == digest {
		return o
	}
	l := o.GetLabels()
	if _, ok := l[kube.LabelStackID]; !ok {
		return nil
	}
	legacy := o.DeepCopy()
	l = legacy.GetLabels()
	delete(l, kube.LabelStackID)
	legacy.SetLabels(l)
	kube.SetDigest(legacy)
	if kube.Digest(legacy) == digest {
		return legacy
	}
	return nil
}

// renderApplied renders the kustomization at the recorded revision of its
// source and prepares the objects as apply does (ownership labels,
// namespaces), so that their digests compare with the state's.
func (e *Engine) renderApplied(ctx context.Context, m *kube.Manager, k *config.Kustomization, revision string) ([]*unstructured.Unstructured, error) {
	root := e.dir
	if k.Source != nil {
		src, ok := e.stack.Block(k.Source.Addr).(*config.GitSource)
		if !ok {
			return nil, fmt.Errorf("source %s is not a Git source", k.Source.Addr)
		}
		spec := gitSpec(src)
		if revision != "" {
			pinned, err := git.Pin(spec, revision)
			if err != nil {
				return nil, fmt.Errorf("source %s: %w", k.Source.Addr, err)
			}
			spec = pinned
		}
		f, err := e.gitFetcher()
		if err != nil {
			return nil, err
		}
		fctx, cancel := sourceContext(ctx, src.Timeout)
		defer cancel()
		art, err := f.Fetch(fctx, spec)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", k.Source.Addr, timedOut(fctx, src.Timeout, err))
		}
		root = art.Dir
	}
	objs, err := e.render(ctx, k, root)
	if err != nil {
		return nil, err
	}
	addr := k.Address().String()
	for _, o := range objs {
		// A kind not served cannot exist either: its error is irrelevant.
		_, _ = m.Prepare(ctx, o, e.owner(addr))
	}
	return objs, nil
}

// driftScan reads the live metadata of the targets (kube.Manager
// ScanMetadata: one list request per resource and namespace) and sets each
// target's status: deleted, clean (the resourceVersion recorded at apply
// time: untouched), or to be checked, with the hash of strata's field set.
func (e *Engine) driftScan(ctx context.Context, m *kube.Manager, targets []driftTarget, opts DriftOptions) error {
	refs := make([]kube.ObjectRef, len(targets))
	for i, t := range targets {
		r := t.rec
		refs[i] = kube.ObjectRef{Group: r.Group, Version: r.Version, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	}
	selector := kube.LabelStack + "=" + e.name + "," + kube.LabelBlock + "=" + targets[0].rec.Block
	live, err := m.ScanMetadata(ctx, refs, kube.ScanOptions{Selector: selector, Concurrency: opts.Concurrency})
	if err != nil {
		return err
	}
	for i := range targets {
		classify(&targets[i], live[i], opts.Baseline)
	}
	return nil
}

// classify sets the scan status of t from its live metadata.
func classify(t *driftTarget, o kube.LiveMetadata, baseline *Baseline) {
	switch {
	case !o.Exists:
		t.status = scanDeleted
		return
	case !o.Listed:
		// Not listed, but there: its labels were changed.
		t.status, t.liveUID = scanCheck, o.UID
		return
	}
	t.liveUID = o.UID
	t.owned, t.ownedSets = o.FieldsHash, o.FieldSets
	if t.rec.ResourceVersion != "" && o.ResourceVersion == t.rec.ResourceVersion {
		// Untouched since the apply: strata's field set is exactly what it
		// applied.
		t.status = scanClean
		baseline.put(t.rec, o.FieldsHash)
		return
	}
	if t.rec.FieldsHash != "" && o.FieldsHash == t.rec.FieldsHash && t.liveUID == t.rec.UID && !isSecretObject(t.rec) {
		// Changed since the apply, but strata still owns exactly the fields
		// it owned right after it: only fields strata does not apply
		// (status, fields of other managers) changed.
		t.status = scanClean
		return
	}
	t.status = scanCheck
}

// writeOnly reports whether the object sets fields the server does not
// store as given (a Secret's stringData becomes data), so that field
// ownership says nothing about their values and a dry run must decide.
func writeOnly(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	_, ok := u.Object["stringData"]
	return ok && gvk.Group == "" && gvk.Kind == "Secret"
}
