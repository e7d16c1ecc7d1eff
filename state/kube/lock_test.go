package kube_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcoordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/kube"
)

// skewed returns a clock that runs d ahead of this host's (behind for a
// negative d).
func skewed(d time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(d) }
}

// TestSkewedClocks: expiry never compares one host's clock with another's
// RenewTime. An observer whose clock runs two hours ahead does not take
// (or report free) the lock of a live holder, nor does an observer two
// hours behind a holder whose clock is. A holder that stops renewing is
// still taken over, once the observer has seen its Lease unchanged for the
// lease duration on its own clock.
func TestSkewedClocks(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-skew")
	ctx := t.Context()
	const lease = 2 * time.Second
	for name, tc := range map[string]struct{ holder, observer time.Duration }{
		"observer ahead": {0, 2 * time.Hour},
		"holder behind":  {-2 * time.Hour, 0},
	} {
		t.Run(name, func(t *testing.T) {
			stateName := testcluster.UniqueName("skew")
			openWith := func(skew time.Duration) *kube.Store {
				s, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: stateName,
					LeaseDuration: lease, RenewInterval: lease / 4, Now: skewed(skew)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			holder, observer := openWith(tc.holder), openWith(tc.observer)
			id, err := holder.Lock(ctx, state.LockInfo{Operation: "apply", Who: "holder@ci"})
			if err != nil {
				t.Fatal(err)
			}
			// Longer than the lease: the holder renews all along.
			if _, err := state.LockWait(ctx, observer, state.LockInfo{Operation: "apply", Who: "observer@ci"}, 2*lease); !errors.Is(err, state.ErrLocked) {
				t.Fatalf("Lock of a live holder's lock by a skewed observer: got %v, want ErrLocked", err)
			}
			if st, err := observer.LockStatus(ctx); err != nil || st == nil || st.ID != id {
				t.Errorf("LockStatus() of a live holder's lock = %v, %v; want lock %s", st, err, id)
			}
			if err := holder.Lease(id).Held(); err != nil {
				t.Errorf("the live holder's lease: %v", err)
			}

			holder.Close() // stops renewing, as a crashed holder would
			if err := holder.Lease(id).Held(); !errors.Is(err, state.ErrLockLost) {
				t.Errorf("lease after the holder stopped renewing: got %v, want ErrLockLost", err)
			}
			start := time.Now()
			if _, err := state.LockWait(ctx, observer, state.LockInfo{Operation: "apply", Who: "observer@ci"}, 10*lease); err != nil {
				t.Fatalf("Lock of a dead holder's lock: %v", err)
			}
			if waited := time.Since(start); waited < lease/2 {
				t.Errorf("the observer took the lock %s after the holder stopped; want about the lease duration (%s)", waited, lease)
			}
		})
	}
}

// leaseHook wraps a client so that a test can fail the Lease updates (the
// renewals) and count them.
type leaseHook struct {
	kubernetes.Interface
	mu      sync.Mutex
	failErr error
	updates int
}

func (h *leaseHook) failUpdates(err error) {
	h.mu.Lock()
	h.failErr = err
	h.mu.Unlock()
}

func (h *leaseHook) CoordinationV1() typedcoordinationv1.CoordinationV1Interface {
	return &hookCoordination{CoordinationV1Interface: h.Interface.CoordinationV1(), h: h}
}

type hookCoordination struct {
	typedcoordinationv1.CoordinationV1Interface
	h *leaseHook
}

func (c *hookCoordination) Leases(ns string) typedcoordinationv1.LeaseInterface {
	return &hookLeases{LeaseInterface: c.CoordinationV1Interface.Leases(ns), h: c.h}
}

type hookLeases struct {
	typedcoordinationv1.LeaseInterface
	h *leaseHook
}

func (l *hookLeases) Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	l.h.mu.Lock()
	err := l.h.failErr
	l.h.updates++
	l.h.mu.Unlock()
	if err != nil && lease.Spec.HolderIdentity != nil {
		return nil, err
	}
	return l.LeaseInterface.Update(ctx, lease, opts)
}

