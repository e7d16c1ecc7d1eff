package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

// crashBlocks writes the HCL of kustomizations named after the keys of
// blocks, each with the ConfigMaps listed, in namespace ns; every block
// depends on the one before it in order.
func crashBlocks(ns string, order []string, blocks map[string][]string) map[string]string {
	files := map[string]string{}
	var hcl strings.Builder
	prev := ""
	for _, b := range order {
		cms, ok := blocks[b]
		if !ok {
			continue
		}
		deps := ""
		if prev != "" {
			deps = fmt.Sprintf("  depends_on = [kustomization.%s]\n", prev)
		}
		fmt.Fprintf(&hcl, "kustomization %q {\n  path = %q\n%s}\n", b, b, deps)
		var docs []string
		for _, cm := range cms {
			docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  k: v\n", cm, ns))
		}
		files[b+"/cms.yaml"] = strings.Join(docs, "---\n")
		prev = b
	}
	files["main.hcl"] = hcl.String()
	return files
}

// replaceStack writes files into dir after removing every file and
// directory of dir but .strata and kubeconfig.
func replaceStack(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".strata" || e.Name() == "kubeconfig" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, dir, files)
}

// names returns the ConfigMaps of blocks in order.
func names(blocks map[string][]string) []string {
	var all []string
	for _, cms := range blocks {
		all = append(all, cms...)
	}
	slices.Sort(all)
	return all
}

// labelledConfigMaps returns the names of the ConfigMaps in ns that carry
// strata's stack id label (present and not being deleted), sorted.
func labelledConfigMaps(t *testing.T, cs kubernetes.Interface, ns string) []string {
	t.Helper()
	list, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "strata.dev/stack-id"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cm := range list.Items {
		if cm.DeletionTimestamp == nil {
			got = append(got, cm.Name)
		}
	}
	slices.Sort(got)
	return got
}

// stateConfigMaps returns the names of the ConfigMaps that the state in
// dir records, sorted; `state list` must succeed (the state is readable).
func stateConfigMaps(t *testing.T, dir string, extra ...string) []string {
	t.Helper()
	code, out, stderr := runCLI(t, append([]string{"state", "list", "--dir", dir}, extra...)...)
	if code != 0 {
		t.Fatalf("state list: exit %d: %s", code, stderr)
	}
	var got []string
	for l := range strings.SplitSeq(out, "\n") {
		if _, after, ok := strings.Cut(l, "/ConfigMap/"); ok {
			_, name, _ := strings.Cut(after, "/")
			got = append(got, name)
		}
	}
	slices.Sort(got)
	return got
}

// crashPlan is the part of `strata plan -o json` that the crash tests read.
type crashPlan struct {
	ResourceChanges []plan.ResourceChange `json:"resource_changes"`
	ReleaseChanges  []plan.ReleaseChange  `json:"release_changes"`
	StateRecords    []string              `json:"state_records"`
	Errors          []plan.Error          `json:"errors"`
}

// planJSONOf runs `strata plan -o json` on dir and decodes it.
func planJSONOf(t *testing.T, dir string, args ...string) crashPlan {
	t.Helper()
	code, out, stderr := runCLI(t, append([]string{"plan", dir, "-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, stderr)
	}
	var p crashPlan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, out)
	}
	if len(p.Errors) > 0 {
		t.Fatalf("plan errors: %+v", p.Errors)
	}
	return p
}

// noSpuriousCreates fails the test when the plan creates a ConfigMap that
// exists in the cluster.
func noSpuriousCreates(t *testing.T, p crashPlan, live []string) {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Actions.Is(plan.Create) && slices.Contains(live, rc.Name) {
			t.Errorf("the plan creates %s, which exists in the cluster (state_records %v)", rc.Address, p.StateRecords)
		}
	}
}

