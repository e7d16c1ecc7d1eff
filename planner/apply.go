package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// ErrStalePlan is wrapped by Apply when a saved plan no longer matches the
// state or the cluster.
var ErrStalePlan = errors.New("saved plan is stale")

// ErrPlanErrors is wrapped by Apply when the plan holds errors
// (plan.Plan.Errors): it changes nothing then.
var ErrPlanErrors = errors.New("the plan has errors")

// ApplyOptions configure one Apply.
type ApplyOptions struct {
	// Saved marks a plan read from a file: Apply first checks that the
	// state serial and every planned object's resourceVersion are still
	// those the plan was made against, and the writes carry the same
	// preconditions.
	Saved bool
}

// Result sums up an apply.
type Result struct {
	Added, Changed, Destroyed int
	// Failed maps each failed block to its error.
	Failed map[string]error
	// Skipped maps each block not run to the reason.
	Skipped map[string]string
	// StateErr is the first state write that failed (e.g. refused because
	// the lock was lost): when set, the state may not record everything
	// the apply did.
	StateErr error
}

// Apply carries out p. The caller holds the state lock (Lock). Blocks run
// in dependency order, independent ones in parallel; each finished block is
// written to the state at once. A failed block stops the blocks that depend
// on it; the others go on. The error reports the failed blocks; Result is
// filled also on error. Errors and events carry no sensitive value: those
// of the stack, and those the plan's blocks locate (a saved plan). A plan
// that holds errors is refused before anything changes (ErrPlanErrors).
//
// When the lock is lost during the apply, Apply stops at once: requests in
// flight are cancelled, no further request that can change the cluster is
// sent and no further block starts. What was done is still written to the
// state where the state's fencing allows it (Result.StateErr says when
// not), and the error, which wraps state.ErrLockLost, says the lock was
// lost.
func (e *Engine) Apply(ctx context.Context, p *plan.Plan, opts ApplyOptions) (*Result, error) {
	if err := e.savedSecrets(p); err != nil {
		return nil, err
	}
	res, err := e.apply(ctx, p, opts)
	if res != nil {
		for b, ferr := range res.Failed {
			res.Failed[b] = e.scrubErr(ferr)
		}
	}
	return res, e.scrubErr(err)
}

