package planner

import (
	"context"
	"errors"
	"fmt"
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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// TestEveryClusterWriteNeedsTheLock loses the state lock (its lease runs
// out, as in a long stall) right as a block starts, after the walk let
// the block go: the engine's own clients refuse every write from then on,
// whatever the block sends. A prune deletes nothing, a Helm upgrade
// writes no revision and changes no object, and an uninstall leaves the
// release in place; each block fails saying the lock was lost.
func TestEveryClusterWriteNeedsTheLock(t *testing.T) {
	c := testcluster.Get(t)
	chart := map[string]string{
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\ndata:\n  color: {{ .Values.color | quote }}\n",
	}
	release := func(ns, color string) string {
		return fmt.Sprintf("release \"web\" {\n  namespace = %q\n  chart     = \"charts/web\"\n  values    = { color = %q }\n}\n", ns, color)
	}
	for name, tc := range map[string]struct {
		v1, v2 func(ns string) map[string]string
		block  string
		check  func(t *testing.T, ns string)
	}{
		"prune": {
			v1: func(ns string) map[string]string {
				return map[string]string{"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n}\n",
					"app/keep.yaml": configMap(ns, "keep"), "app/old.yaml": configMap(ns, "old")}
			},
			v2:    func(string) map[string]string { return map[string]string{"app/old.yaml": ""} },
			block: "kustomization.app",
			check: func(t *testing.T, ns string) {
				if liveConfigMap(t, c, ns, "old") == nil {
					t.Error("ConfigMap old was pruned after the lock was lost")
				}
			},
		},
		"release upgrade": {
			v1:    func(ns string) map[string]string { return withFile(chart, "main.hcl", release(ns, "blue")) },
			v2:    func(ns string) map[string]string { return map[string]string{"main.hcl": release(ns, "green")} },
			block: "release.web",
			check: func(t *testing.T, ns string) { checkRelease(t, c, ns, "blue") },
		},
		"release uninstall": {
			v1:    func(ns string) map[string]string { return withFile(chart, "main.hcl", release(ns, "blue")) },
			v2:    func(string) map[string]string { return map[string]string{"main.hcl": "# no blocks\n"} },
			block: "release.web",
			check: func(t *testing.T, ns string) { checkRelease(t, c, ns, "blue") },
		},
	} {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "lock-writes")
			stateNS := c.Namespace(t, "lock-writes-state")
			files := tc.v1(ns)
			files["main.hcl"] = "strata {\n  backend \"kubernetes\" {\n    namespace = \"" + stateNS + "\"\n    name = \"writes\"\n  }\n}\n" + files["main.hcl"]
			dir := writeStack(t, files)
			applyStack(t, testOptions(c, dir))
			v2 := tc.v2(ns)
			if h, ok := v2["main.hcl"]; ok {
				v2["main.hcl"] = strings.SplitAfterN(files["main.hcl"], "}\n}\n", 2)[0] + h
			}
			writeFiles(t, dir, v2)

			var clock testClock
			opts := testOptions(c, dir)
			opts.Now = clock.now
			opts.OnEvent = func(ev Event) {
				if ev.Type == BlockStarted && ev.Block == tc.block {
					clock.offset.Add(int64(time.Hour))
				}
			}
			e, p := lockedPlan(t, opts)
			if !p.HasChanges() {
				t.Fatal("the plan has no changes")
			}
			res, err := e.Apply(context.Background(), p, ApplyOptions{})
			if !errors.Is(err, state.ErrLockLost) {
				t.Fatalf("Apply: got %v, want an error saying the lock was lost", err)
			}
			if ferr := res.Failed[tc.block]; !errors.Is(ferr, state.ErrLockLost) {
				t.Errorf("block %s: got %v, want it failed because the lock was lost", tc.block, ferr)
			}
			tc.check(t, ns)
		})
	}
}

// withFile returns a copy of files with name set to content.
func withFile(files map[string]string, name, content string) map[string]string {
	out := map[string]string{name: content}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// checkRelease fails t unless release web of ns is still at its first
// revision, deployed, and its ConfigMap still has color.
func checkRelease(t *testing.T, c *testcluster.Cluster, ns, color string) {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=web"})
	if err != nil {
		t.Fatal(err)
	}
	var revs []string
	for _, s := range list.Items {
		revs = append(revs, s.Labels["version"]+":"+s.Labels["status"])
	}
	if d := cmp.Diff([]string{"1:deployed"}, revs); d != "" {
		t.Errorf("Helm's release records after the lock was lost (-want +got):\n%s", d)
	}
	cm := liveConfigMap(t, c, ns, "web-settings")
	if cm == nil {
		t.Fatal("the release's ConfigMap was deleted after the lock was lost")
	}
	if got, _, _ := unstructured.NestedString(cm.Object, "data", "color"); got != color {
		t.Errorf("the release's ConfigMap has color %q, want %q", got, color)
	}
}
