package main

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

// TestNoGCWhilePackagesInitialise starts strata with the runtime's init
// and GC traces and checks that the collector did not run before the last
// package was initialised (internal/startgc holds it off; it used to run
// four times), that startgc comes before the heavy packages, and that the
// collector is back on once the command runs.
func TestNoGCWhilePackagesInitialise(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "version")
	cmd.Env = append(os.Environ(), cliChildEnv+"=1", "GODEBUG=inittrace=1,gctrace=1", "GOGC=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	lastInit, startgc := -1, -1
	for i, l := range lines {
		if strings.HasPrefix(l, "init ") {
			lastInit = i
			if strings.HasPrefix(l, "init github.com/strata-gitops/strata/internal/startgc ") {
				startgc = i
			}
		}
	}
	if startgc < 0 {
		t.Fatalf("no init of internal/startgc in the trace:\n%s", out)
	}
	for i, l := range lines[:lastInit] {
		if strings.HasPrefix(l, "gc ") {
			t.Errorf("the collector ran while packages initialised (line %d): %s", i, l)
		}
		for _, heavy := range []string{"github.com/santhosh-tekuri/jsonschema/v6", "k8s.io/client-go/kubernetes/scheme", "helm.sh/helm/v3/pkg/chartutil"} {
			if strings.HasPrefix(l, "init "+heavy+" ") && i < startgc {
				t.Errorf("%s initialised before internal/startgc", heavy)
			}
		}
	}
}

// TestGCBackOn checks that the collector has its default setting again
// in the tests' process, as in strata's after main started (TestMain and
// main call startgc.Done).
func TestGCBackOn(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set")
	}
	prev := debug.SetGCPercent(100)
	if prev != 100 {
		t.Errorf("GC percent %d, want 100", prev)
	}
}
