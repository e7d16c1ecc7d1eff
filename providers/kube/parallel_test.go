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
// forEach returns ctx's error, not the calls' errors.
func TestForEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	err := forEach(ctx, 100, 2, func(ctx context.Context, i int) error {
		if calls.Add(1) == 5 {
			cancel()
		}
		return errors.New("failed")
	})
	if !errors.Is(err, context.Canceled) || err.Error() != context.Canceled.Error() {
		t.Errorf("error = %v, want only context.Canceled", err)
	}
	if got := calls.Load(); got > 6 {
		t.Errorf("%d calls ran, want none to start after the cancel (at most 6)", got)
	}
}