// apply is Apply; its errors may still hold secrets.
func (e *Engine) apply(ctx context.Context, p *plan.Plan, opts ApplyOptions) (*Result, error) {
	if err := checkErrors(p); err != nil {
		return nil, err
	}
	store, err := e.Store()
	if err != nil {
		return nil, err
	}
	ctx, stop := e.lock.stopOnLoss(ctx, func(err error) { e.emit(Event{Type: LockLost, Err: err}) })
	defer stop()
	// State writes must not be cancelled with ctx: what was applied is
	// recorded even when the user interrupts.
	wctx := context.WithoutCancel(ctx)
	snap, err := store.Read(wctx)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if snap.Lineage != p.State.Lineage || snap.Serial != p.State.Serial {
		return nil, fmt.Errorf("%w: the state changed since the plan was made (serial %d, now %d); run strata plan again",
			ErrStalePlan, p.State.Serial, snap.Serial)
	}
	switch {
	case p.StackID == "":
		return nil, errors.New("the plan names no stack id: run strata plan again")
	case snap.Lineage == "":
		// The first write gives the state the lineage the plan labelled
		// the objects with.
		snap.Lineage = p.StackID
	case snap.Lineage != p.StackID:
		return nil, fmt.Errorf("%w: the plan's stack id %s is not the state's lineage %s", ErrStalePlan, p.StackID, snap.Lineage)
	}
	prov, err := e.connectCluster()
	if err != nil {
		return nil, err
	}
	if opts.Saved {
		mgr, err := prov.Kube("")
		if err != nil {
			return nil, err
		}
		if err := e.checkLive(ctx, mgr, p); err != nil {
			return nil, err
		}
		if err := e.checkReleases(ctx, p); err != nil {
			return nil, err
		}
	}

	a := &applier{e: e, p: p, store: store, snap: snap, wctx: wctx, prov: prov, saved: opts.Saved,
		res: &Result{Failed: map[string]error{}, Skipped: map[string]string{}}}
	if len(p.Moves) > 0 {
		// The moves first, as the plan made them: the blocks apply to
		// their new addresses.
		err := a.record(func(s *state.Snapshot) {
			for _, m := range p.Moves {
				_, _ = s.Move(m.From, m.To) // checked by the plan against this very serial
			}
		})
		if err != nil {
			return nil, err
		}
	}
	nodes := make([]string, 0, len(p.Blocks))
	deps := map[string][]string{}
	for _, b := range p.Blocks {
		nodes = append(nodes, b.Address)
		deps[b.Address] = b.DependsOn
	}
	failed, err := walk(ctx, nodes, deps, e.opts.Parallelism, a.applyBlock, func(node, cause string) {
		msg := "dependency " + cause + " failed"
		a.mu.Lock()
		switch {
		case (cause == "interrupted" || a.res.Skipped[cause] == msgLockLost) && e.lock.check() != nil:
			msg = msgLockLost
		case cause == "interrupted":
			msg = "interrupted"
		}
		a.res.Skipped[node] = msg
		a.mu.Unlock()
		e.emit(Event{Type: BlockSkipped, Block: node, Message: msg})
	})
	if err != nil {
		return nil, err
	}
	for b, err := range failed {
		if _, notStarted := a.res.Skipped[b]; !notStarted {
			a.res.Failed[b] = err
		}
	}
	// Record the apply in the history, with the counts.
	op := "apply"
	if p.Destroy {
		op = "destroy"
	}
	a.mu.Lock()
	entry := &state.HistoryEntry{Operation: op, Who: state.Who(e.opts.Getenv), Time: e.opts.Now().UTC(),
		Added: a.res.Added, Changed: a.res.Changed, Removed: a.res.Destroyed}
	herr := store.Write(wctx, a.snap, state.WriteOptions{LockID: e.lockID, History: entry})
	if herr != nil && a.res.StateErr == nil {
		a.res.StateErr = herr
	}
	a.mu.Unlock()
	if lerr := e.lock.check(); lerr != nil && len(a.res.Failed)+len(a.res.Skipped) > 0 {
		return a.res, a.stopped(op, lerr, herr)
	}
	if herr != nil {
		return a.res, fmt.Errorf("record history: %w", herr)
	}
	if len(a.res.Failed) > 0 {
		names := keys(a.res.Failed)
		var errs []error
		for _, n := range names {
			errs = append(errs, fmt.Errorf("%s: %w", n, a.res.Failed[n]))
		}
		return a.res, errors.Join(errs...)
	}
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), state.ErrLockLost) {
		// (A lock lost after every block was done and recorded stopped
		// nothing.)
		return a.res, fmt.Errorf("apply interrupted: %w", ctx.Err())
	}
	return a.res, nil
}

