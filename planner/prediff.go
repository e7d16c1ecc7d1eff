package planner

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// kustomizationDiff is the render and diff of one kustomization, made by
// prediff ahead of the plan's pass over the blocks or in it.
type kustomizationDiff struct {
	// objs are the rendered objects, released (nil) once diffed: the
	// change set holds them, prepared in place (kube.DiffOptions.InPlace),
	// as the plan needs them, and rendered
	// what the plan's check of the blocks' order needs.
	objs     []*unstructured.Unstructured
	rendered *renderedSet
	revision string
	mgr      Kube
	err      error // of the source, the render or the client
	diffed   bool
	cs       *kube.ChangeSet
	former   []string
	diffErr  error
}

// renderForPlan fetches k's source (if any), connects the client of its
// service account, starts the lists of the objects snap records for k
// (kube.Manager.StartPrefetch) and renders k.
func (e *Engine) renderForPlan(ctx context.Context, snap *state.Snapshot, k *config.Kustomization) *kustomizationDiff {
	addr := k.Address().String()
	d := &kustomizationDiff{}
	root := e.dir
	if k.Source != nil {
		art, err := e.artifact(k.Source)
		if err != nil {
			d.err = fmt.Errorf("%s: %w", addr, err)
			return d
		}
		root, d.revision = art.Dir, art.Revision
	}
	// The client first, so that the lists of the objects the state
	// records for k start while k renders (errors as before: the
	// render's first).
	mgr, connErr := e.kubeFor(k)
	if connErr == nil {
		e.startPrefetch(ctx, snap, mgr, addr)
	}
	if d.objs, d.err = e.render(ctx, k, root); d.err != nil {
		d.err = kustomizationError(k, d.err)
		return d
	}
	d.rendered = newRenderedSet(d.objs)
	d.mgr, d.err = mgr, connErr
	return d
}

// kubeFor connects the client of k's service account.
func (e *Engine) kubeFor(k *config.Kustomization) (Kube, error) {
	prov, err := e.connectCluster()
	if err != nil {
		return nil, err
	}
	mgr, err := prov.Kube(k.ServiceAccount)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.Address(), err)
	}
	return mgr, nil
}

// earlyPrefetcher is the Kube that can start a block's lists early
// (kube.Manager.StartPrefetch).
type earlyPrefetcher interface {
	StartPrefetch(ctx context.Context, s *kube.SharedReads, refs []kube.ObjectRef, stack string)
}

// startPrefetch starts the plan's shared lists of the objects that snap
// records for the block addr, when mgr can.
func (e *Engine) startPrefetch(ctx context.Context, snap *state.Snapshot, mgr Kube, addr string) {
	ep, ok := mgr.(earlyPrefetcher)
	if !ok || snap == nil || e.reads == nil {
		return
	}
	if recorded, _ := previousObjects(snap, addr); len(recorded) >= 2 {
		ep.StartPrefetch(ctx, e.reads, recorded, e.owner(addr).Stack)
	}
}

// diffKustomization diffs the rendered objects of d against the cluster,
// with the CRDs and namespaces k's dependencies plan.
func (e *Engine) diffKustomization(ctx context.Context, snap *state.Snapshot, k *config.Kustomization, d *kustomizationDiff,
	crds []kube.PlannedCRD, namespaces map[string]string) {
	addr := k.Address().String()
	previous, intents := previousObjects(snap, addr)
	owner := e.owner(addr)
	sb, _ := snap.Block(addr)
	d.diffed = true
	d.cs, d.former, d.diffErr = diffBlock(ctx, d.mgr, snap, d.objs, kube.DiffOptions{Stack: owner.Stack, StackID: owner.StackID, Block: addr,
		FormerBlocks: sb.MovedFrom, Previous: previous, Intents: intents, Prune: k.Prune, CRDs: crds, Namespaces: namespaces, Shared: e.reads,
		InPlace: true}) // d.objs are dropped here: no copy of them
	d.objs = nil
	if d.diffErr != nil {
		d.diffErr = fmt.Errorf("%s: %w", addr, d.diffErr)
	}
}

