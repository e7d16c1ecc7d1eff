package planner

// This file belongs to strata drift: the drift of a kustomization's objects.
// A metadata scan (kube.Manager ScanMetadata) clears the untouched ones,
// field ownership (kube.OwnsAll) the ones nobody edited, and a server-side
// dry run names the changed fields of the rest.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

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

// driftKustomization checks the objects strata recorded for a
// kustomization: a metadata scan clears the untouched ones, field
// ownership the ones nobody edited, and a dry run names the changes of
// the rest.
func (e *Engine) driftKustomization(ctx context.Context, snap *state.Snapshot, k *config.Kustomization, opts DriftOptions) drift.Block {
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
	m, err := e.kubeAs(k.ServiceAccount)
	if err != nil {
		blk.Error = err.Error()
		return blk
	}
	if err := e.driftIntents(ctx, m, addr, sb.Intents, &blk); err != nil {
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
	blk.Checked += len(targets)
	why := e.resolvePending(ctx, m, k, sb.Revision, targets, index, opts.Baseline, &blk)
	e.reportTargets(ctx, m, addr, targets, index, why, &blk)
	return blk
}

// resolvePending decides the targets the scan left to be checked. Objects
// changed since the apply whose field ownership matches the baseline
// (strata's field set when it owned every field it applied) are clear; the
// others need the block rendered as it was applied. It returns why objects
// that lost fields strata applied cannot be named.
func (e *Engine) resolvePending(ctx context.Context, m Kube, k *config.Kustomization, revision string,
	targets []driftTarget, index map[string]int, baseline *Baseline, blk *drift.Block) string {
	var pending []int
	why := "the configuration changed since the last apply"
	for i := range targets {
		t := &targets[i]
		if t.status != scanCheck {
			continue
		}
		if h, ok := baseline.get(t.rec); ok && h == t.owned && !isSecretObject(t.rec) {
			t.status = scanClean
			continue
		}
		pending = append(pending, i)
	}
	if len(pending) == 0 {
		return why
	}
	// Render the block as it was applied: the current configuration at the
	// recorded source revision. Objects whose digest still matches the
	// state are compared field by field; the others only for existence.
	wanted := make(map[objectName]bool, len(pending))
	for _, i := range pending {
		r := targets[i].rec
		wanted[objectName{r.Group, r.Kind, r.Name}] = true
	}
	desired, rerr := e.renderApplied(ctx, m, k, revision, wanted)
	if rerr != nil {
		why = "the block cannot be rendered as applied"
		blk.Notes = append(blk.Notes, "objects checked for deletion only: "+rerr.Error())
	}
	addr := k.Address().String()
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
		if decide(&targets[i], baseline) {
			unverified++
		}
	}
	if unverified > 0 && rerr == nil {
		blk.Notes = append(blk.Notes, fmt.Sprintf("%d objects checked for deletion only: the configuration changed since the last apply (run strata plan)", unverified))
	}
	return why
}

// decide sets the status of a pending target from the object as applied
// (nil when the block no longer renders it so). It reports whether the
// target could be checked for existence only.
func decide(t *driftTarget, baseline *Baseline) (unverified bool) {
	switch {
	case t.desired == nil && t.rec.FieldsHash != "" && t.owned != t.rec.FieldsHash &&
		t.liveUID == t.rec.UID && !isSecretObject(t.rec):
		// The fields cannot be named without the configuration as applied,
		// but strata no longer owns what it applied.
		t.status = scanDisowned
	case t.desired == nil:
		t.status = scanClean
		return true
	case t.liveUID != t.rec.UID && t.rec.UID != "":
		t.status = scanSuspect
	case t.owned == "": // not listed: its labels changed
		t.status = scanSuspect
	case writeOnly(t.desired) || !kube.OwnsAll(t.ownedSets, t.desired.Object):
		t.status = scanSuspect
	default:
		t.status = scanClean
		baseline.put(t.rec, t.owned)
	}
	return false
}

