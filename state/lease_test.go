package state_test

import (
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