// prediff starts rendering and diffing, Options.Parallelism at a time and
// each after the blocks it depends on, the selected kustomizations that
// prediffable accepts, so that a stack of many kustomizations does not wait
// for one block's requests after the other. The plan's pass over the blocks
// takes these results (prediffs.take) in its own order, as each is ready,
// where it checks what other blocks create and writes the plan's entries,
// so that the plan is the same as when every block is rendered and diffed
// in that pass. The pass runs beside the walk instead of after it: each
// block's change set goes into the plan (and its rendered objects are
// released) while the next ones are diffed, instead of the change sets of
// the whole stack being held at once (a 50,000-object plan held some
// 100 MB more of them at its peak, which the collector scanned again and
// again). Any error is left to that pass: it meets it in the same place (a
// kustomization whose dependency failed here is not diffed ahead). The
// caller must call stop when done with the results.
func (e *Engine) prediff(ctx context.Context, snap *state.Snapshot, selected []config.Block, g *graph.Graph) *prediffs {
	todo := prediffable(selected, g)
	if len(todo) < 2 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	pd := &prediffs{out: map[config.Address]*kustomizationDiff{}, ready: make(map[config.Address]chan struct{}, len(todo)),
		done: make(chan struct{}), cancel: cancel}
	for a := range todo {
		pd.ready[a] = make(chan struct{})
	}
	up := newUpcoming(g)
	go func() {
		defer close(pd.done)
		g.Walk(ctx, graph.WalkOptions{Parallelism: e.opts.Parallelism}, func(ctx context.Context, a config.Address) error {
			k, ok := todo[a]
			if !ok {
				return nil
			}
			defer close(pd.ready[a])
			d := e.renderForPlan(ctx, snap, k)
			pd.mu.Lock()
			pd.out[a] = d
			crds, namespaces := up.upstream(a)
			pd.mu.Unlock()
			if d.err != nil {
				return d.err
			}
			e.diffKustomization(ctx, snap, k, d, crds, namespaces)
			if d.diffErr != nil {
				return d.diffErr
			}
			pd.mu.Lock()
			up.record(a.String(), d.cs.Changes)
			pd.mu.Unlock()
			return nil
		})
	}()
	return pd
}

// prediffs are the renders and diffs that prediff makes in the background.
type prediffs struct {
	mu     sync.Mutex
	out    map[config.Address]*kustomizationDiff
	ready  map[config.Address]chan struct{} // closed when the block's visit ends
	done   chan struct{}                    // closed when the walk ends
	cancel context.CancelFunc
}

// take waits until prediff is done with block a and returns its render and
// diff, nil when prediff made none (a block it does not take, or one whose
// dependency failed: for those it waits until the whole walk ended, so
// that the pass renders and diffs them alone, as before). A nil pd returns
// nil at once. Each result is handed out once and then released.
func (pd *prediffs) take(a config.Address) *kustomizationDiff {
	if pd == nil {
		return nil
	}
	if ch, ok := pd.ready[a]; ok {
		select {
		case <-ch:
		case <-pd.done:
		}
	} else {
		<-pd.done
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	d := pd.out[a]
	delete(pd.out, a)
	return d
}

// stop cancels what the walk has not done yet and waits until it ended.
// A nil pd returns at once.
func (pd *prediffs) stop() {
	if pd == nil {
		return
	}
	pd.cancel()
	<-pd.done
}

// prediffable returns the selected kustomizations that prediff may render
// and diff ahead: those of the stack's own tree (no source to fetch),
// without decryption and not suspended, whose dependencies are all such
// kustomizations (a release or a source upstream is planned in the plan's
// pass only, and what it creates is known there only).
func prediffable(selected []config.Block, g *graph.Graph) map[config.Address]*config.Kustomization {
	plain := map[config.Address]*config.Kustomization{}
	for _, b := range selected {
		if k, ok := b.(*config.Kustomization); ok && k.Source == nil && k.Decryption == nil && !k.Suspend {
			plain[k.Address()] = k
		}
	}
	out := map[config.Address]*config.Kustomization{}
	for a, k := range plain {
		ok := true
		for _, anc := range g.Ancestors(a) {
			if plain[anc] == nil {
				ok = false
				break
			}
		}
		if ok {
			out[a] = k
		}
	}
	return out
}