// driftIntents reports the objects that an interrupted apply of block
// addr created and did not record (the block's intents): those that exist
// with the stack's labels, the block's and the stack's id. strata plan
// deletes them, or records them if the block still renders them.
func (e *Engine) driftIntents(ctx context.Context, m Kube, addr string, intents []state.Intent, blk *drift.Block) error {
	if len(intents) == 0 {
		return nil
	}
	refs := make([]kube.ObjectRef, len(intents))
	for i, in := range intents {
		refs[i] = intentRef(in)
	}
	selector := kube.LabelStack + "=" + e.name + "," + kube.LabelBlock + "=" + addr
	if e.stackID != "" {
		selector += "," + kube.LabelStackID + "=" + e.stackID
	}
	live, err := m.ScanMetadata(ctx, refs, kube.ScanOptions{Selector: selector})
	if err != nil {
		return err
	}
	blk.Checked += len(intents)
	for i, o := range live {
		if o.Exists && o.Listed {
			blk.Items = append(blk.Items, drift.Item{Address: intents[i].Address(addr), Kind: drift.Unrecorded,
				Message: "created by an interrupted apply and not recorded in the state (strata plan deletes it, or records it if the block still renders it)"})
		}
	}
	return nil
}

// reportTargets adds the drift of the targets to blk: the deleted and
// disowned ones as they are, the suspects as a server-side dry run finds
// them.
func (e *Engine) reportTargets(ctx context.Context, m Kube, addr string, targets []driftTarget, index map[string]int, why string, blk *drift.Block) {
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
		return
	}
	blk.DryRuns = len(objs)
	// No stack id: the objects keep the labels they were applied with
	// (objects applied before stack ids have none).
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: e.name, Block: addr})
	if err != nil {
		blk.Error = err.Error()
		return
	}
	var refused []string
	for _, c := range cs.Changes {
		if c.Action == kube.ActionNoop {
			continue // the live object holds the applied one: no drift
		}
		if c.Refusal != nil {
			// The cluster refuses the object as applied: its drift is
			// unknown, and the block could not be checked.
			refused = append(refused, e.driftRefusal(c.Refusal))
			continue
		}
		blk.Items = append(blk.Items, changeItem(c, addr, targets, index))
	}
	if len(refused) > 0 {
		blk.Error = strings.Join(refused, "; ")
	}
}

// changeItem is the drift item of a dry run's change of a suspect target.
func changeItem(c kube.Change, addr string, targets []driftTarget, index map[string]int) drift.Item {
	it := drift.Item{Address: c.Ref.Address(addr)}
	if c.Action == kube.ActionCreate {
		it.Kind, it.Message = drift.Deleted, "deleted in the cluster outside strata"
		return it
	}
	it.Kind, it.Message = drift.Modified, "changed in the cluster outside strata"
	if c.Unowned {
		it.Message += "; its ownership labels were changed"
	}
	if i, ok := index[it.Address]; ok && c.LiveUID != "" && targets[i].rec.UID != "" && c.LiveUID != targets[i].rec.UID {
		it.Message = "deleted and re-created outside strata"
	}
	it.Fields = driftFields(c.Fields)
	return it
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

// objectName is an object's group, kind and name: what its address is
// made of but the namespace, which Prepare may still set.
type objectName struct{ group, kind, name string }

// renderApplied renders the kustomization at the recorded revision of its
// source and prepares the objects named in wanted as apply does (ownership
// labels, namespaces), so that their digests compare with the state's. It
// returns those objects only: preparing (and digesting) all the objects of
// a large block to check a few costs more than rendering it.
func (e *Engine) renderApplied(ctx context.Context, m Kube, k *config.Kustomization, revision string,
	wanted map[objectName]bool) ([]*unstructured.Unstructured, error) {
	root := e.dir
	if k.Source != nil {
		art, err := e.fetchAt(ctx, k.Source.Addr, revision)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", k.Source.Addr, err)
		}
		root = art.Dir
	}
	objs, err := e.render(ctx, k, root)
	if err != nil {
		return nil, err
	}
	addr := k.Address().String()
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if !wanted[objectName{o.GroupVersionKind().Group, o.GetKind(), o.GetName()}] {
			continue
		}
		// A kind not served cannot exist either: its error is irrelevant.
		_, _ = m.Prepare(ctx, o, e.owner(addr))
		out = append(out, o)
	}
	return out, nil
}