// killWhen polls cond until it holds, then SIGKILLs cmd and waits for it.
func killWhen(t *testing.T, cmd interface {
	Wait() error
}, pid int, out *syncBuffer, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen in 60s:\n%s", what, out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	t.Logf("killed %s: %v\n%s", what, err, out.String())
}

// exists reports whether ConfigMap ns/name exists (and is not being
// deleted).
func exists(cs kubernetes.Interface, ns, name string) bool {
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	return err == nil && cm.DeletionTimestamp == nil
}

// TestKilledApplyCLI kills `strata apply` with SIGKILL at several moments
// of a stack of three kustomizations of ConfigMaps (a, then b, then c):
// before anything was written, while b's objects are being created (in a
// new block and in a block applied before), and while the objects of
// removed blocks are being pruned. After each kill: the state is readable;
// the next plan (whose lock the dead run's is replaced by) creates no
// object that exists; apply converges (the next plan has no changes, the
// state records exactly the stack's objects in the cluster); and a change
// that removes blocks afterwards prunes every object the killed apply
// created, recorded or not.
func TestKilledApplyCLI(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"a", "b", "c"}
	abc := map[string][]string{
		"a": {"a1", "a2", "a3"},
		"b": {"b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"},
		"c": {"c1", "c2"},
	}
	bGrows := map[string][]string{"a": abc["a"], "b": {"b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11", "b12"}, "c": abc["c"]}
	aOnly := map[string][]string{"a": abc["a"]}
	tests := map[string]struct {
		before map[string][]string // applied first, when not nil
		during map[string][]string // the killed apply's stack
		when   func(dir, ns string) bool
		after  map[string][]string // applied after the recovery
	}{
		"early, once the lock is taken": {
			during: abc,
			when: func(dir, _ string) bool {
				_, err := os.Stat(filepath.Join(dir, ".strata", "state.db"))
				return err == nil
			},
			after: aOnly,
		},
		"creating a new block": {
			during: abc,
			when:   func(_, ns string) bool { return exists(cs, ns, "b1") },
			after:  aOnly,
		},
		"creating new objects of an applied block": {
			before: abc, during: bGrows,
			when:  func(_, ns string) bool { return exists(cs, ns, "b9") },
			after: abc,
		},
		"pruning removed blocks": {
			before: abc, during: aOnly,
			when:  func(_, ns string) bool { return !exists(cs, ns, "b1") || !exists(cs, ns, "c1") },
			after: aOnly,
		},
		"pruning, then the blocks come back": {
			before: abc, during: aOnly,
			when:  func(_, ns string) bool { return !exists(cs, ns, "b1") || !exists(cs, ns, "c1") },
			after: abc,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "killed")
			dir := filepath.Join(t.TempDir(), testcluster.UniqueName("killed"))
			kc := "--kubeconfig=" + c.Kubeconfig()
			if tt.before != nil {
				replaceStack(t, dir, crashBlocks(ns, order, tt.before))
				if code, out, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
					t.Fatalf("first apply: exit %d\n%s%s", code, out, stderr)
				}
			}
			replaceStack(t, dir, crashBlocks(ns, order, tt.during))
			var out syncBuffer
			cmd := startChild(t, &out, "apply", dir, kc, "--auto-approve")
			killWhen(t, cmd, cmd.Process.Pid, &out, "the apply", func() bool { return tt.when(dir, ns) })

			// The state file is readable; the dead run's lock is replaced.
			stateConfigMaps(t, dir)
			live := labelledConfigMaps(t, cs, ns)
			t.Logf("in the cluster after the kill: %v", live)
			p := planJSONOf(t, dir, kc)
			noSpuriousCreates(t, p, live)

			// Apply converges on the stack of the killed run.
			if code, out, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply after the kill: exit %d\n%s%s", code, out, stderr)
			}
			converged(t, cs, dir, ns, names(tt.during), kc)

			// A later change prunes what the killed apply created.
			replaceStack(t, dir, crashBlocks(ns, order, tt.after))
			if code, out, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply of the later change: exit %d\n%s%s", code, out, stderr)
			}
			converged(t, cs, dir, ns, names(tt.after), kc)
		})
	}
}

