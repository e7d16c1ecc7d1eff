package planner

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/kube"
)

// TestGuardTransport: once the lease is lost, a guarded client sends no
// request that can change the cluster (it fails with ErrLockLost), while
// reads and server-side dry runs still go out.
func TestGuardTransport(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	}))
	defer srv.Close()

	held := state.NewTracker("lock-1", time.Now, 0)
	var g lockGuard
	g.hold(held)
	hc, err := rest.HTTPClientFor(guarded(&rest.Config{Host: srv.URL}, g.check))
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path string) error {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := send(http.MethodPatch, "/api/v1/namespaces/a/configmaps/one"); err != nil {
		t.Fatalf("write while the lock is held: %v", err)
	}
	held.Lose("was released by another process (force-unlock)")
	for _, r := range []struct{ method, path string }{
		{http.MethodPatch, "/api/v1/namespaces/a/configmaps/two"},
		{http.MethodPost, "/api/v1/namespaces/a/configmaps"},
		{http.MethodPut, "/api/v1/namespaces/a/configmaps/two"},
		{http.MethodDelete, "/api/v1/namespaces/a/configmaps/one"},
	} {
		if err := send(r.method, r.path); !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "the state lock was lost") {
			t.Errorf("%s %s after the lock was lost: got %v, want ErrLockLost", r.method, r.path, err)
		}
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/namespaces/a/configmaps/one"},
		{http.MethodPatch, "/api/v1/namespaces/a/configmaps/two?dryRun=All"},
	} {
		if err := send(r.method, r.path); err != nil {
			t.Errorf("%s %s after the lock was lost: %v", r.method, r.path, err)
		}
	}
	want := []string{
		"PATCH /api/v1/namespaces/a/configmaps/one",
		"GET /api/v1/namespaces/a/configmaps/one",
		"PATCH /api/v1/namespaces/a/configmaps/two?dryRun=All",
	}
	mu.Lock()
	got := append([]string(nil), seen...)
	mu.Unlock()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("requests that reached the server (-want +got):\n%s", d)
	}

	// Without a lock (--lock=false) nothing is checked.
	g.hold(nil)
	if err := send(http.MethodDelete, "/api/v1/namespaces/a/configmaps/one"); err != nil {
		t.Errorf("write without a lock: %v", err)
	}
}

// lockStack is a stack of three kustomizations of one ConfigMap each in
// ns, "first" <- "second" <- "third", whose state is in the cluster
// (backend "kubernetes" in stateNS).
func lockStack(ns, stateNS string) map[string]string {
	files := map[string]string{"main.hcl": `strata {
  backend "kubernetes" {
    namespace = "` + stateNS + `"
    name      = "lock"
  }
}
kustomization "first" {
  path = "first"
}
kustomization "second" {
  path       = "second"
  depends_on = [kustomization.first]
}
kustomization "third" {
  path       = "third"
  depends_on = [kustomization.second]
}
`}
	for _, b := range []string{"first", "second", "third"} {
		files[b+"/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + b + "\n  namespace: " + ns + "\ndata:\n  block: " + b + "\n"
	}
	return files
}

// testClock is a clock that a test moves forward by hand, as a long
// stall of the process (a GC pause, SIGSTOP) would.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// TestApplyStopsWhenLockLost: a run that loses the state lock after its
// first block (force-unlocked by a colleague, or its lease run out while
// the process stalled) makes no further change to the cluster: the later
// blocks' objects are not created, the blocks are reported as not
// started, and the error says the lock was lost. After a force-unlock the
// final state write is refused by the fence, and the result says so.
func TestApplyStopsWhenLockLost(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		lose        func(t *testing.T, e *Engine, clock *testClock, stateNS string)
		wantReason  string
		wantRefused bool
	}{
		"force-unlock": {
			lose: func(t *testing.T, e *Engine, _ *testClock, stateNS string) {
				other, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: stateNS, Name: "lock"})
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				if err := other.ForceUnlock(context.Background(), e.lockID); err != nil {
					t.Error(err)
				}
				select {
				case <-e.lock.current().Lost():
				case <-time.After(10 * time.Second):
					t.Error("the run did not learn within 10s that its lock was force-unlocked")
				}
			},
			wantReason: "force-unlock", wantRefused: true,
		},
		"lease expired": {
			lose:       func(_ *testing.T, _ *Engine, clock *testClock, _ string) { clock.offset.Add(int64(time.Hour)) },
			wantReason: "not renewed",
		},
	} {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "lock-apply")
			stateNS := c.Namespace(t, "lock-state")
			var clock testClock
			var e *Engine
			var events []Event
			opts := testOptions(c, writeStack(t, lockStack(ns, stateNS)))
			opts.Now = clock.now
			opts.OnEvent = func(ev Event) {
				events = append(events, ev)
				if ev.Type == BlockDone && ev.Block == "kustomization.first" {
					tc.lose(t, e, &clock, stateNS)
				}
			}
			e, p := lockedPlan(t, opts)
			res, err := e.Apply(context.Background(), p, ApplyOptions{})
			if !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "the state lock was lost") ||
				!strings.Contains(err.Error(), tc.wantReason) {
				t.Fatalf("Apply after losing the lock: got %v, want an error saying the lock was lost (%s)", err, tc.wantReason)
			}
			for _, cm := range []string{"second", "third"} {
				if _, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), cm, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("ConfigMap %s of a later block: got %v, want it never created", cm, err)
				}
			}
			if _, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), "first", metav1.GetOptions{}); err != nil {
				t.Errorf("ConfigMap of the first block: %v", err)
			}
			want := map[string]string{"kustomization.second": msgLockLost, "kustomization.third": msgLockLost}
			if d := cmp.Diff(want, res.Skipped); d != "" || len(res.Failed) > 0 {
				t.Errorf("skipped blocks (-want +got):\n%s\nfailed: %v", d, res.Failed)
			}
			if refused := errors.Is(res.StateErr, state.ErrLockLost); refused != tc.wantRefused {
				t.Errorf("Result.StateErr = %v; want a refused state write: %v", res.StateErr, tc.wantRefused)
			}
			lost := false
			for _, ev := range events {
				lost = lost || ev.Type == LockLost && errors.Is(ev.Err, state.ErrLockLost)
			}
			if !lost {
				t.Error("no LockLost event")
			}
		})
	}
}