// driftScan reads the live metadata of the targets (kube.Manager
// ScanMetadata: one list request per resource and namespace) and sets each
// target's status: deleted, clean (the resourceVersion recorded at apply
// time: untouched), or to be checked, with the hash of strata's field set.
func (e *Engine) driftScan(ctx context.Context, m Kube, targets []driftTarget, opts DriftOptions) error {
	refs := make([]kube.ObjectRef, len(targets))
	for i, t := range targets {
		refs[i] = recordRef(t.rec)
	}
	selector := kube.LabelStack + "=" + e.name + "," + kube.LabelBlock + "=" + targets[0].rec.Block
	live, err := m.ScanMetadata(ctx, refs, kube.ScanOptions{Selector: selector, Concurrency: opts.Concurrency, Shared: opts.ahead.sharedScan()})
	if err != nil {
		return err
	}
	for i := range targets {
		classify(&targets[i], live[i], opts.Baseline)
	}
	return nil
}

// scanPrefetcher is the Kube that can start the shared lists of a drift
// check early (kube.Manager.PrefetchScan).
type scanPrefetcher interface {
	PrefetchScan(ctx context.Context, s *kube.SharedScan, refs []kube.ObjectRef)
}

// scanLookahead is how many kustomizations ahead of the one being checked
// a drift check lists (see prefetchScan).
const scanLookahead = 16

// scanAhead starts the shared lists of a drift check's kustomizations a
// few blocks ahead of the block being checked (see prefetchScan).
type scanAhead struct {
	shared *kube.SharedScan
	snap   *state.Snapshot
	kubeAs func(serviceAccount string) (Kube, error)
	blocks []*config.Kustomization // the kustomizations to check, in order
	index  map[string]int          // of blocks, by address
	next   int                     // the first block whose lists are not started
}

// sharedScan returns the shared lists (nil for none).
func (a *scanAhead) sharedScan() *kube.SharedScan {
	if a == nil {
		return nil
	}
	return a.shared
}

// reach starts the lists of the blocks from addr's to scanLookahead after
// it that are not started yet.
func (a *scanAhead) reach(ctx context.Context, addr string) {
	if a == nil {
		return
	}
	i, ok := a.index[addr]
	if !ok {
		return
	}
	for ; a.next < len(a.blocks) && a.next <= i+scanLookahead; a.next++ {
		k := a.blocks[a.next]
		m, err := a.kubeAs(k.ServiceAccount)
		p, ok := m.(scanPrefetcher)
		if err != nil || !ok {
			continue // the block's check finds out
		}
		recs := a.snap.BlockObjects(k.Address().String())
		refs := make([]kube.ObjectRef, len(recs))
		for j, r := range recs {
			refs[j] = recordRef(r)
		}
		p.PrefetchScan(ctx, a.shared, refs)
	}
}

// prefetchScan returns the shared lists of the kustomizations that the
// check opts covers (nil for fewer than two: a block lists its own): one
// list per resource and namespace, as each block's service account, with
// the stack's label (and, when opts names blocks, the checked blocks') as
// selector, instead of one per block each waited for in turn
// (kube.SharedScan). Drift starts them (scanAhead.reach) up to
// scanLookahead blocks ahead of the block it checks, so that each block
// finds its lists made or under way while what the lists hold is bounded
// by the look-ahead, not by the stack (a stack in one namespace is listed
// at once all the same).
func (e *Engine) prefetchScan(snap *state.Snapshot, opts DriftOptions) *scanAhead {
	var blocks []*config.Kustomization
	for _, b := range e.stack.Blocks() {
		k, ok := b.(*config.Kustomization)
		addr := b.Address().String()
		if ok && !k.Suspend && (len(opts.Blocks) == 0 || slices.Contains(opts.Blocks, addr)) && len(snap.BlockObjects(addr)) > 0 {
			blocks = append(blocks, k)
		}
	}
	if len(blocks) < 2 {
		return nil
	}
	selector := kube.LabelStack + "=" + e.name
	if len(opts.Blocks) > 0 {
		names := make([]string, len(blocks))
		for i, k := range blocks {
			names[i] = k.Address().String()
		}
		slices.Sort(names)
		selector += "," + kube.LabelBlock + " in (" + strings.Join(names, ",") + ")"
	}
	a := &scanAhead{shared: kube.NewSharedScan(selector, opts.Concurrency), snap: snap, kubeAs: e.kubeAs, blocks: blocks,
		index: make(map[string]int, len(blocks))}
	for i, k := range blocks {
		a.index[k.Address().String()] = i
	}
	return a
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