// converged checks that the plan of the stack in dir has no changes and
// that the cluster and the state hold exactly the ConfigMaps want.
func converged(t *testing.T, cs kubernetes.Interface, dir, ns string, want []string, args ...string) {
	t.Helper()
	if code, out, stderr := runCLI(t, append([]string{"plan", dir, "--detailed-exitcode"}, args...)...); code != 0 {
		t.Errorf("plan after the apply: exit %d, want 0 (no changes)\n%s%s", code, out, stderr)
	}
	if diff := cmp.Diff(want, labelledConfigMaps(t, cs, ns)); diff != "" {
		t.Errorf("ConfigMaps in the cluster (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, stateConfigMaps(t, dir, args...)); diff != "" {
		t.Errorf("ConfigMaps in the state (-want +got):\n%s", diff)
	}
}

// helmRelease is a stack of one release of a local chart of two
// ConfigMaps, with values gen.
func helmRelease(ns, gen string) map[string]string {
	return map[string]string{
		"main.hcl":              fmt.Sprintf("release \"web\" {\n  namespace = %q\n  chart     = \"charts/web\"\n  values    = { gen = %q }\n}\n", ns, gen),
		"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-one\ndata:\n  gen: {{ .Values.gen | quote }}\n" +
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-two\ndata:\n  gen: {{ .Values.gen | quote }}\n",
	}
}

// TestKilledHelmApplyCLI kills `strata apply` with SIGKILL while Helm
// installs a release (once its first record exists) and while it upgrades
// it (once the record of revision 2 exists). The next apply must go on (a
// revision left pending blocks Helm until it is marked failed), the plan
// afterwards has no changes, and removing the release block uninstalls it:
// no Helm record and no object of it is left.
func TestKilledHelmApplyCLI(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	records := func(ns string, version string) int {
		sel := "owner=helm,name=web"
		if version != "" {
			sel += ",version=" + version
		}
		list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	for _, upgrade := range []bool{false, true} {
		t.Run(map[bool]string{false: "install", true: "upgrade"}[upgrade], func(t *testing.T) {
			ns := c.Namespace(t, "killedhelm")
			dir := filepath.Join(t.TempDir(), testcluster.UniqueName("killedhelm"))
			kc := "--kubeconfig=" + c.Kubeconfig()
			version := "1"
			if upgrade {
				replaceStack(t, dir, helmRelease(ns, "1"))
				if code, out, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
					t.Fatalf("first apply: exit %d\n%s%s", code, out, stderr)
				}
				version = "2"
			}
			replaceStack(t, dir, helmRelease(ns, "2"))
			var out syncBuffer
			cmd := startChild(t, &out, "apply", dir, kc, "--auto-approve")
			killWhen(t, cmd, cmd.Process.Pid, &out, "the apply", func() bool { return records(ns, version) > 0 })

			stateConfigMaps(t, dir)
			if code, out, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply after the kill: exit %d\n%s%s", code, out, stderr)
			}
			if code, out, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode"); code != 0 {
				t.Errorf("plan after the apply: exit %d, want 0\n%s%s", code, out, stderr)
			}
			for _, n := range []string{"web-one", "web-two"} {
				cm, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), n, metav1.GetOptions{})
				if err != nil || cm.Data["gen"] != "2" {
					t.Errorf("ConfigMap %s: %v, data %v; want gen 2", n, err, cm.Data)
				}
			}

			replaceStack(t, dir, map[string]string{"main.hcl": "# no release\n"})
			if code, out, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply without the release: exit %d\n%s%s", code, out, stderr)
			}
			if n := records(ns, ""); n != 0 {
				t.Errorf("%d Helm records of web are left", n)
			}
			for _, n := range []string{"web-one", "web-two"} {
				if exists(cs, ns, n) {
					t.Errorf("ConfigMap %s of the uninstalled release is left", n)
				}
			}
			if code, out, stderr := runCLI(t, "state", "list", "--dir", dir); code != 0 || out != "" {
				t.Errorf("state list after the uninstall: exit %d\n%s%s", code, out, stderr)
			}
		})
	}
}

