package main

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/startgc"
	"github.com/strata-gitops/strata/internal/testcluster"
)

// cliChildEnv makes the test binary run as strata itself, so that tests
// can start the CLI as a real process (signals, peak memory).
const cliChildEnv = "STRATA_TEST_CLI_CHILD"

// cliPeakRSSEnv names a file that the child writes its peak resident memory
// to when it ends (VmHWM of /proc/self/status, e.g. "123456 kB"). The
// parent cannot take it from getrusage: Go starts a child with vfork, and
// Linux counts the memory the child shared with the parent before its exec
// in the child's ru_maxrss, so that figure is never below the parent's own
// resident memory.
const cliPeakRSSEnv = "STRATA_TEST_CLI_PEAK_RSS_FILE"

func TestMain(m *testing.M) {
	startgc.Done() // as main does
	if os.Getenv(cliChildEnv) != "" {
		code := run(os.Args[1:])
		if f := os.Getenv(cliPeakRSSEnv); f != "" {
			writePeakRSS(f)
		}
		os.Exit(code)
	}
	testcluster.Main(m)
}

// writePeakRSS writes the VmHWM line of /proc/self/status to file (nothing
// where there is no such line).
func writePeakRSS(file string) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			_ = os.WriteFile(file, []byte(strings.TrimSpace(v)), 0o600)
			return
		}
	}
}
