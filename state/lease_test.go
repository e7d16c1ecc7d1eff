package state_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-gitops/strata/state"
)

// testClock is a clock that a test moves forward by hand.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// TestTrackerExpiry: a lock counts as held for the validity after its last
// renewal and is lost for good after that, with the last renewal error in
// the reason; a late renewal does not bring it back.
func TestTrackerExpiry(t *testing.T) {
	var clock testClock
	tr := state.NewTracker("lock-1", clock.now, 10*time.Second)
	if err := tr.Held(); err != nil {
		t.Fatalf("new tracker: %v", err)
	}
	clock.advance(8 * time.Second)
	tr.Renewed(clock.now())
	clock.advance(8 * time.Second)
	if err := tr.Held(); err != nil {
		t.Fatalf("8s after a renewal, validity 10s: %v", err)
	}
	if left := tr.Left(); left <= 0 || left > 2*time.Second {
		t.Errorf("Left() = %s, want about 2s", left)
	}
	tr.RenewFailed(errors.New("connection refused"))
	clock.advance(3 * time.Second)
	err := tr.Held()
	if !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("11s after the last renewal: got %v, want ErrLockLost", err)
	}
	for _, want := range []string{"lock-1", "not renewed", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	select {
	case <-tr.Lost():
	default:
		t.Error("Lost() is not closed")
	}
	tr.Renewed(clock.now())
	if err := tr.Held(); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("after a late renewal: got %v, want the lock still lost", err)
	}
}

// TestTrackerKeepsTheCauseOfExpiry: a renewal attempt that fails after the
// validity ran out (its deadline was the expiry) does not hide the error of
// the failures before it; without an earlier error it is the reason.
func TestTrackerKeepsTheCauseOfExpiry(t *testing.T) {
	var clock testClock
	tr := state.NewTracker("lock-1", clock.now, 2*time.Second)
	clock.advance(time.Second)
	tr.RenewFailed(errors.New("etcdserver: request timed out"))
	clock.advance(time.Second) // the next attempt ran until the expiry
	tr.RenewFailed(context.DeadlineExceeded)
	if err := tr.Held(); err == nil || !strings.Contains(err.Error(), "etcdserver: request timed out") {
		t.Errorf("Held() = %v, want the renewal error from before the expiry", err)
	}

	slow := state.NewTracker("lock-2", clock.now, 2*time.Second)
	clock.advance(2 * time.Second)
	slow.RenewFailed(context.DeadlineExceeded)
	if err := slow.Held(); err == nil || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		t.Errorf("Held() = %v, want the deadline of the only attempt", err)
	}

	early := state.NewTracker("lock-3", clock.now, 2*time.Second)
	early.RenewFailed(errors.New("connection refused"))
	clock.advance(time.Second)
	early.RenewFailed(errors.New("etcdserver: leader changed"))
	clock.advance(time.Second)
	if err := early.Held(); err == nil || !strings.Contains(err.Error(), "leader changed") {
		t.Errorf("Held() = %v, want the last error before the expiry", err)
	}
}

// TestTrackerLose: Lose ends the lease at once with its reason; the first
// reason stays.
func TestTrackerLose(t *testing.T) {
	tr := state.NewTracker("lock-2", time.Now, 0)
	if tr.Left() <= time.Hour {
		t.Errorf("Left() of a lease without validity = %s, want unbounded", tr.Left())
	}
	tr.Lose("was released by another process (force-unlock)")
	tr.Lose("was released")
	err := tr.Held()
	if !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "force-unlock") {
		t.Errorf("Held() = %v, want ErrLockLost with the first reason", err)
	}
	var ls state.Leases
	if err := ls.Get("unknown").Held(); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("lease of an unknown lock: got %v, want ErrLockLost", err)
	}
}
