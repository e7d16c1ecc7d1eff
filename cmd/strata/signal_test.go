package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// klogLine matches a line written by klog (client-go's logger), such as
// `E1130 23:37:33.939253    7974 memcache.go:381] "Couldn't get ..."`.
var klogLine = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]`)

// unreachableStack writes a stack with one kustomization and a kubeconfig
// whose API server is addr, and returns the stack directory and the
// kubeconfig path.
func unreachableStack(t *testing.T, addr string) (dir, kubeconfig string) {
	t.Helper()
	dir = t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl":    "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\ndata:\n  a: b\n",
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
func startChild(t *testing.T, out *bytes.Buffer, args ...string) *exec.Cmd {
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
// API group list") must not be printed, and the real error must be.
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
	if !bytes.Contains(out.Bytes(), []byte("Error: ")) || !bytes.Contains(out.Bytes(), []byte("connection refused")) {
		t.Errorf("output lacks the error:\n%s", out.String())
	}
}

// frozenServer is an API server that accepts connections and requests
// and never answers, like one whose etcd is stopped. It returns its
// address.
func frozenServer(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	return srv.Listener.Addr().String()
}

// TestSIGTERMStopsPlanAgainstFrozenServer sends SIGTERM to strata plan one
// second after it started against an API server that never answers, with
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
			dir, kc := unreachableStack(t, frozenServer(t))
			writeFiles(t, dir, tt.files)
			var out bytes.Buffer
			cmd := startChild(t, &out, append(tt.args, dir, "--kubeconfig", kc)...)
			time.Sleep(time.Second)
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
