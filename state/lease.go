package state

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Lease tells a run whether the lock it took with Store.Lock is still
// held, so that it changes the cluster only while it is. Held and Lost do
// no I/O: they report what the store last learnt (the kubernetes backend
// renews its Lease in the background). Implementations are safe for
// concurrent use.
type Lease interface {
	// Held returns nil while the lock is known to be held, and otherwise
	// an error that wraps ErrLockLost and says why. Once it returned an
	// error it returns the same error for good.
	Held() error
	// Lost returns a channel that is closed once the lock is known to be
	// lost; Held then returns the reason.
	Lost() <-chan struct{}
}

// Tracker is a Lease that a backend keeps up to date: the lock counts as
// held until Lose, and, when the tracker has a validity, only until that
// long after the last Renewed. It is safe for concurrent use.
type Tracker struct {
	id       string
	now      func() time.Time
	validFor time.Duration // 0: no deadline

	mu      sync.Mutex
	renewed time.Time // when the last renewal was sent, by now
	lastErr error     // the last failed renewal, cleared by Renewed
	err     error     // why the lock is lost; nil while held
	lost    chan struct{}
}

var _ Lease = (*Tracker)(nil)

// NewTracker returns a held Tracker for lock id that counts as held for
// validFor after each renewal (forever when validFor is 0), measured with
// now, which should read a monotonic clock (time.Now does). The lock
// counts as renewed at the time of the call.
func NewTracker(id string, now func() time.Time, validFor time.Duration) *Tracker {
	return &Tracker{id: id, now: now, validFor: validFor, renewed: now(), lost: make(chan struct{})}
}

// LostTracker returns a Tracker for lock id that is already lost, for
// reason.
func LostTracker(id, reason string) *Tracker {
	t := &Tracker{id: id, now: time.Now, lost: make(chan struct{})}
	t.Lose(reason)
	return t
}

// Held implements Lease. A lock whose validity ran out since its last
// renewal is lost from then on, even if a late renewal succeeds: the run
// cannot know what happened meanwhile.
func (t *Tracker) Held() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil && t.validFor > 0 {
		if since := t.now().Sub(t.renewed); since >= t.validFor {
			reason := fmt.Sprintf("was not renewed for %s (a renewal holds it for %s)", since.Round(time.Millisecond), t.validFor)
			if t.lastErr != nil {
				reason += fmt.Sprintf(", last renewal error: %v", t.lastErr)
			}
			t.loseLocked(reason)
		}
	}
	return t.err
}

// Lost implements Lease.
func (t *Tracker) Lost() <-chan struct{} { return t.lost }

// Renewed records a successful renewal sent at the time at (read with the
// tracker's clock before sending it). It does nothing once the lock is
// lost.
func (t *Tracker) Renewed(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil && at.After(t.renewed) {
		t.renewed, t.lastErr = at, nil
	}
}

// RenewFailed records a failed renewal; the lock stays held until its
// validity runs out, and the error is part of the reason then. A failure
// that ends after the validity ran out does not replace an earlier one: an
// attempt bounded by the validity (as the kubernetes backend's are) then
// fails with its own deadline, which says only that it came too late, not
// why the renewals failed.
func (t *Tracker) RenewFailed(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lastErr != nil && t.validFor > 0 && t.now().Sub(t.renewed) >= t.validFor {
		return
	}
	t.lastErr = err
}

// Left returns how long the lock counts as held without another renewal:
// 0 once it is lost, and the largest duration for a tracker without
// validity.
func (t *Tracker) Left() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.err != nil:
		return 0
	case t.validFor == 0:
		return math.MaxInt64
	}
	return max(t.renewed.Add(t.validFor).Sub(t.now()), 0)
}

// Lose marks the lock lost for reason, which is phrased to follow "lock
// ID ", e.g. "was released". Later calls do nothing.
func (t *Tracker) Lose(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loseLocked(reason)
}

func (t *Tracker) loseLocked(reason string) {
	if t.err != nil {
		return
	}
	t.err = fmt.Errorf("lock %s %s: %w", t.id, reason, ErrLockLost)
	close(t.lost)
}

// Leases holds the Trackers of the locks one store took. The zero value
// is ready to use; it is safe for concurrent use.
type Leases struct {
	mu sync.Mutex
	m  map[string]*Tracker
}

// Add keeps t as the tracker of its lock.
func (l *Leases) Add(t *Tracker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*Tracker{}
	}
	l.m[t.id] = t
}

// Get returns the tracker of lock id, or a lost one when there is none.
func (l *Leases) Get(id string) *Tracker {
	l.mu.Lock()
	t := l.m[id]
	l.mu.Unlock()
	if t == nil {
		return LostTracker(id, "was not taken by this store, or was released")
	}
	return t
}

// Lose marks lock id lost for reason and forgets it; unknown IDs are
// ignored.
func (l *Leases) Lose(id, reason string) {
	l.mu.Lock()
	t := l.m[id]
	delete(l.m, id)
	l.mu.Unlock()
	if t != nil {
		t.Lose(reason)
	}
}
