package kube

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
)

// forEach runs fn(i) for i in [0, n) with at most conc calls at a time. It
// runs every call (a failure does not stop the others, so that all failures
// can be reported) unless ctx is cancelled, and returns the errors joined in
// index order. Once ctx is done no further call starts, and forEach returns
// ctx's error after the running calls have returned.
func forEach(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	errs := make([]error, n)
	var g errgroup.Group
	g.SetLimit(conc)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() == nil {
				errs[i] = fn(ctx, i)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// emit sends e on events unless events is nil or ctx is done.
func emit(ctx context.Context, events chan<- Event, e Event) {
	if events == nil {
		return
	}
	select {
	case events <- e:
	case <-ctx.Done():
	}
}
