package kube

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// TestForEach pins forEach's semantics: every call runs even when some
// fail, at most conc at once, and the errors come back joined in index
// order.
func TestForEach(t *testing.T) {
	const n, conc = 40, 3
	var running, peak, calls atomic.Int32
	err := forEach(context.Background(), n, conc, func(_ context.Context, i int) error {
		calls.Add(1)
		r := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		if i%10 == 9 {
			return fmt.Errorf("call %d", i)
		}
		return nil
	})
	if got := calls.Load(); got != n {
		t.Errorf("ran %d calls, want %d", got, n)
	}
	if p := peak.Load(); p > conc {
		t.Errorf("%d calls ran at once, want at most %d", p, conc)
	}
	if err == nil || err.Error() != "call 9\ncall 19\ncall 29\ncall 39" {
		t.Errorf("error = %v, want the four failures in index order", err)
	}
	if err := forEach(context.Background(), 0, conc, nil); err != nil {
		t.Errorf("no calls: error = %v", err)
	}
}

// TestForEachCancelled: once ctx is done no further call starts and
// forEach returns ctx's error, not the calls' errors. A call that checked
// ctx before the cancel may still start after it: at most one per slot
// other than the cancelling call's (conc - 1). Counting calls instead (at
// most 6 of 100) failed when the cancelling call was descheduled before
// its cancel while the other slot went on.
func TestForEachCancelled(t *testing.T) {
	const conc = 2
	ctx, cancel := context.WithCancel(context.Background())
	var calls, late atomic.Int32 // calls started, and started after the cancel
	var cancelled atomic.Bool
	err := forEach(ctx, 100, conc, func(ctx context.Context, i int) error {
		if cancelled.Load() {
			late.Add(1)
		}
		if calls.Add(1) == 5 {
			cancel()
			cancelled.Store(true)
		}
		return errors.New("failed")
	})
	if !errors.Is(err, context.Canceled) || err.Error() != context.Canceled.Error() {
		t.Errorf("error = %v, want only context.Canceled", err)
	}
	if got := late.Load(); got > conc-1 {
		t.Errorf("%d calls started after the cancel, want at most %d (none after the calls in flight)", got, conc-1)
	}
}