// cutProxy is an API server in front of the test cluster that passes
// requests on (with the cluster's admin credentials) until it is cut, as
// an API server whose process is gone: it stops listening (new
// connections are refused), closes every open connection and hangs up on
// requests in flight, until restored on the same address.
type cutProxy struct {
	addr    string
	handler http.Handler
	armed   atomic.Bool // the rule cuts once

	mu       sync.Mutex
	cut      bool
	srv      *httptest.Server
	inFlight map[string]int // paths of writes passed on and not yet answered
	unheard  []string       // names of the objects of writes in flight at the cut
}

// newCutProxy starts a cutProxy that cuts itself before passing on the
// first request for which before returns true, or after the cluster
// answered the first request for which after returns true (the object is
// then written, but strata never learns it).
func newCutProxy(t *testing.T, c *testcluster.Cluster, before, after func(r *http.Request) bool) *cutProxy {
	t.Helper()
	p := &cutProxy{inFlight: map[string]int{}}
	p.armed.Store(true)
	rp := clusterProxy(t, c)
	hangUp := func(w http.ResponseWriter) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}
	rp.ModifyResponse = func(res *http.Response) error {
		if after != nil && after(res.Request) && p.armed.CompareAndSwap(true, false) {
			p.Cut()
			return fmt.Errorf("cut after the answer")
		}
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { hangUp(w) }
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil && before(r) && p.armed.CompareAndSwap(true, false) {
			p.Cut()
		}
		if p.isCut() {
			hangUp(w)
			return
		}
		r.Header.Del("Authorization")
		write := r.Method != http.MethodGet && r.URL.Query().Get("dryRun") == ""
		if write {
			p.mu.Lock()
			p.inFlight[r.URL.Path]++
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
		if write {
			p.mu.Lock()
			p.inFlight[r.URL.Path]--
			p.mu.Unlock()
		}
	})
	p.srv = httptest.NewUnstartedServer(p.handler)
	p.srv.StartTLS()
	p.addr = p.srv.Listener.Addr().String()
	t.Cleanup(func() {
		p.mu.Lock()
		srv := p.srv
		p.mu.Unlock()
		srv.Close()
	})
	return p
}

func (p *cutProxy) isCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// Cut stops the proxy as the death of the API server's process would.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return
	}
	p.cut = true
	for path, n := range p.inFlight {
		if n > 0 {
			p.unheard = append(p.unheard, path[strings.LastIndex(path, "/")+1:])
		}
	}
	p.srv.Listener.Close()
	go p.srv.CloseClientConnections()
}

// Restore starts the proxy again on its address.
func (p *cutProxy) Restore(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.srv
	go old.Close() // waits for the hung-up requests' handlers
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewUnstartedServer(p.handler)
	p.srv.Listener.Close()
	p.srv.Listener = l
	p.srv.StartTLS()
	p.cut = false
}

// writesConfigMap matches a request that writes ConfigMap name.
func writesConfigMap(name string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return (r.Method == http.MethodPatch || r.Method == http.MethodPut || r.Method == http.MethodPost) &&
			strings.HasSuffix(r.URL.Path, "/configmaps/"+name) && r.URL.Query().Get("dryRun") == ""
	}
}

// deletesConfigMap matches a request that deletes ConfigMap name.
func deletesConfigMap(name string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/configmaps/"+name) && r.URL.Query().Get("dryRun") == ""
	}
}

// lockID is the lock ID in a locked error.
var lockID = regexp.MustCompile(`lock ID ([0-9a-f-]+)`)