// checkErrors refuses a plan that holds errors, naming each, and a plan
// that replaces an object of a kustomization without force (a plan made
// by hand or by an older strata): the replace would fail half-way.
func checkErrors(p *plan.Plan) error {
	errs := slices.Clone(p.Errors)
	for _, rc := range p.Changes {
		if !rc.Actions.IsReplace() {
			continue
		}
		var settings kustomizationSettings
		if b := p.Block(rc.Block); b != nil && len(b.Settings) > 0 {
			_ = json.Unmarshal(b.Settings, &settings)
		}
		if !settings.Force {
			errs = append(errs, plan.Error{Address: rc.Address, Message: "the plan replaces it, but " + rc.Block + " does not set force = true"})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, pe := range errs {
		msgs[i] = pe.Address + ": " + pe.Message
	}
	return fmt.Errorf("%w and cannot be applied: %s", ErrPlanErrors, strings.Join(msgs, "; "))
}

// stopped is the error of an apply that the loss of the lock (lerr)
// stopped: lerr first, then the failures it did not cause and the failed
// history write herr.
func (a *applier) stopped(op string, lerr, herr error) error {
	errs := []error{fmt.Errorf("%s stopped, no further change was made to the cluster: %w", op, lerr)}
	for _, n := range keys(a.res.Failed) {
		if ferr := a.res.Failed[n]; !errors.Is(ferr, state.ErrLockLost) && !errors.Is(ferr, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s: %w", n, ferr))
		}
	}
	if herr != nil && !errors.Is(herr, state.ErrLockLost) {
		errs = append(errs, fmt.Errorf("record history: %w", herr))
	}
	return errors.Join(errs...)
}

// msgLockLost is why a block did not start after the lock was lost.
const msgLockLost = "not started: the state lock was lost"

// applier is the state of one Apply.
type applier struct {
	e     *Engine
	p     *plan.Plan
	store state.Store
	wctx  context.Context
	prov  *Providers // connected before the walk: its goroutines only read it
	saved bool

	mu   sync.Mutex // guards snap and res
	snap *state.Snapshot
	res  *Result
}

func (a *applier) applyBlock(ctx context.Context, addr string) error {
	if err := a.e.lock.check(); err != nil {
		a.mu.Lock()
		a.res.Skipped[addr] = msgLockLost
		a.mu.Unlock()
		a.e.emit(Event{Type: BlockSkipped, Block: addr, Message: msgLockLost})
		return err // its dependants are skipped too
	}
	b := a.p.Block(addr)
	start := time.Now()
	a.e.emit(Event{Type: BlockStarted, Block: addr})
	var (
		added, changed, destroyed int
		err                       error
	)
	switch {
	case b.Kind == "kustomization":
		added, changed, destroyed, err = a.applyKustomization(ctx, b)
	case b.Kind == "release":
		added, changed, destroyed, err = a.applyRelease(ctx, b)
	case b.Remove:
		err = a.record(func(s *state.Snapshot) { s.Remove(addr) })
	default:
		err = a.record(func(s *state.Snapshot) {
			s.PutBlock(state.Block{Address: addr, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
				AppliedAt: a.e.opts.Now().UTC(), Status: state.StatusApplied, DependsOn: b.DependsOn})
		})
	}
	a.mu.Lock()
	a.res.Added += added
	a.res.Changed += changed
	a.res.Destroyed += destroyed
	a.mu.Unlock()
	if cause := context.Cause(ctx); errors.Is(err, context.Canceled) && errors.Is(cause, state.ErrLockLost) {
		err = fmt.Errorf("stopped, the state lock was lost: %w", err)
	}
	ev := Event{Type: BlockDone, Block: addr, Elapsed: time.Since(start), Added: added, Changed: changed, Destroyed: destroyed}
	if err != nil {
		ev.Type, ev.Err = BlockFailed, err
	}
	a.e.emit(ev)
	return err
}

// record changes the snapshot and writes it at once.
func (a *applier) record(fn func(*state.Snapshot)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn(a.snap)
	if err := a.store.Write(a.wctx, a.snap, state.WriteOptions{LockID: a.e.lockID}); err != nil {
		if a.res.StateErr == nil {
			a.res.StateErr = err
		}
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// changeSet rebuilds the provider change set of block b from the plan.
func (a *applier) changeSet(b *plan.Block) (*kube.ChangeSet, error) {
	desired := map[string]*unstructured.Unstructured{}
	for _, raw := range b.Objects {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(raw, &u.Object); err != nil {
			return nil, fmt.Errorf("saved object of %s: %w", b.Address, err)
		}
		desired[refKey(kube.RefOf(u))] = u
	}
	cs := &kube.ChangeSet{}
	for _, rc := range a.p.Changes {
		if rc.Block != b.Address {
			continue
		}
		gv, err := schema.ParseGroupVersion(rc.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rc.Address, err)
		}
		c := kube.Change{
			Ref:                 kube.ObjectRef{Group: gv.Group, Version: gv.Version, Kind: rc.Kind, Namespace: rc.Namespace, Name: rc.Name},
			Reason:              rc.Reason,
			LiveResourceVersion: rc.LiveResourceVersion,
			LiveUID:             rc.LiveUID,
			LiveDigest:          rc.LiveDigest,
			Unowned:             rc.Unowned,
			AfterCRD:            rc.AfterCRD,
			SchemaOnly:          rc.SchemaOnly,
		}
		switch {
		case rc.Actions.IsReplace():
			c.Action = kube.ActionReplace
		case rc.Actions.Is(plan.Create):
			c.Action = kube.ActionCreate
		case rc.Actions.Is(plan.Update):
			c.Action = kube.ActionUpdate
		case rc.Actions.Is(plan.Delete):
			c.Action = kube.ActionDelete
		case rc.Actions.Is(plan.Forget):
			c.Action = kube.ActionForget
		default:
			c.Action = kube.ActionNoop
		}
		if c.Action != kube.ActionDelete && c.Action != kube.ActionForget {
			c.Desired = desired[refKey(c.Ref)]
			if c.Desired == nil {
				return nil, fmt.Errorf("%s: the plan holds no object to apply", rc.Address)
			}
		}
		cs.Changes = append(cs.Changes, c)
	}
	return cs, nil
}

func (a *applier) applyKustomization(ctx context.Context, b *plan.Block) (added, changed, destroyed int, err error) {
	var settings kustomizationSettings
	if len(b.Settings) > 0 {
		if err := json.Unmarshal(b.Settings, &settings); err != nil {
			return 0, 0, 0, fmt.Errorf("settings: %w", err)
		}
	}
	cs, err := a.changeSet(b)
	if err != nil {
		return 0, 0, 0, err
	}
	mgr, err := a.prov.Kube(settings.ServiceAccount)
	if err != nil {
		return 0, 0, 0, err
	}
	opts := kube.ApplyOptions{Stack: a.p.Stack, StackID: a.p.StackID, Block: b.Address, FormerBlocks: settings.FormerBlocks,
		Adopt: settings.Adopt, Force: settings.Force, IfUnchanged: a.saved,
		Wait: settings.Wait, HealthChecks: settings.HealthChecks}
	if settings.Timeout != "" {
		opts.Timeout, _ = time.ParseDuration(settings.Timeout)
	}
	a.mu.Lock()
	_, opts.Intents = previousObjects(a.snap, b.Address) // before this apply's own intents
	a.mu.Unlock()

	var res *kube.ApplyResult
	if cs.HasChanges() {
		if err := a.recordIntents(b, cs); err != nil {
			return 0, 0, 0, err
		}
		events := make(chan kube.Event, 16)
		var wg sync.WaitGroup
		wg.Go(func() {
			for ev := range events {
				a.e.emit(Event{Type: ObjectEvent, Block: b.Address, Object: objectProgress(ev), Elapsed: ev.Elapsed})
			}
		})
		res, err = mgr.Apply(ctx, cs, opts, events)
		close(events)
		wg.Wait()
	}
	if res == nil {
		if a.upToDate(b, cs) {
			return 0, 0, 0, nil
		}
		res = &kube.ApplyResult{}
		if settings.Wait && !b.Remove {
			// Nothing to write, but the last apply failed: wait again.
			var refs []kube.ObjectRef
			for _, c := range cs.Changes {
				if c.Action != kube.ActionDelete {
					refs = append(refs, c.Ref)
				}
			}
			refs = append(refs, settings.HealthChecks...)
			events := make(chan kube.Event, 16)
			var wg sync.WaitGroup
			wg.Go(func() {
				for ev := range events {
					a.e.emit(Event{Type: ObjectEvent, Block: b.Address, Object: objectProgress(ev), Elapsed: ev.Elapsed})
				}
			})
			err = mgr.Wait(ctx, refs, kube.WaitOptions{Timeout: opts.Timeout}, events)
			close(events)
			wg.Wait()
		}
	}
	for _, o := range res.Objects {
		switch o.Action {
		case kube.ActionCreate:
			added++
		case kube.ActionUpdate:
			changed++
		case kube.ActionReplace:
			added++
			destroyed++
		case kube.ActionDelete:
			if o.Skipped == "" {
				destroyed++
			}
		}
	}
	if rerr := a.recordKustomization(b, cs, res, err); rerr != nil {
		return added, changed, destroyed, errors.Join(err, rerr)
	}
	return added, changed, destroyed, err
}

// recordKustomization writes the block and its objects to the state: the
// objects applied now, the unchanged ones, and, when the apply failed
// part-way, the ones it had before that were not deleted.
func (a *applier) recordKustomization(b *plan.Block, cs *kube.ChangeSet, res *kube.ApplyResult, applyErr error) error {
	return a.record(func(s *state.Snapshot) {
		objs := map[string]state.Object{}
		for _, o := range s.BlockObjects(b.Address) {
			objs[o.Address] = o
		}
		if applyErr == nil {
			// Everything planned is now true: start from the plan.
			prev := objs
			objs = map[string]state.Object{}
			for _, c := range cs.Changes {
				if c.Action == kube.ActionDelete || c.Action == kube.ActionForget {
					continue // pruned, or kept in the cluster and no longer managed
				}
				addr := c.Ref.Address(b.Address)
				o, ok := prev[addr]
				if !ok || c.Action == kube.ActionNoop && o.Digest != kube.Digest(c.Desired) {
					o = stateObject(b.Address, c.Ref)
					o.Digest = kube.Digest(c.Desired)
					o.UID, o.ResourceVersion = c.LiveUID, c.LiveResourceVersion
				}
				objs[addr] = o
			}
		}
		for _, ap := range res.Objects {
			addr := ap.Ref.Address(b.Address)
			if ap.Action == kube.ActionDelete {
				if ap.Skipped == "" || strings.Contains(ap.Skipped, "gone") || strings.Contains(ap.Skipped, "not found") {
					delete(objs, addr)
				} else if applyErr == nil {
					delete(objs, addr) // kept in the cluster on purpose, no longer strata's
				}
				continue
			}
			o := stateObject(b.Address, ap.Ref)
			o.Digest, o.UID, o.ResourceVersion = ap.Digest, ap.UID, ap.ResourceVersion
			o.FieldsHash = ap.FieldsHash
			objs[addr] = o
		}
		list := make([]state.Object, 0, len(objs))
		for _, o := range objs {
			list = append(list, o)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Address < list[j].Address })
		s.SetBlockObjects(b.Address, list)
		status := state.StatusApplied
		if applyErr != nil {
			status = state.StatusFailed
		}
		if b.Remove {
			if applyErr == nil {
				s.Remove(b.Address)
			}
			return
		}
		var intents []state.Intent
		var movedFrom []string
		if applyErr != nil {
			// Objects that may have been written and are not recorded
			// stay intents for the next plan, and objects may still carry
			// the labels of a former address.
			sb, _ := s.Block(b.Address)
			for _, in := range sb.Intents {
				if _, ok := objs[in.Address(b.Address)]; !ok {
					intents = append(intents, in)
				}
			}
			movedFrom = sb.MovedFrom
		}
		s.PutBlock(state.Block{Address: b.Address, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
			AppliedAt: a.e.opts.Now().UTC(), Status: status, DependsOn: b.DependsOn, Intents: intents, MovedFrom: movedFrom})
	})
}

// recordIntents writes to the state, before the apply of block b, the
// objects it is about to write that the state does not list, so that an
// apply killed before recording them leaves a trace: the next plan prunes
// those no longer rendered and records the others (see previousObjects).
// A block applied for the first time is recorded with StatusFailed until
// the apply records its outcome.
func (a *applier) recordIntents(b *plan.Block, cs *kube.ChangeSet) error {
	a.mu.Lock()
	sb, known := a.snap.Block(b.Address)
	have := map[string]bool{}
	for _, in := range sb.Intents {
		have[in.Address(b.Address)] = true
	}
	var add []state.Intent
	for _, c := range cs.Changes {
		switch c.Action {
		case kube.ActionNoop, kube.ActionDelete, kube.ActionForget:
			continue
		}
		addr := c.Ref.Address(b.Address)
		if _, ok := a.snap.Object(addr); ok || have[addr] {
			continue
		}
		have[addr] = true
		add = append(add, state.Intent{Group: c.Ref.Group, Version: c.Ref.Version, Kind: c.Ref.Kind, Namespace: c.Ref.Namespace, Name: c.Ref.Name})
	}
	a.mu.Unlock()
	if len(add) == 0 {
		return nil
	}
	return a.record(func(s *state.Snapshot) {
		if !known {
			sb = state.Block{Address: b.Address, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
				AppliedAt: a.e.opts.Now().UTC(), Status: state.StatusFailed, DependsOn: b.DependsOn}
		}
		sb.Intents = append(slices.Clone(sb.Intents), add...)
		s.PutBlock(sb)
	})
}

// upToDate reports whether the state already records block b exactly as
// the plan leaves it, so that an unchanged block costs no state write.
func (a *applier) upToDate(b *plan.Block, cs *kube.ChangeSet) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	sb, ok := a.snap.Block(b.Address)
	if !ok || sb.Status != state.StatusApplied || sb.ConfigDigest != b.ConfigDigest || sb.Revision != b.Revision {
		return false
	}
	if len(sb.Intents) > 0 || len(sb.MovedFrom) > 0 {
		return false
	}
	have := a.snap.BlockObjects(b.Address)
	n := 0
	for _, c := range cs.Changes {
		if c.Action == kube.ActionDelete || c.Action == kube.ActionForget {
			return false
		}
		o, ok := a.snap.Object(c.Ref.Address(b.Address))
		if !ok || o.Digest != kube.Digest(c.Desired) {
			return false
		}
		n++
	}
	return n == len(have)
}

func stateObject(block string, r kube.ObjectRef) state.Object {
	return state.Object{Block: block, Group: r.Group, Version: r.Version, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
		Address: state.ObjectAddress(block, r.Group, r.Kind, r.Namespace, r.Name)}
}

// checkLive refuses a saved plan when an object it changes is no longer as
// it was when the plan was made.
func (e *Engine) checkLive(ctx context.Context, mgr Kube, p *plan.Plan) error {
	var stale []string
	for i := range p.Changes {
		rc := &p.Changes[i]
		if rc.Actions.IsNoOp() || rc.Actions.Is(plan.Forget) {
			continue // a forget does not touch the object
		}
		gv, err := schema.ParseGroupVersion(rc.APIVersion)
		if err != nil {
			return err
		}
		mapping, err := mgr.Mapping(ctx, gv.WithKind(rc.Kind))
		if err != nil && rc.SchemaOnly {
			// A version its planned CRD adds: read it in a served one.
			mapping, err = mgr.Mapping(ctx, schema.GroupVersionKind{Group: gv.Group, Kind: rc.Kind})
		}
		if err != nil {
			if rc.LiveResourceVersion == "" {
				continue // a kind that a CRD of the plan creates
			}
			return fmt.Errorf("%s: %w", rc.Address, err)
		}
		live, err := mgr.Get(ctx, mapping.Resource, rc.Namespace, rc.Name)
		switch {
		case apierrors.IsNotFound(err):
			if rc.LiveResourceVersion != "" && !rc.Actions.Is(plan.Delete) {
				stale = append(stale, rc.Address+" was deleted from the cluster")
			}
		case err != nil:
			return fmt.Errorf("%s: %w", rc.Address, err)
		case rc.LiveResourceVersion == "":
			stale = append(stale, rc.Address+" was created in the cluster")
		case live.GetResourceVersion() != rc.LiveResourceVersion && rc.LiveDigest != "" &&
			string(live.GetUID()) == rc.LiveUID && kube.LiveDigest(live) == rc.LiveDigest:
			// Only status or server bookkeeping moved (a controller at
			// work): the plan still holds. Apply against this version.
			rc.LiveResourceVersion = live.GetResourceVersion()
		case live.GetResourceVersion() != rc.LiveResourceVersion:
			stale = append(stale, fmt.Sprintf("%s was changed in the cluster (resourceVersion %s, now %s)",
				rc.Address, rc.LiveResourceVersion, live.GetResourceVersion()))
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("%w: since the plan was made, %s; run strata plan again", ErrStalePlan, strings.Join(stale, "; "))
	}
	return nil
}
