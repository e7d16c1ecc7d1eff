package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/internal/jsonvalue"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// kustomizationSettings are the apply settings of a kustomization, saved in
// plan.Block.Settings.
type kustomizationSettings struct {
	Wait           bool               `json:"wait"`
	Timeout        string             `json:"timeout,omitempty"`
	ServiceAccount string             `json:"service_account,omitempty"`
	HealthChecks   []kube.HealthCheck `json:"health_checks,omitempty"`
	Adopt          bool               `json:"adopt,omitempty"`
	// Force allows the replaces the plan holds (only planned with force).
	Force bool `json:"force,omitempty"`
	// FormerBlocks are the block's addresses before a move, whose labels
	// its objects may carry (state.Block.MovedFrom).
	FormerBlocks []string `json:"former_blocks,omitempty"`
}

// Plan computes what applying the loaded stack would change. It reads the
// state (without locking: the caller locks) and the live cluster and changes
// neither.
func (e *Engine) Plan(ctx context.Context) (*plan.Plan, error) {
	if e.stack == nil {
		return nil, errors.New("no stack loaded")
	}
	store, err := e.Store()
	if err != nil {
		return nil, err
	}
	snap, err := store.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	// The stack's identity is its state's lineage; a stack without state
	// yet gets the lineage its first apply will give the state.
	e.stackID = snap.Lineage
	if e.stackID == "" {
		e.stackID = state.NewLineage()
	}
	p := &plan.Plan{
		FormatVersion: plan.FormatVersion,
		StrataVersion: e.opts.Version,
		CreatedAt:     e.opts.Now().UTC(),
		Dir:           e.dir,
		Stack:         e.name,
		StackID:       e.stackID,
		Environment:   e.opts.Environment,
		Backend:       e.backend,
		Cluster:       e.cluster,
		Destroy:       e.opts.Destroy,
		Targets:       e.opts.Targets,
		State:         plan.StateRef{Lineage: snap.Lineage, Serial: snap.Serial},
		Variables:     e.variables(),
	}
	selected, g, err := e.selectBlocks()
	if err != nil {
		return nil, err
	}
	if err := e.checkAdopt(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.fluxAdopted = map[fluxKey][]string{}
	e.mu.Unlock()
	if snap, err = e.planMoves(p, snap); err != nil {
		return nil, err
	}
	// The blocks' diffs list the stack's live objects once per resource
	// and namespace, and read the admission configuration once, between
	// them; what the lists hold goes with the plan.
	e.reads = e.sharedReads(selected)
	defer func() { e.reads = nil }()
	if !e.opts.Destroy {
		if err := e.readValuesFrom(ctx, selected); err != nil {
			return nil, e.scrubErr(err)
		}
		if err := e.planBlocks(ctx, p, snap, selected, g); err != nil {
			return nil, e.scrubErr(err)
		}
	}
	if err := e.planRemovals(ctx, p, snap); err != nil {
		return nil, e.scrubErr(err)
	}
	if err := e.planFlux(ctx, p); err != nil {
		return nil, e.scrubErr(err)
	}
	e.locateErrors(ctx, p)
	e.scrubPlan(p)
	// After the scrub: policies see masked objects only.
	EvaluatePolicies(p, e.stack)
	for i := range p.PolicyResults {
		p.PolicyResults[i].Message = e.secrets.Scrub(p.PolicyResults[i].Message)
	}
	return p, nil
}

// planBlocks plans the selected blocks in their order, taking the renders
// and diffs that prediff makes beside it as they are ready.
func (e *Engine) planBlocks(ctx context.Context, p *plan.Plan, snap *state.Snapshot, selected []config.Block, g *graph.Graph) error {
	pre := e.prediff(ctx, snap, selected, g)
	defer pre.stop()
	up := newUpcoming(g)
	for _, b := range selected {
		if err := e.planBlock(ctx, p, snap, b, up, pre.take(b.Address())); err != nil {
			return e.blockError(b, err)
		}
	}
	return nil
}

// sharedReads returns the shared reads of a plan of the selected blocks:
// lists of the objects of the selected kustomizations, or, for a plan of
// the whole stack whose blocks are all kustomizations that are not
// suspended, lists of all the stack's objects (the same objects but those
// of blocks removed from the stack, which no diff takes): a selector
// naming every block grew with the stack and went with every list, so
// that its cost grew with blocks x namespaces (some 5 KB per request, each
// encoded five times by the client, at 500 kustomizations).
func (e *Engine) sharedReads(selected []config.Block) *kube.SharedReads {
	labels := kustomizationLabels(selected)
	if len(e.opts.Targets) == 0 && len(labels) == len(selected) {
		return kube.NewSharedReads()
	}
	return kube.NewSharedReads(labels...)
}

// kustomizationLabels returns the block labels of the kustomizations
// among blocks, which the plan diffs.
func kustomizationLabels(blocks []config.Block) []string {
	var out []string
	for _, b := range blocks {
		if k, ok := b.(*config.Kustomization); ok && !k.Suspend {
			out = append(out, k.Address().String())
		}
	}
	return out
}

// variables lists the stack's input variables, sensitive ones without value.
func (e *Engine) variables() []plan.Variable {
	names := make([]string, 0, len(e.stack.Variables))
	for n := range e.stack.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []plan.Variable
	for _, n := range names {
		v := e.stack.Variables[n]
		pv := plan.Variable{Name: n, Sensitive: v.Sensitive}
		if !v.Sensitive && v.Value.IsWhollyKnown() {
			val, _ := v.Value.Unmark()
			if b, err := ctyjson.Marshal(val, val.Type()); err == nil {
				pv.Value = b
			}
		}
		out = append(out, pv)
	}
	return out
}

// selectBlocks returns the stack's blocks in dependency order, limited to
// the targets and their dependencies when targets are given, and the
// stack's graph.
func (e *Engine) selectBlocks() ([]config.Block, *graph.Graph, error) {
	g := e.graph
	if g == nil {
		var err error
		if g, err = stackGraph(e.stack); err != nil {
			return nil, nil, err
		}
	}
	order := g.TopoOrder()
	if len(e.opts.Targets) > 0 {
		var want []config.Address
		for _, t := range e.opts.Targets {
			block, _, _ := addrs.SplitObjectAddress(t)
			a, err := config.ParseAddress(block)
			if err != nil {
				return nil, nil, fmt.Errorf("target %s: %w", t, err)
			}
			if !g.Has(a) {
				return nil, nil, fmt.Errorf("target %s: no block %s in the stack", t, a)
			}
			want = append(want, a)
		}
		keep := map[config.Address]bool{}
		for _, a := range g.Ancestors(want...) {
			keep[a] = true
		}
		order = slices.DeleteFunc(order, func(a config.Address) bool { return !keep[a] })
	}
	out := make([]config.Block, 0, len(order))
	for _, a := range order {
		out = append(out, e.stack.Block(a))
	}
	return out, g, nil
}

// dependsOn returns the addresses of the blocks b depends on, sorted and
// unique.
func dependsOn(b config.Block) []string {
	var out []string
	for _, r := range b.References() {
		s := r.Addr.String()
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// planBlock plans block b; pre is its render and diff when prediff made
// them (nil otherwise).
func (e *Engine) planBlock(ctx context.Context, p *plan.Plan, snap *state.Snapshot, b config.Block, up *upcoming, pre *kustomizationDiff) error {
	switch b := b.(type) {
	case *config.Kustomization:
		return e.planKustomization(ctx, p, snap, b, up, pre)
	case *config.GitSource:
		return e.planGitSource(ctx, p, snap, b)
	case *config.HelmSource:
		e.planHelmSource(p, snap, b)
		return nil
	case *config.OCISource:
		return e.planOCISource(ctx, p, snap, b)
	case *config.Release:
		return e.planRelease(ctx, p, snap, b, up)
	}
	return fmt.Errorf("%s: unknown block kind", b.Address())
}

// planKustomization plans kustomization k: its render and diff (pre, when
// prediff made them ahead), then, in the plan's order, the check of what
// its dependencies create and the plan's entries.
func (e *Engine) planKustomization(ctx context.Context, p *plan.Plan, snap *state.Snapshot, k *config.Kustomization, up *upcoming, pre *kustomizationDiff) error {
	addr := k.Address().String()
	if k.Suspend {
		return nil
	}
	d := pre
	if d == nil {
		d = e.renderForPlan(ctx, snap, k)
	}
	if d.err != nil {
		return d.err
	}
	// CRDs and namespaces that the blocks this one depends on create or
	// change first: the objects using them are planned against those.
	crds, namespaces := up.upstream(k.Address())
	if err := up.checkOrder(k.Address(), d.rendered, crds, namespaces); err != nil {
		return err
	}
	if !d.diffed {
		e.diffKustomization(ctx, snap, k, d, crds, namespaces)
	}
	if d.diffErr != nil {
		return d.diffErr
	}
	cs, former, revision := d.cs, d.former, d.revision
	up.record(addr, cs.Changes)

	blk := plan.Block{Address: addr, Kind: string(config.KindKustomization), DependsOn: dependsOn(k),
		Revision: revision, ConfigDigest: k.Digest()}
	settings := kustomizationSettings{Wait: k.Wait, ServiceAccount: k.ServiceAccount, Force: k.Force, FormerBlocks: former}
	if k.Timeout > 0 {
		settings.Timeout = k.Timeout.String()
	}
	for _, h := range k.HealthChecks {
		gv, _ := schema.ParseGroupVersion(h.APIVersion)
		settings.HealthChecks = append(settings.HealthChecks, kube.HealthCheck{
			ObjectRef: kube.ObjectRef{Group: gv.Group, Version: gv.Version, Kind: h.Kind, Namespace: h.Namespace, Name: h.Name},
			Condition: h.Condition})
	}
	for _, c := range cs.Changes {
		if c.Refusal != nil && e.planRefusal(p, c.Ref.Address(addr), c.Refusal, c.Action == kube.ActionNoop) {
			continue
		}
		if c.Action == kube.ActionReplace && !k.Force {
			p.AddError(c.Ref.Address(addr), e.secrets.Scrub(replaceRefused(addr, c)))
			continue
		}
		rc := e.resourceChange(addr, c)
		if c.Action == kube.ActionReplace {
			rc.Reason = joinReason("force = true", rc.Reason)
			rc.Warning = "replace: " + kube.ReplaceEffect(replaced(c))
		}
		so, inState := snap.Object(rc.Address)
		if !inState && !intentReason(&rc, c) {
			continue // an intent that is no concern of the stack's
		}
		if perr := e.ownershipError(owning{addr: addr, adopt: k.Adopt}, c, &rc, up); perr != nil {
			p.Errors = append(p.Errors, *perr)
			continue
		}
		if rc.Adopt {
			settings.Adopt = true
		}
		switch {
		case c.Action == kube.ActionUpdate && inState && so.Digest == desiredDigest(c) && c.Refusal == nil:
			rc.Reason = joinReason("changed in the cluster outside strata", rc.Reason)
			p.Drift = append(p.Drift, plan.Drift{Address: rc.Address, Block: addr, Kind: plan.DriftModified,
				Message: "changed in the cluster outside strata" + fieldList(rc.Diff)})
		case c.Action == kube.ActionCreate && inState && c.AfterNamespace == "" && c.AfterCRD == "":
			rc.Reason = joinReason("deleted in the cluster outside strata", rc.Reason)
			p.Drift = append(p.Drift, plan.Drift{Address: rc.Address, Block: addr, Kind: plan.DriftDeleted,
				Message: "deleted in the cluster outside strata"})
		case c.Action == kube.ActionNoop && !inState:
			p.Record = append(p.Record, rc.Address)
		case c.Action == kube.ActionDelete && rc.Reason == "":
			rc.Reason = "no longer rendered by " + addr
		}
		if c.Refusal != nil && c.Action != kube.ActionNoop {
			e.refusedChange(&rc, c.Refusal)
		}
		p.Changes = append(p.Changes, rc)
		if c.Desired != nil && c.Action != kube.ActionDelete {
			raw, err := jsonvalue.Marshal(c.Desired.Object)
			if err != nil {
				return fmt.Errorf("%s: %w", rc.Address, err)
			}
			blk.Sensitive = append(blk.Sensitive, e.secrets.Locate(len(blk.Objects), c.Desired.Object)...)
			blk.Objects = append(blk.Objects, raw)
		}
		if c.Action == kube.ActionDelete {
			blk.Prune = append(blk.Prune, plan.ObjectRef{APIVersion: rc.APIVersion, Kind: rc.Kind, Namespace: rc.Namespace, Name: rc.Name})
		}
	}
	blk.Settings, _ = json.Marshal(settings)
	if sb, ok := snap.Block(addr); ok && sb.Status == state.StatusFailed && !cs.HasChanges() {
		p.Retry = append(p.Retry, addr)
	}
	p.Blocks = append(p.Blocks, blk)
	return nil
}

// desiredDigest returns the digest of the object c applies, "" for none.
// Only updates need it, so a no-change plan does not encode every object
// once more to hash it.
func desiredDigest(c kube.Change) string {
	if c.Desired == nil {
		return ""
	}
	return kube.Digest(c.Desired)
}

// replaceRefused explains why a replace is a plan error without force,
// what a replace would destroy and the ways out.
func replaceRefused(block string, c kube.Change) string {
	reason := c.Reason
	if reason != "" {
		reason = strings.ToUpper(reason[:1]) + reason[1:] + ". "
	}
	return reason + "The object cannot be updated in place; replacing it means that " + kube.ReplaceEffect(replaced(c)) + ". " +
		"strata replaces objects only when their kustomization sets force = true: set force = true on " + block +
		" to plan the replacement, or delete the object by hand (for a workload, kubectl delete --cascade=orphan keeps its pods running) and plan again."
}

// replaced returns the object a replace deletes: the live one, or the
// desired one when the change does not carry it.
func replaced(c kube.Change) *unstructured.Unstructured {
	if c.Before != nil {
		return c.Before
	}
	return c.Desired
}

// previousObjects returns the objects of block addr that a plan compares
// with what the block renders now: those recorded in the state, and the
// intents an interrupted apply left behind (objects it was about to create
// and may have created without recording them) that the state does not
// record.
func previousObjects(snap *state.Snapshot, addr string) (recorded, intents []kube.ObjectRef) {
	seen := map[string]bool{}
	for _, so := range snap.BlockObjects(addr) {
		seen[so.Address] = true
		recorded = append(recorded, recordRef(so))
	}
	sb, _ := snap.Block(addr)
	for _, in := range sb.Intents {
		if !seen[in.Address(addr)] {
			intents = append(intents, intentRef(in))
		}
	}
	return recorded, intents
}

// intentReason explains the change of an object the state does not list
// (rendered now, or an intent of an interrupted apply) and reports whether
// the plan shows it: a forget of an object the state does not hold is
// nothing to show.
func intentReason(rc *plan.ResourceChange, c kube.Change) bool {
	switch c.Action {
	case kube.ActionForget:
		return false
	case kube.ActionDelete:
		rc.Reason = joinReason("left behind by an interrupted apply and no longer rendered", rc.Reason)
	}
	return true
}

func refKey(r kube.ObjectRef) string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

func joinReason(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

func fieldList(diff []plan.FieldDiff) string {
	if len(diff) == 0 {
		return ""
	}
	var paths []string
	for i, d := range diff {
		if i == 3 {
			paths = append(paths, fmt.Sprintf("and %d more", len(diff)-3))
			break
		}
		paths = append(paths, d.Path)
	}
	return " (" + strings.Join(paths, ", ") + ")"
}

// apiVersion returns the apiVersion of a reference: "apps/v1", "v1".
func apiVersion(r kube.ObjectRef) string {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}.String()
}

// toResourceChange converts a provider change to the plan model.
func toResourceChange(block string, c kube.Change) plan.ResourceChange {
	rc := plan.ResourceChange{
		Address:             c.Ref.Address(block),
		Block:               block,
		APIVersion:          apiVersion(c.Ref),
		Kind:                c.Ref.Kind,
		Namespace:           c.Ref.Namespace,
		Name:                c.Ref.Name,
		Reason:              c.Reason,
		LiveResourceVersion: c.LiveResourceVersion,
		LiveUID:             c.LiveUID,
		LiveDigest:          c.LiveDigest,
		Unowned:             c.Unowned,
		MovedFrom:           c.MovedFrom,
		AfterCRD:            c.AfterCRD,
		SchemaOnly:          c.SchemaOnly,
		AfterNamespace:      c.AfterNamespace,
	}
	if c.Flux != nil {
		rc.AdoptedFromFlux = c.Flux.String()
	}
	if c.Before != nil {
		rc.Before = c.Before.Object
	}
	if c.After != nil {
		rc.After = c.After.Object
	}
	switch c.Action {
	case kube.ActionCreate:
		rc.Actions = plan.Actions{plan.Create}
	case kube.ActionUpdate:
		rc.Actions = plan.Actions{plan.Update}
	case kube.ActionReplace:
		rc.Actions = plan.Replace
	case kube.ActionDelete:
		rc.Actions = plan.Actions{plan.Delete}
	case kube.ActionForget:
		rc.Actions = plan.Actions{plan.Forget}
	default:
		rc.Actions = plan.Actions{plan.NoOp}
	}
	if c.Unowned && c.Owner != "" && c.Action != kube.ActionForget {
		rc.Reason = joinReason("owned by "+c.Owner, rc.Reason)
	} else if c.Unowned && c.Action != kube.ActionDelete && c.Action != kube.ActionForget {
		rc.Reason = joinReason("exists in the cluster without strata's labels", rc.Reason)
	}
	if c.Action == kube.ActionCreate {
		rc.Diff = plan.Diff(nil, rc.After)
		return rc
	}
	for _, f := range c.Fields {
		fd := plan.FieldDiff{Path: f.Path, Before: f.Before, After: f.After}
		switch {
		case f.Before == nil:
			fd.Op = plan.OpAdd
		case f.After == nil:
			fd.Op = plan.OpRemove
		default:
			fd.Op = plan.OpChange
		}
		if plan.HoldsMasked(f.Before) || plan.HoldsMasked(f.After) {
			fd.Sensitive, fd.Before, fd.After = true, nil, nil
		}
		if f.After == kube.Unknown {
			fd.Unknown, fd.After = true, nil
		}
		if c.Action == kube.ActionReplace && forcesReplace(f.Path, c.Immutable) {
			fd.ForcesReplace = true
		}
		rc.Diff = append(rc.Diff, fd)
	}
	return rc
}

// forcesReplace reports whether the field at path is, or is inside, one of
// the immutable fields the server named.
func forcesReplace(path string, immutable []string) bool {
	for _, f := range immutable {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return true
		}
	}
	return false
}

// recordRef is the reference of the object o the state records.
func recordRef(o state.Object) kube.ObjectRef {
	return kube.ObjectRef{Group: o.Group, Version: o.Version, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// intentRef is the reference of the object of the intent in.
func intentRef(in state.Intent) kube.ObjectRef {
	return kube.ObjectRef{Group: in.Group, Version: in.Version, Kind: in.Kind, Namespace: in.Namespace, Name: in.Name}
}