// TestAPIServerGoneMidApply cuts the connection to the API server in the
// middle of an apply of three kustomizations (a, then b, then c): before
// the write of ConfigMap b3 reaches it, and after it wrote b3 but before
// strata heard the answer; the same while pruning b and c (the delete of
// b3); and with the kubernetes backend, whose state lives behind the same
// server. strata must exit 1 within seconds with an error naming the
// block, the object and the server; the state must record exactly what is
// in the cluster (but for the object strata did not hear about; with the
// kubernetes backend, what the last write before the cut recorded); once
// the server is back the lock must be free or name force-unlock, the plan
// must create nothing that exists, an apply must converge, and a later
// change must prune everything.
func TestAPIServerGoneMidApply(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"a", "b", "c"}
	abc := map[string][]string{
		"a": {"a1", "a2"},
		"b": {"b1", "b2", "b3", "b4"},
		"c": {"c1", "c2"},
	}
	aOnly := map[string][]string{"a": abc["a"]}
	tests := map[string]struct {
		setup, during, later map[string][]string
		before, after        func(r *http.Request) bool
		b3                   bool // b3 exists after the cut
		kube                 bool // kubernetes backend
	}{
		"before the write of b3":                     {during: abc, later: aOnly, before: writesConfigMap("b3")},
		"after the write of b3":                      {during: abc, later: aOnly, after: writesConfigMap("b3"), b3: true},
		"after the write of b3, kubernetes backend":  {during: abc, later: aOnly, after: writesConfigMap("b3"), b3: true, kube: true},
		"before the delete of b3":                    {setup: abc, during: aOnly, later: aOnly, before: deletesConfigMap("b3"), b3: true},
		"after the delete of b3":                     {setup: abc, during: aOnly, later: abc, after: deletesConfigMap("b3")},
		"after the delete of b3, kubernetes backend": {setup: abc, during: aOnly, later: aOnly, after: deletesConfigMap("b3"), kube: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "gone")
			proxy := newCutProxy(t, c, tt.before, tt.after)
			dir, kc := unreachableStack(t, proxy.addr)
			stack := func(blocks map[string][]string) map[string]string {
				files := crashBlocks(ns, order, blocks)
				if tt.kube {
					files["backend.hcl"] = "strata {\n  backend \"kubernetes\" {\n    namespace = \"" + ns + "\"\n    name = \"gone\"\n  }\n}\n"
				}
				return files
			}
			if tt.setup != nil {
				replaceStack(t, dir, stack(tt.setup))
				if code, out, stderr := runCLI(t, "apply", dir, "--kubeconfig", kc, "--auto-approve"); code != 0 {
					t.Fatalf("first apply: exit %d\n%s%s", code, out, stderr)
				}
			}
			replaceStack(t, dir, stack(tt.during))
			var out syncBuffer
			cmd := startChild(t, &out, "apply", dir, "--kubeconfig", kc, "--auto-approve")
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var code int
			start := time.Now()
			select {
			case err := <-done:
				code = exitCode(t, err)
			case <-time.After(60 * time.Second):
				t.Fatalf("apply still running 60s after it started\n%s", out.String())
			}
			t.Logf("apply stopped after %s, exit %d:\n%s", time.Since(start).Round(time.Millisecond), code, out.String())
			if !proxy.isCut() {
				t.Fatal("the proxy was never cut")
			}
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, want := range []string{"kustomization.b", "b3", proxy.addr, "may have been made"} {
				if !out.contains(want) {
					t.Errorf("output does not name %q", want)
				}
			}
			if klogLine.MatchString(out.String()) {
				t.Errorf("output has klog lines")
			}
			if tt.kube && (!out.contains("was not released") || !out.contains("strata force-unlock")) {
				t.Errorf("output does not say that the lock (behind the same server) was not released and how to remove it")
			}
			if i, j := strings.Index(out.String(), "Error: kustomization.b"), strings.Index(out.String(), "record history"); i < 0 || j >= 0 && j < i {
				t.Errorf("the error does not name the failed block first")
			}
			if exists(cs, ns, "b3") != tt.b3 {
				t.Fatalf("b3 exists: %v, want %v", !tt.b3, tt.b3)
			}
			if tt.setup == nil && exists(cs, ns, "c1") {
				t.Errorf("block c, which depends on the failed block b, was applied")
			}
			if !tt.kube {
				// What strata did not hear about (the writes in flight at
				// the cut, b3 when cut after the answer) is an intent: in
				// the cluster but not yet in the state, or deleted but still
				// in the state.
				t.Logf("writes in flight at the cut: %v", proxy.unheard)
				if tt.after != nil && !slices.Contains(proxy.unheard, "b3") {
					t.Errorf("the write of b3 was not in flight at the cut")
				}
				unheard := func(n string) bool { return slices.Contains(proxy.unheard, n) }
				live := slices.DeleteFunc(labelledConfigMaps(t, cs, ns), unheard)
				recorded := slices.DeleteFunc(stateConfigMaps(t, dir), unheard)
				if diff := cmp.Diff(live, recorded); diff != "" {
					t.Errorf("the state vs the cluster after the cut (-cluster +state):\n%s", diff)
				}
			}

			// The server is back.
			proxy.Restore(t)
			if tt.kube {
				// The lock could not be released: the next run says who
				// holds it and how to remove it.
				code, stdout, stderr := runCLI(t, "plan", dir, "--kubeconfig", kc)
				m := lockID.FindStringSubmatch(stderr)
				if code != 1 || m == nil || !strings.Contains(stderr, "strata force-unlock") {
					t.Fatalf("plan after the cut: exit %d, want 1 naming the lock and force-unlock\n%s%s", code, stdout, stderr)
				}
				if code, stdout, stderr := runCLI(t, "force-unlock", "--dir", dir, "--kubeconfig", kc, "--force", m[1]); code != 0 {
					t.Fatalf("force-unlock: exit %d\n%s%s", code, stdout, stderr)
				}
			}
			p := planJSONOf(t, dir, "--kubeconfig", kc)
			noSpuriousCreates(t, p, labelledConfigMaps(t, cs, ns))
			if code, out, stderr := runCLI(t, "apply", dir, "--kubeconfig", kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply once the server is back: exit %d\n%s%s", code, out, stderr)
			}
			converged(t, cs, dir, ns, names(tt.during), "--kubeconfig", kc)
			replaceStack(t, dir, stack(tt.later))
			if code, out, stderr := runCLI(t, "apply", dir, "--kubeconfig", kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply of the later change: exit %d\n%s%s", code, out, stderr)
			}
			converged(t, cs, dir, ns, names(tt.later), "--kubeconfig", kc)
		})
	}
}

