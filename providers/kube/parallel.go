package kube

import (
	"context"
	"errors"
	"sync"
)

// forEach runs fn(i) for i in [0, n) with at most conc calls at a time. It
// runs every call (a failure does not stop the others, so that all failures
// can be reported) unless ctx is cancelled, and returns the errors joined in
// index order.
func forEach(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	if conc > n {
		conc = n
	}
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(ctx, i)
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
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
