package planner

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/state"
)

// While the engine holds the state lock, every request of its cluster
// clients that can change the cluster (any method but GET, HEAD and
// OPTIONS, unless it is a server-side dry run) is sent only after the
// lock's lease was checked, with its margin, right before it: once the
// lease is lost, no request leaves the process. This covers what the
// engine writes itself (apply batches, prunes, replacements) and what Helm
// writes for it (install, upgrade, rollback, uninstall, hooks, its release
// records). Apply also stops at once: its context is cancelled with the
// loss as the cause, and no further block starts.

// lockGuard is the engine's view of the state lock it holds.
type lockGuard struct {
	mu    sync.Mutex
	lease state.Lease // nil while the engine holds no lock
}

// hold makes l the lease that check consults; nil stops checking.
func (g *lockGuard) hold(l state.Lease) {
	g.mu.Lock()
	g.lease = l
	g.mu.Unlock()
}

func (g *lockGuard) current() state.Lease {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lease
}

// check returns nil while the engine holds no lock or knows it holds it,
// and otherwise an error that wraps state.ErrLockLost.
func (g *lockGuard) check() error {
	l := g.current()
	if l == nil {
		return nil
	}
	if err := l.Held(); err != nil {
		return fmt.Errorf("the state lock was lost: %w", err)
	}
	return nil
}

// stopOnLoss returns ctx cancelled, with check's error as the cause, as
// soon as the lease of the lock is lost, and a function that releases it.
// onLoss is called once when that happens, at the latest from the release
// function.
func (g *lockGuard) stopOnLoss(ctx context.Context, onLoss func(error)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	l := g.current()
	if l == nil {
		return ctx, func() { cancel(nil) }
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	lost := func() {
		err := g.check()
		onLoss(err)
		cancel(err)
	}
	wg.Go(func() {
		select {
		case <-l.Lost():
			lost()
		case <-done:
			select {
			case <-l.Lost(): // lost by the end: still say so
				lost()
			default:
			}
		}
	})
	return ctx, func() { close(done); wg.Wait(); cancel(nil) }
}

// guarded returns a copy of cfg whose requests that can change the
// cluster fail, without being sent, when check returns an error.
func guarded(cfg *rest.Config, check func() error) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &guardTransport{next: rt, check: check} })
	return c
}

// guardTransport is the http.RoundTripper of guarded.
type guardTransport struct {
	next  http.RoundTripper
	check func() error
}

func (t *guardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if changesCluster(r) {
		if err := t.check(); err != nil {
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, err
		}
	}
	return t.next.RoundTrip(r)
}

// changesCluster reports whether r may change the cluster: any method but
// GET, HEAD and OPTIONS, unless it is a server-side dry run.
func changesCluster(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return r.URL.Query().Get("dryRun") == ""
}