// TestRenewalErrors: a failed renewal is reported (OnRenewError) and the
// lock stays held until its lease would run out (minus the margin); then
// the lease is lost, naming the last renewal error.
func TestRenewalErrors(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-renew")
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	hook := &leaseHook{Interface: cs}
	var (
		mu       sync.Mutex
		reported []string
	)
	const lease = 2 * time.Second
	s, err := kube.Open(kube.Options{Client: hook, Namespace: ns, Name: "r", LeaseDuration: lease, RenewInterval: lease / 8,
		OnRenewError: func(id string, err error) {
			mu.Lock()
			reported = append(reported, id+": "+err.Error())
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, err := s.Lock(ctx, state.LockInfo{Operation: "apply", Who: "a@ci"})
	if err != nil {
		t.Fatal(err)
	}
	l := s.Lease(id)
	time.Sleep(lease) // several good renewals
	if err := l.Held(); err != nil {
		t.Fatalf("lease with good renewals: %v", err)
	}
	hook.failUpdates(errors.New("etcdserver: request timed out"))
	failed := time.Now()
	select {
	case <-l.Lost():
	case <-time.After(5 * lease):
		t.Fatal("the lease is still held long after its renewals began to fail")
	}
	// The lock counts as held for LeaseDuration minus the margin (a
	// quarter) after the last good renewal, which was at most one renewal
	// interval before the failures began.
	if held := time.Since(failed); held < lease/2 || held > lease {
		t.Errorf("the lease was lost %s after the renewals began to fail; want between %s and %s", held, lease/2, lease)
	}
	err = l.Held()
	if !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "etcdserver: request timed out") {
		t.Errorf("Held() = %v, want ErrLockLost naming the renewal error", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) == 0 || !strings.Contains(reported[0], id) || !strings.Contains(reported[0], "etcdserver: request timed out") {
		t.Errorf("renewal errors reported: %q; want the failed renewals of lock %s", reported, id)
	}
}

// TestLeaseLostAtOnce: the holder learns at once (a watch on the Lease,
// not the next renewal) that its lock was force-unlocked, taken over or
// its Lease deleted, also after the request timeout ended its first watch.
func TestLeaseLostAtOnce(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-lost")
	ctx := t.Context()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		lose func(t *testing.T, other *kube.Store, id, stateName string)
		want string
	}{
		"force-unlock": {func(t *testing.T, other *kube.Store, id, _ string) {
			if err := other.ForceUnlock(ctx, id); err != nil {
				t.Fatal(err)
			}
		}, "force-unlock"},
		"taken over": {func(t *testing.T, other *kube.Store, id, _ string) {
			if err := other.ForceUnlock(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Lock(ctx, state.LockInfo{Operation: "apply", Who: "bob@ci"}); err != nil {
				t.Fatal(err)
			}
		}, ""},
		"lease deleted": {func(t *testing.T, _ *kube.Store, _, stateName string) {
			if err := cs.CoordinationV1().Leases(ns).Delete(ctx, "strata-lock-"+stateName, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "deleted"},
	} {
		t.Run(name, func(t *testing.T) {
			stateName := testcluster.UniqueName("lost")
			// Renewals once an hour: only the watch can tell in time. A
			// request timeout of 2s ends each watch after 2s (the
			// backend's default is 30s): it must be started again.
			cfg := c.RESTConfig()
			cfg.Timeout = 2 * time.Second
			s, err := kube.Open(kube.Options{Config: cfg, Namespace: ns, Name: stateName,
				LeaseDuration: 3 * time.Hour, RenewInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			other := open(t, ns, stateName, time.Minute)
			id, err := s.Lock(ctx, state.LockInfo{Operation: "apply", Who: "alice@ci"})
			if err != nil {
				t.Fatal(err)
			}
			l := s.Lease(id)
			time.Sleep(3 * time.Second) // a second watch is up
			tc.lose(t, other, id, stateName)
			select {
			case <-l.Lost():
			case <-time.After(10 * time.Second):
				t.Fatal("the holder did not learn within 10s that its lock was lost")
			}
			if err := l.Held(); !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Held() = %v, want ErrLockLost saying %q", err, tc.want)
			}
		})
	}
}
