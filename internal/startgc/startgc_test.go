package startgc

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary report the collector's settings after
// Done instead of running the tests, so that each case has a process of
// its own (the settings are the process's).
const childEnv = "STARTGC_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		child()
		return
	}
	os.Exit(m.Run())
}

// child prints the settings right after Done, whether a small allocation
// collected, and the settings after a collection.
func child() {
	before := numGC()
	Done()
	p, l := settings()
	fmt.Printf("after Done: gogc=%d limit=%d\n", p, l)
	sink := make([][]byte, 0, 64)
	for range 64 { // 8 MB, well under Budget
		sink = append(sink, make([]byte, 128<<10))
	}
	fmt.Printf("collections while allocating 8 MB: %d\n", numGC()-before)
	runtime.KeepAlive(sink)
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for l == Budget && time.Now().Before(deadline) {
		if p2, l2 := settings(); p2 != p || l2 != l {
			break
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	p, l = settings()
	fmt.Printf("after a collection: gogc=%d limit=%d\n", p, l)
}

func numGC() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func settings() (gogc int64, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

func runChild(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=1", "GOGC=", "GOMEMLIMIT="}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return string(out)
}

// TestDoneHoldsCollectorUntilBudget: without $GOGC or $GOMEMLIMIT the
// collector stays off (a memory limit of Budget) and a command that
// allocates less never collects; the first collection gives the defaults
// back (GOGC=100, no limit).
func TestDoneHoldsCollectorUntilBudget(t *testing.T) {
	out := runChild(t)
	if !strings.Contains(out, fmt.Sprintf("after Done: gogc=-1 limit=%d\n", Budget)) {
		t.Errorf("no memory limit of %d after Done:\n%s", Budget, out)
	}
	if !strings.Contains(out, "collections while allocating 8 MB: 0\n") {
		t.Errorf("the collector ran under the budget:\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf("after a collection: gogc=100 limit=%d\n", int64(math.MaxInt64))) {
		t.Errorf("the defaults are not back after a collection:\n%s", out)
	}
}

// TestDoneKeepsEnvironmentSettings: $GOGC and $GOMEMLIMIT win.
func TestDoneKeepsEnvironmentSettings(t *testing.T) {
	out := runChild(t, "GOGC=250")
	if !strings.Contains(out, fmt.Sprintf("after Done: gogc=250 limit=%d\n", int64(math.MaxInt64))) {
		t.Errorf("GOGC=250 not kept:\n%s", out)
	}
	out = runChild(t, "GOMEMLIMIT=1GiB")
	if !strings.Contains(out, fmt.Sprintf("after Done: gogc=100 limit=%d\n", 1<<30)) {
		t.Errorf("GOMEMLIMIT=1GiB not kept:\n%s", out)
	}
}