// TestAPIServerGoneMidHelmInstall cuts the connection to the API server
// while Helm installs a release: after Helm wrote its first release record
// (strata does not hear the answer), and before the release's first
// object is created. strata must exit 1 naming the release and the
// server; once the server is back an apply must converge (the revision
// left pending does not block Helm), and removing the release block must
// uninstall it.
func TestAPIServerGoneMidHelmInstall(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct{ before, after func(r *http.Request) bool }{
		"after the release record is written": {after: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/secrets")
		}},
		"before the release's objects are created": {before: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/configmaps") && r.URL.Query().Get("dryRun") == ""
		}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "gonehelm")
			proxy := newCutProxy(t, c, tt.before, tt.after)
			dir, kc := unreachableStack(t, proxy.addr)
			replaceStack(t, dir, helmRelease(ns, "1"))
			var out syncBuffer
			cmd := startChild(t, &out, "apply", dir, "--kubeconfig", kc, "--auto-approve")
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if code := exitCode(t, err); code != 1 {
					t.Errorf("exit %d, want 1", code)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("apply still running 60s after it started\n%s", out.String())
			}
			t.Logf("output:\n%s", out.String())
			if !proxy.isCut() {
				t.Fatal("the proxy was never cut")
			}
			for _, want := range []string{"release.web", proxy.addr} {
				if !out.contains(want) {
					t.Errorf("output does not name %q", want)
				}
			}
			if klogLine.MatchString(out.String()) {
				t.Errorf("output has klog lines")
			}
			stateConfigMaps(t, dir)

			proxy.Restore(t)
			if code, out, stderr := runCLI(t, "apply", dir, "--kubeconfig", kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply once the server is back: exit %d\n%s%s", code, out, stderr)
			}
			if code, out, stderr := runCLI(t, "plan", dir, "--kubeconfig", kc, "--detailed-exitcode"); code != 0 {
				t.Errorf("plan after the apply: exit %d, want 0\n%s%s", code, out, stderr)
			}
			replaceStack(t, dir, map[string]string{"main.hcl": "# no release\n"})
			if code, out, stderr := runCLI(t, "apply", dir, "--kubeconfig", kc, "--auto-approve"); code != 0 {
				t.Fatalf("apply without the release: exit %d\n%s%s", code, out, stderr)
			}
			list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=web"})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 0 {
				t.Errorf("%d Helm records of web are left", len(list.Items))
			}
			for _, n := range []string{"web-one", "web-two"} {
				if exists(cs, ns, n) {
					t.Errorf("ConfigMap %s of the uninstalled release is left", n)
				}
			}
		})
	}
}

