package main

import (
	"os"
	"runtime"
	"testing"
)

// TestChildPeakRSS checks that the peak memory the benchmarks report for a
// strata child process is the child's own: with 512 MB resident in this
// process, `strata version` in a child reports far less. (getrusage's
// ru_maxrss of the child would report at least the 512 MB, see
// cliPeakRSSEnv.)
func TestChildPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from /proc/self/status, which only Linux has")
	}
	// The parent holds 512 MB (a byte per page written, so that every
	// page is resident), more than the child can need even as a -race
	// binary (about 220 MB; 130 MB without the race detector): a figure
	// that includes the parent's memory, as getrusage's did, fails.
	ballast := make([]byte, 512<<20)
	for i := 0; i < len(ballast); i += os.Getpagesize() {
		ballast[i] = 1
	}
	code, _, rss, out := runChild(t, "version")
	runtime.KeepAlive(ballast)
	if code != 0 {
		t.Fatalf("strata version: exit %d\n%s", code, out)
	}
	if rss <= 0 || rss >= 400 {
		t.Errorf("peak RSS of strata version in a child: %.1f MB, want more than 0 and less than 400", rss)
	}
	t.Logf("peak RSS of strata version in a child: %.1f MB", rss)
}
