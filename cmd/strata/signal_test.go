package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// klogLine matches a line written by klog (client-go's logger), such as
// `E1130 23:37:33.939253    7974 memcache.go:381] "Couldn't get ..."`.
var klogLine = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]`)

// unreachableStack writes a stack with one kustomization of two
// ConfigMaps and a kubeconfig whose API server is addr, and returns the
// stack directory and the kubeconfig path.
func unreachableStack(t *testing.T, addr string) (dir, kubeconfig string) {
	t.Helper()
	dir = t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\ndata:\n  a: b\n" +
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n  namespace: default\n",
		"kubeconfig": `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://` + addr + `
    insecure-skip-tls-verify: true
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
users:
- name: u
  user: {token: not-a-secret}
`,
	})
	return dir, filepath.Join(dir, "kubeconfig")
}

// startChild starts this test binary as strata with args; stdout and
// stderr go to one buffer.
func startChild(t *testing.T, out io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), cliChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatal(err)
	}
	return ee.ExitCode()
}

// TestAPIServerDownPrintsOnlyTheError runs strata plan against a closed
// port: client-go's klog lines (memcache.go: "Couldn't get current server
// API group list") must not be printed, and the real error must be, once
// (not once per object of the stack).
func TestAPIServerDownPrintsOnlyTheError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	dir, kc := unreachableStack(t, addr)
	var out bytes.Buffer
	cmd := startChild(t, &out, "plan", dir, "--kubeconfig", kc)
	code := exitCode(t, cmd.Wait())
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if klogLine.Match(out.Bytes()) {
		t.Errorf("output has klog lines:\n%s", out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("Error: ")) || bytes.Count(out.Bytes(), []byte("connection refused")) != 1 {
		t.Errorf("output does not have the error once:\n%s", out.String())
	}
}

// frozenServer is an API server that accepts connections and requests
// and never answers, like one whose etcd is stopped. It returns its
// address and a channel closed when the first request arrives.
func frozenServer(t *testing.T) (addr string, asked <-chan struct{}) {
	t.Helper()
	release, first := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(first) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	srv.StartTLS()
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv.Listener.Addr().String(), first
}

// TestSIGTERMStopsPlanAgainstFrozenServer sends SIGTERM to strata plan once
// its first request reached an API server that never answers (strata
// handles signals by then; a fixed delay raced a slow start), with
// the state in a local file and in the (frozen) cluster. It used to run
// until client-go's request timeouts ran out (100 seconds); it must stop
// within a few seconds, with exit status 1 and without klog lines.
func TestSIGTERMStopsPlanAgainstFrozenServer(t *testing.T) {
	kubeBackend := "strata {\n  backend \"kubernetes\" {\n    namespace = \"strata\"\n    name = \"frozen\"\n  }\n}\n"
	release := map[string]string{
		"main.hcl":                     "release \"web\" {\n  namespace = \"web\"\n  chart     = \"charts/web\"\n}\n",
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n",
	}
	tests := map[string]struct {
		files   map[string]string // added to the stack
		args    []string
		message string // what strata says it does on the interrupt
	}{
		"plan, local backend":      {args: []string{"plan"}, message: interruptRead},
		"plan, kubernetes backend": {files: map[string]string{"backend.hcl": kubeBackend}, args: []string{"plan"}, message: interruptRead},
		"plan, helm release":       {files: release, args: []string{"plan"}, message: interruptRead},
		"apply":                    {args: []string{"apply", "--auto-approve"}, message: interruptApply},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			addr, asked := frozenServer(t)
			dir, kc := unreachableStack(t, addr)
			writeFiles(t, dir, tt.files)
			var out bytes.Buffer
			cmd := startChild(t, &out, append(tt.args, dir, "--kubeconfig", kc)...)
			select {
			case <-asked:
			case <-time.After(60 * time.Second):
				t.Fatalf("no request reached the API server in 60s\n%s", out.String())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				took := time.Since(sent)
				t.Logf("stopped %s after SIGTERM", took.Round(time.Millisecond))
				if code := exitCode(t, err); code != 1 {
					t.Errorf("exit %d, want 1\n%s", code, out.String())
				}
				if took > 5*time.Second {
					t.Errorf("took %s to stop after SIGTERM, want at most 5s", took)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30s after SIGTERM\n%s", out.String())
			}
			if klogLine.Match(out.Bytes()) {
				t.Errorf("output has klog lines:\n%s", out.String())
			}
			if !bytes.Contains(out.Bytes(), []byte(tt.message)) {
				t.Errorf("output lacks %q", tt.message)
			}
			t.Logf("output:\n%s", out.String())
		})
	}
}

// TestInterruptedApplyIsRecorded checks that the interrupt message tells
// the truth: SIGTERM during an apply cancels the block that is waiting for
// its Deployment, records what it applied in the state (the block as
// failed) and skips the block that depends on it. The message used to say
// that the running blocks were finished.
func TestInterruptedApplyIsRecorded(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "intr")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("intr"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": "kustomization \"slow\" {\n  path = \"slow\"\n}\n" +
			"kustomization \"after\" {\n  path = \"after\"\n  depends_on = [kustomization.slow]\n}\n",
		// No node matches the selector: the Deployment never becomes ready.
		"slow/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
  namespace: ` + ns + `
spec:
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {strata.dev/no-such-node: "true"}
      containers: [{name: c, image: example.invalid/none}]
`,
		"after/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  namespace: " + ns + "\n",
	})
	var out syncBuffer
	cmd := startChild(t, &out, "apply", dir, "--auto-approve", "--kubeconfig", c.Kubeconfig())
	waitFor := time.Now().Add(60 * time.Second)
	for !out.contains("Still waiting for") && !out.contains("Deployment.apps/"+ns+"/stuck created") {
		if time.Now().After(waitFor) {
			t.Fatalf("the apply did not reach the Deployment:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	code := exitCode(t, cmd.Wait())
	if took := time.Since(sent); took > 5*time.Second {
		t.Errorf("took %s to stop after SIGTERM", took)
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{interruptApply, "kustomization.slow: Failed", "kustomization.after: Skipped"} {
		if !out.contains(want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	code, list, stderr := runCLI(t, "state", "list", "--state", filepath.Join(dir, ".strata", "state.db"))
	if code != 0 {
		t.Fatalf("state list: exit %d: %s", code, stderr)
	}
	if want := "kustomization.slow/Deployment.apps/" + ns + "/stuck"; !strings.Contains(list, want) {
		t.Errorf("the state lacks %s:\n%s", want, list)
	}
	if strings.Contains(list, "kustomization.after") {
		t.Errorf("the skipped block is in the state:\n%s", list)
	}
	code, show, stderr := runCLI(t, "state", "show", "kustomization.slow", "--state", filepath.Join(dir, ".strata", "state.db"))
	if code != 0 || !regexp.MustCompile(`status\s+= "failed"`).MatchString(show) {
		t.Errorf("state show kustomization.slow: exit %d, want status failed:\n%s%s", code, show, stderr)
	}
}

// syncBuffer is a bytes.Buffer that a child process writes while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) contains(s string) bool { return strings.Contains(b.String(), s) }

// freezeRule says when a freezingProxy stops answering: from the first
// request before matches, or after a response after matches.
type freezeRule struct {
	before func(r *http.Request) bool
	after  func(res *http.Response) bool
}

// clusterProxy returns a reverse proxy to the test cluster's API server
// that sends requests on with the cluster's admin credentials (the
// handler in front of it drops the client's own Authorization header).
func clusterProxy(t *testing.T, c *testcluster.Cluster) *httputil.ReverseProxy {
	t.Helper()
	cfg := c.RESTConfig()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = rt
	return rp
}

// freezingProxy is an API server in front of the test cluster that passes
// requests on (with the cluster's admin credentials) until rule says to
// freeze, and from then on accepts every request and never answers, like
// an API server whose process was stopped. It returns its address and a
// channel closed when the first request reached the frozen server.
func freezingProxy(t *testing.T, c *testcluster.Cluster, rule freezeRule) (addr string, asked <-chan struct{}) {
	t.Helper()
	var frozen atomic.Bool
	release, first := make(chan struct{}), make(chan struct{})
	var once sync.Once
	rp := clusterProxy(t, c)
	rp.ModifyResponse = func(res *http.Response) error {
		if rule.after != nil && rule.after(res) {
			frozen.Store(true)
		}
		return nil
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule.before != nil && rule.before(r) {
			frozen.Store(true)
		}
		if !frozen.Load() {
			r.Header.Del("Authorization")
			rp.ServeHTTP(w, r)
			return
		}
		once.Do(func() { close(first) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	srv.StartTLS()
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv.Listener.Addr().String(), first
}

// TestSIGTERMWithLockHeldAgainstFrozenServer sends SIGTERM to strata plan
// with the kubernetes backend when the API server froze while strata held
// the lock: right after the Lease was taken (the lock's fence is not
// written yet) or once the plan started (its first discovery request).
// Releasing the lock used to wait for the backend's request timeout (30
// seconds) after the interrupt; strata must stop within a few seconds and
// say that the lock was not released.
func TestSIGTERMWithLockHeldAgainstFrozenServer(t *testing.T) {
	c := testcluster.Get(t)
	tests := map[string]struct {
		rule    freezeRule
		warning string // what strata says about the lock it could not release
	}{
		"taking the lock": {rule: freezeRule{after: func(res *http.Response) bool {
			r := res.Request
			return (r.Method == http.MethodPost || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/leases") && res.StatusCode < 300
		}}, warning: "was not released, and expires with its lease"},
		"planning": {rule: freezeRule{before: func(r *http.Request) bool {
			return r.URL.Path == "/api" || r.URL.Path == "/apis"
		}}, warning: "was not released: "},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "frozenlock")
			addr, asked := freezingProxy(t, c, tt.rule)
			dir, kc := unreachableStack(t, addr)
			writeFiles(t, dir, map[string]string{
				"backend.hcl": "strata {\n  backend \"kubernetes\" {\n    namespace = \"" + ns + "\"\n    name = \"frozen\"\n  }\n}\n",
			})
			var out syncBuffer
			cmd := startChild(t, &out, "plan", dir, "--kubeconfig", kc)
			select {
			case <-asked:
			case <-time.After(60 * time.Second):
				t.Fatalf("no request reached the frozen server in 60s\n%s", out.String())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				took := time.Since(sent)
				t.Logf("stopped %s after SIGTERM\n%s", took.Round(time.Millisecond), out.String())
				if code := exitCode(t, err); code != 1 {
					t.Errorf("exit %d, want 1", code)
				}
				if took > 5*time.Second {
					t.Errorf("took %s to stop after SIGTERM, want at most 5s", took)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("still running 60s after SIGTERM\n%s", out.String())
			}
			if !out.contains(tt.warning) || !out.contains("expires with its lease") {
				t.Errorf("output does not say that the lock was not released (%q) and expires", tt.warning)
			}
			if klogLine.MatchString(out.String()) {
				t.Errorf("output has klog lines")
			}
		})
	}
}
