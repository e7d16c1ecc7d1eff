package main

import (
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNoGCWhilePackagesInitialise starts strata with the runtime's init
// and GC traces and checks that no collection started between the init of
// internal/startgc, which holds the collector off, and the end of the
// packages' initialisation (the collector used to run three or four
// times), that startgc comes before the heavy packages, and that the
// collector is back on once the command runs. (A collection that the
// packages initialised before startgc start is theirs: it is allowed.)
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
	// "init PKG @12 ms, ..." and "gc 1 @0.012s ...": both start times.
	// The runtime writes an init line in pieces, so a collection's line
	// can land inside it ("init PKG @gc 1 @0.031s ...", the rest of the
	// init line after it): such a line is split, and the init line, cut
	// short, has no start time (ok false).
	startOf := func(l string) (float64, bool) {
		_, at, _ := strings.Cut(l, " @")
		f := strings.Fields(at)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "s"), 64)
		if err != nil {
			return 0, false
		}
		if strings.HasPrefix(l, "gc ") {
			v *= 1000
		}
		return v, true
	}
	trace := regexp.MustCompile(`([^\n])(gc [0-9]+ @)`).ReplaceAllString(string(out), "$1\n$2")
	startgc, lastInit := -1.0, 0.0
	var gcs []string
	for _, l := range strings.Split(trace, "\n") {
		switch {
		case strings.HasPrefix(l, "init github.com/strata-gitops/strata/internal/startgc "):
			v, ok := startOf(l)
			if !ok {
				t.Fatalf("no start time in %q:\n%s", l, out)
			}
			startgc = v
		case strings.HasPrefix(l, "init "):
			if v, ok := startOf(l); ok {
				lastInit = v
			}
			for _, heavy := range []string{"github.com/santhosh-tekuri/jsonschema/v6", "k8s.io/client-go/kubernetes/scheme", "helm.sh/helm/v3/pkg/chartutil"} {
				if strings.HasPrefix(l, "init "+heavy+" ") && startgc < 0 {
					t.Errorf("%s initialised before internal/startgc", heavy)
				}
			}
		case strings.HasPrefix(l, "gc "):
			gcs = append(gcs, l)
		}
	}
	if startgc < 0 {
		t.Fatalf("no init of internal/startgc in the trace:\n%s", out)
	}
	for _, l := range gcs {
		// The traces count whole milliseconds: a collection that started
		// in startgc's millisecond started before it, one in the last
		// init's millisecond when main gave the collector back.
		at, ok := startOf(l)
		if !ok {
			t.Fatalf("no start time in %q:\n%s", l, out)
		}
		if at >= startgc+1 && at < lastInit {
			t.Errorf("a collection started while packages initialised (startgc at %.0f ms, the last init at %.0f ms): %s", startgc, lastInit, l)
		}
	}
}

// TestGCBackOn checks that the collector has its setting again in the
// tests' process, as in strata's after main started (TestMain and main call
// startgc.Done): $GOGC's, or, by default, 100 after the first collection
// (until then startgc holds it off under its budget).
func TestGCBackOn(t *testing.T) {
	want := 100
	switch v := os.Getenv("GOGC"); {
	case v == "off":
		want = -1
	case v != "":
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("GOGC=%q: %v", v, err)
		}
		want = n
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() != want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := gcPercent(); got != want {
		t.Errorf("GC percent %d, want %d", got, want)
	}
}

// gcPercent returns the collector's setting (-1: off) without changing it.
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(int64(s[0].Value.Uint64()))
}