// TestKilledApplyKubernetesBackend kills `strata apply` with SIGKILL while
// b's objects are being created, with the state in the cluster: the next
// plan fails naming the lock and force-unlock (the lease of the dead run
// has not expired), the state stays readable, and after force-unlock an
// apply converges and a later change prunes what the killed run created.
func TestKilledApplyKubernetesBackend(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"a", "b", "c"}
	abc := map[string][]string{"a": {"a1", "a2"}, "b": {"b1", "b2", "b3", "b4", "b5", "b6"}, "c": {"c1"}}
	ns := c.Namespace(t, "killedkube")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("killedkube"))
	kc := "--kubeconfig=" + c.Kubeconfig()
	stack := func(blocks map[string][]string) map[string]string {
		files := crashBlocks(ns, order, blocks)
		files["backend.hcl"] = "strata {\n  backend \"kubernetes\" {\n    namespace = \"" + ns + "\"\n    name = \"killed\"\n  }\n}\n"
		return files
	}
	replaceStack(t, dir, stack(abc))
	var out syncBuffer
	cmd := startChild(t, &out, "apply", dir, kc, "--auto-approve")
	killWhen(t, cmd, cmd.Process.Pid, &out, "the apply", func() bool { return exists(cs, ns, "b1") })

	stateConfigMaps(t, dir, kc)
	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	m := lockID.FindStringSubmatch(stderr)
	if code != 1 || m == nil || !strings.Contains(stderr, "strata force-unlock") || !strings.Contains(stderr, "--lock-timeout") {
		t.Fatalf("plan after the kill: exit %d, want 1 naming the lock, --lock-timeout and force-unlock\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, "force-unlock", "--dir", dir, kc, "--force", m[1]); code != 0 {
		t.Fatalf("force-unlock: exit %d\n%s%s", code, stdout, stderr)
	}
	noSpuriousCreates(t, planJSONOf(t, dir, kc), labelledConfigMaps(t, cs, ns))
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply after the kill: exit %d\n%s%s", code, stdout, stderr)
	}
	converged(t, cs, dir, ns, names(abc), kc)
	replaceStack(t, dir, stack(map[string][]string{"a": abc["a"]}))
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply of the later change: exit %d\n%s%s", code, stdout, stderr)
	}
	converged(t, cs, dir, ns, abc["a"], kc)
}
