package main

import (
	"runtime"
	"testing"
)

// TestChildPeakRSS checks that the peak memory the benchmarks report for a
// strata child process is the child's own: with 256 MB resident in this
// process, `strata version` in a child reports far less. (getrusage's
// ru_maxrss of the child would report at least the 256 MB, see
// cliPeakRSSEnv.)
func TestChildPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the child reads its peak from /proc/self/status")
	}
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	code, _, rss, out := runChild(t, "version")
	runtime.KeepAlive(ballast)
	if code != 0 {
		t.Fatalf("strata version: exit %d\n%s", code, out)
	}
	if rss <= 0 || rss >= 200 {
		t.Errorf("peak RSS of strata version in a child: %.1f MB, want more than 0 and less than 200", rss)
	}
	t.Logf("peak RSS of strata version in a child: %.1f MB", rss)
}
