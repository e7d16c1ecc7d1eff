package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/state"
)

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
	// AllowFluxManaged applies a plan that adopts objects or releases from
	// a Flux Kustomization or HelmRelease that is not suspended
	// (ErrFluxManaged otherwise).
	AllowFluxManaged bool
	// ApprovedPolicies are the approval policies a human approved
	// (--approve-policy, or yes at the prompt): a plan that violates any
	// other approval policy is refused, as is one that violates a
	// mandatory policy.
	ApprovedPolicies []string
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
// Apply releases what it no longer needs of p as it goes: the rendered
// objects of each kustomization it applied, and the objects and field
// diffs of that block's changes (Before, After, Diff); p's blocks and
// changes stay otherwise as they were.
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
	if err := checkPolicies(p, opts.ApprovedPolicies); err != nil {
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
	if err := checkState(p, snap); err != nil {
		return nil, err
	}
	prov, err := e.connectCluster()
	if err != nil {
		return nil, err
	}
	if err := e.checkFlux(ctx, p, opts, prov); err != nil {
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
	a.changes = changesByBlock(p)
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
	if len(a.res.Failed) > 0 || herr != nil {
		// The failures first: a history write that failed too (an API
		// server gone mid-apply also takes the kubernetes backend's state
		// with it) is their consequence, not their cause.
		var errs []error
		for _, n := range keys(a.res.Failed) {
			errs = append(errs, fmt.Errorf("%s: %w", n, a.res.Failed[n]))
		}
		if herr != nil {
			errs = append(errs, fmt.Errorf("record history: %w", herr))
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
	// changes indexes p.Changes by block address, so that each block
	// takes its own changes without a pass over the whole plan.
	changes map[string][]int

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
		a.release(b)
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
	if err != nil && !errors.Is(err, state.ErrLockLost) {
		// What failed after the loss failed because of it (a write the
		// guard refused, a request cancelled), whatever the provider's
		// error says: Helm does not keep the cause of a failed uninstall.
		if lerr := a.e.lock.check(); lerr != nil {
			err = fmt.Errorf("stopped, %w: %w", lerr, err)
		}
	}
	ev := Event{Type: BlockDone, Block: addr, Elapsed: time.Since(start), Added: added, Changed: changed, Destroyed: destroyed}
	if err != nil {
		ev.Type, ev.Err = BlockFailed, err
	}
	a.e.emit(ev)
	return err
}

// release drops what the apply of kustomization b no longer needs of the
// plan once b is done: its rendered objects and, of each of its changes,
// the objects before and after and the field diff (the plan's summary,
// the actions and addresses, stays). A 50,000-object apply held some
// 180 MB of them until its end, which the collector scanned again and
// again; the blocks still to apply hold theirs.
func (a *applier) release(b *plan.Block) {
	b.Objects = nil
	for _, i := range a.changes[b.Address] {
		rc := &a.p.Changes[i]
		rc.Before, rc.After, rc.Diff = nil, nil, nil
	}
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

// changesByBlock maps each block address to the indexes of its changes in
// p.Changes, in plan order.
func changesByBlock(p *plan.Plan) map[string][]int {
	m := make(map[string][]int, len(p.Blocks))
	for i := range p.Changes {
		m[p.Changes[i].Block] = append(m[p.Changes[i].Block], i)
	}
	return m
}
