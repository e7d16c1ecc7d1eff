package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/strata-gitops/strata/internal/addrs"
)

// DefaultParallelism is how many nodes Walk visits at once by default.
const DefaultParallelism = 4

// WalkOptions configure Walk.
type WalkOptions struct {
	// Parallelism bounds how many visits run at once; 0 means
	// DefaultParallelism.
	Parallelism int
	// Reverse visits dependents before their dependencies (destroy).
	Reverse bool
}

// VisitFunc does the work of one node. It must honour ctx.
type VisitFunc func(ctx context.Context, addr addrs.Block) error

// Status is the outcome of one node in a walk.
type Status int

// Node outcomes.
const (
	// StatusSucceeded: the visit returned nil.
	StatusSucceeded Status = iota + 1
	// StatusFailed: the visit returned an error.
	StatusFailed
	// StatusSkipped: a node it waits for failed or was skipped.
	StatusSkipped
	// StatusCanceled: the context ended before the node started.
	StatusCanceled
)

// String returns the status in lower case, e.g. "skipped".
func (s Status) String() string {
	switch s {
	case StatusSucceeded:
		return "succeeded"
	case StatusFailed:
		return "failed"
	case StatusSkipped:
		return "skipped"
	case StatusCanceled:
		return "canceled"
	}
	return "unknown"
}

// NodeResult is the outcome of one node.
type NodeResult struct {
	Addr   addrs.Block
	Status Status
	// Err is the visit's error (failed), a *SkippedError (skipped) or the
	// context's error (canceled).
	Err error
}

// SkippedError says why a node was not visited.
type SkippedError struct {
	Addr addrs.Block
	// Because is the node that failed (possibly several steps away).
	Because addrs.Block
	// Reverse is true for destroy walks, where dependents come first.
	Reverse bool
}

// Error says which node was skipped and which failure caused it.
func (e *SkippedError) Error() string {
	rel := "dependency"
	if e.Reverse {
		rel = "dependent"
	}
	return fmt.Sprintf("%s skipped: %s %s failed", e.Addr, rel, e.Because)
}

// WalkResult holds the outcome of every node.
type WalkResult struct {
	// Results in the order the nodes finished (skipped and canceled ones
	// when that was decided).
	Results []NodeResult
}

// Status returns the outcome of addr (zero if it was not in the graph).
func (r *WalkResult) Status(addr addrs.Block) NodeResult {
	for _, n := range r.Results {
		if n.Addr == addr {
			return n
		}
	}
	return NodeResult{}
}

// Err joins the errors of failed nodes, or returns nil when none failed
// and none was canceled.
func (r *WalkResult) Err() error {
	var errs []error
	canceled := 0
	var ctxErr error
	for _, n := range r.Results {
		switch n.Status {
		case StatusFailed:
			errs = append(errs, fmt.Errorf("%s: %w", n.Addr, n.Err))
		case StatusCanceled:
			canceled++
			ctxErr = n.Err
		}
	}
	if canceled > 0 {
		errs = append(errs, fmt.Errorf("%d blocks not started: %w", canceled, ctxErr))
	}
	return errors.Join(errs...)
}

// Walk visits every node, dependencies first (dependents first with
// Reverse), at most Parallelism at once. A failed node skips every node
// that waits for it, transitively; other nodes keep going. When ctx ends,
// nodes not yet started are canceled and Walk waits for running visits to
// return. Walk must not be called on a graph with cycles: nodes on a cycle
// are never ready and are reported as skipped because of themselves.
func (g *Graph) Walk(ctx context.Context, opts WalkOptions, visit VisitFunc) *WalkResult {
	par := opts.Parallelism
	if par <= 0 {
		par = DefaultParallelism
	}
	waitsFor, unblocks := g.deps, g.rdeps
	if opts.Reverse {
		waitsFor, unblocks = g.rdeps, g.deps
	}
	n := len(g.nodes)
	pending := make([]int, n)
	done := make([]bool, n)
	for i := range pending {
		pending[i] = len(waitsFor[i])
	}
	res := &WalkResult{Results: make([]NodeResult, 0, n)}
	finish := func(i int, st Status, err error) {
		done[i] = true
		res.Results = append(res.Results, NodeResult{Addr: g.nodes[i], Status: st, Err: err})
	}
	// skipFrom marks every node waiting on i, transitively, as skipped.
	skipFrom := func(i int) {
		stack := []int{i}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, j := range unblocks[x] {
				if done[j] {
					continue
				}
				finish(j, StatusSkipped, &SkippedError{Addr: g.nodes[j], Because: g.nodes[i], Reverse: opts.Reverse})
				stack = append(stack, j)
			}
		}
	}

	ready := &intHeap{}
	for i, p := range pending {
		if p == 0 {
			ready.push(i)
		}
	}
	type outcome struct {
		i   int
		err error
	}
	results := make(chan outcome)
	running := 0
	for {
		for running < par && ready.len() > 0 && ctx.Err() == nil {
			i := ready.pop()
			if done[i] {
				continue
			}
			running++
			go func(i int) {
				results <- outcome{i: i, err: safeVisit(ctx, visit, g.nodes[i])}
			}(i)
		}
		if running == 0 {
			break
		}
		o := <-results
		running--
		if o.err != nil {
			finish(o.i, StatusFailed, o.err)
			skipFrom(o.i)
			continue
		}
		finish(o.i, StatusSucceeded, nil)
		for _, j := range unblocks[o.i] {
			pending[j]--
			if pending[j] == 0 && !done[j] {
				ready.push(j)
			}
		}
	}
	for i := range g.nodes {
		if done[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			finish(i, StatusCanceled, err)
		} else {
			finish(i, StatusSkipped, &SkippedError{Addr: g.nodes[i], Because: g.nodes[i], Reverse: opts.Reverse})
		}
	}
	return res
}

// safeVisit turns a panic in visit into an error so that one bad node
// cannot take the walk down with it.
func safeVisit(ctx context.Context, visit VisitFunc, a addrs.Block) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while visiting %s: %v", a, r)
		}
	}()
	return visit(ctx, a)
}

// String renders the results one per line, for logs and tests.
func (r *WalkResult) String() string {
	var b strings.Builder
	for _, n := range r.Results {
		fmt.Fprintf(&b, "%s %s", n.Addr, n.Status)
		if n.Err != nil {
			fmt.Fprintf(&b, ": %v", n.Err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
