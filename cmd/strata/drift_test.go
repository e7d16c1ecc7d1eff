package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/drift"
)

// driftTestStack writes a stack with a ConfigMap and a Secret in ns, and
// extra HCL, into a directory with a unique name (the stack's label).
func driftTestStack(t *testing.T, ns, extra string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("dstack"))
	files := map[string]string{
		"main.hcl": `
kustomization "app" {
  path = "app"
}
kustomization "paused" {
  path    = "app"
  suspend = true
}
` + extra,
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [objects.yaml]\n",
		"app/objects.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: topsecret-in-git}
`,
	}
	writeFiles(t, dir, files)
	return dir
}

func TestDriftCommand(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "dcmd")
	dir := driftTestStack(t, ns, "")
	kc := "--kubeconfig=" + c.Kubeconfig()
	if code, out, errOut := runStrata(t, "", "apply", "--auto-approve", kc, dir); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}

	if code, _, errOut := runStrata(t, "", "plan", kc, dir); code != 0 || !strings.Contains(errOut, "Skipping kustomization.paused: suspend = true.") {
		t.Errorf("plan: exit %d, stderr %q; want it to say it skips the suspended block", code, errOut)
	}
	code, out, errOut := runStrata(t, "", "drift", kc, "--no-color", dir)
	if code != 0 || !strings.Contains(out, "No drift: 2 objects checked") || !strings.Contains(out, "kustomization.paused: suspended, not checked") {
		t.Fatalf("drift without drift: exit %d\n%s\n%s", code, out, errOut)
	}

	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	code, out, errOut = runStrata(t, "", "drift", kc, "--no-color", dir)
	if code != 2 || !strings.Contains(out, "~ kustomization.app/ConfigMap/"+ns+"/settings changed in the cluster outside strata") ||
		!strings.Contains(out, `data.mode: "slow" -> "fast"`) {
		t.Errorf("drift: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, _ = runStrata(t, "", "drift", kc, "-o", "json", dir)
	var rep drift.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 2 {
		t.Fatalf("drift -o json: exit %d, %v\n%s", code, err, out)
	}
	if b := rep.Block("kustomization.app"); b == nil || len(b.Items) != 1 || b.Items[0].Fields[0].Path != "data.mode" {
		t.Errorf("json report: %+v", rep.Blocks)
	}
	code, out, _ = runStrata(t, "", "drift", kc, "-o", "markdown", dir)
	if code != 2 || !strings.Contains(out, "| `kustomization.app` | `ConfigMap/"+ns+"/settings` | changed in the cluster outside strata | data.mode |") {
		t.Errorf("drift -o markdown: exit %d\n%s", code, out)
	}

	code, out, errOut = runStrata(t, "", "status", kc, dir)
	if code != 0 || !regexp.MustCompile(`kustomization\s+kustomization\.app\s+-\s+True\s+applied\s+\S+Z\s+1\s+false`).MatchString(out) ||
		!regexp.MustCompile(`kustomization\s+kustomization\.paused\s+-\s+False\s+suspended; not applied yet\s+-\s+-\s+true`).MatchString(out) {
		t.Errorf("status: exit %d\n%s\n%s", code, out, errOut)
	}

	// --correct applies the drifted block; the drift is gone after.
	code, out, errOut = runStrata(t, "", "drift", kc, "--correct", dir)
	if code != 0 || !strings.Contains(out, "Correcting drift: applying kustomization.app.") {
		t.Errorf("drift --correct: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := runStrata(t, "", "drift", kc, dir); code != 0 {
		t.Errorf("drift after --correct: exit %d\n%s\n%s", code, out, errOut)
	}

	c.Kubectl(t, "-n", ns, "delete", "configmap", "settings")
	code, out, _ = runStrata(t, "", "drift", kc, "--no-color", dir)
	if code != 2 || !strings.Contains(out, "- kustomization.app/ConfigMap/"+ns+"/settings deleted in the cluster outside strata") {
		t.Errorf("drift after delete: exit %d\n%s", code, out)
	}
}

// hookReceiver is a webhook endpoint recording notification bodies.
type hookReceiver struct {
	mu     sync.Mutex
	bodies []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies = append(h.bodies, string(b)+" "+r.Header.Get("Authorization"))
}

func (h *hookReceiver) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...)
}

func TestDriftWatch(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "dwatch")
	hook := &hookReceiver{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	dir := driftTestStack(t, ns, `
notification "ops" {
  type    = "webhook"
  url     = "`+srv.URL+`/hooks/SECRET-PATH-TOKEN"
  headers = { Authorization = "Bearer SECRET-HEADER-TOKEN" }
}
`)
	kc := "--kubeconfig=" + c.Kubeconfig()
	if code, out, errOut := runStrata(t, "", "apply", "--auto-approve", kc, dir); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}

	w := startWatch(t, "--interval=2s", kc, dir)
	driftApp := `strata_drift_objects{block="kustomization.app"}`
	w.waitMetric(t, driftApp, "0")
	if res, err := http.Get(w.base + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	first := w.metric("strata_last_check_timestamp_seconds")

	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	c.Kubectl(t, "-n", ns, "patch", "secret", "creds", "--type=merge", "-p", `{"stringData":{"password":"topsecret-by-hand"}}`)
	w.waitMetric(t, driftApp, "2")
	if w.metric("strata_last_check_timestamp_seconds") == first {
		t.Error("strata_last_check_timestamp_seconds did not move")
	}
	// Two more checks with the same drift send nothing more.
	checks := w.metric("strata_checks_total")
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n < 2 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if c := w.metric("strata_checks_total"); c != checks {
			checks = c
			n++
		}
	}
	got := hook.got()
	if len(got) != 1 {
		t.Fatalf("got %d notifications, want 1: %q", len(got), got)
	}
	body := got[0]
	if !strings.Contains(body, `"event":"drift"`) || !strings.Contains(body, `"fields":["data.mode"]`) || !strings.Contains(body, "Bearer SECRET-HEADER-TOKEN") {
		t.Errorf("notification: %s", body)
	}
	body = strings.TrimSuffix(body, " Bearer SECRET-HEADER-TOKEN")
	for _, secret := range []string{"topsecret", "dG9wc2VjcmV0", "SECRET", "slow", "fast"} {
		if strings.Contains(body, secret) {
			t.Errorf("notification contains %q: %s", secret, body)
		}
	}

	// The watch ends cleanly on SIGTERM; TestDriftWatchStopsOnSignal checks
	// that it does not wait for the next check.
	w.stop(t, 30*time.Second)
}

// TestDriftWatchStopsOnSignal checks what users of watch mode rely on: on
// SIGTERM the watch stops at once, without waiting for its next check. The
// interval is an hour, so waiting for it would fail; the bound is generous
// so that a loaded machine or -race does not.
func TestDriftWatchStopsOnSignal(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "dwstop")
	dir := driftTestStack(t, ns, "")
	kc := "--kubeconfig=" + c.Kubeconfig()
	if code, out, errOut := runStrata(t, "", "apply", "--auto-approve", kc, dir); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	w := startWatch(t, "--interval=1h", kc, dir)
	w.waitMetric(t, "strata_checks_total", "1") // the first check is done: the watch sleeps
	w.stop(t, 15*time.Second)
}

// watchProcess is a `strata drift --watch` child process that serves its
// metrics.
type watchProcess struct {
	cmd  *exec.Cmd
	done chan error // the exit of cmd
	base string     // http://ADDR of the metrics server
	log  func() string
}

// startWatch starts `strata drift --watch --metrics-addr=127.0.0.1:0` with
// args and waits until it serves metrics; it is killed at the end of t.
func startWatch(t *testing.T, args ...string) *watchProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"drift", "--watch", "--metrics-addr=127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), cliChildEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watchProcess{cmd: cmd, done: make(chan error, 1)}
	var logMu sync.Mutex
	var log strings.Builder
	w.log = func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return log.String()
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if a, ok := strings.CutPrefix(sc.Text(), "Serving metrics on "); ok {
				addr <- strings.TrimSuffix(a, "/metrics")
			}
		}
		w.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("strata drift --watch stderr:\n%s\nstdout:\n%s", w.log(), stdout.String())
		}
	})
	select {
	case w.base = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("no metrics address")
	}
	return w
}

// metric returns the value of a metric, "" when it is not there.
func (w *watchProcess) metric(name string) string {
	res, err := http.Get(w.base + "/metrics")
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// waitMetric waits up to 30 s until a metric has the value want.
func (w *watchProcess) waitMetric(t *testing.T, name, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for w.metric(name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", name, w.metric(name), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and checks that the watch exits cleanly, saying
// "Stopped.", within the bound.
func (w *watchProcess) stop(t *testing.T, within time.Duration) {
	t.Helper()
	start := time.Now()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		if !strings.Contains(w.log(), "Stopped.") {
			t.Error("no \"Stopped.\" on stderr after SIGTERM")
		}
		t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(within):
		t.Fatalf("still running %s after SIGTERM", within)
	}
}
