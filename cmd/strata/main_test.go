package main

import (
	"os"
	"testing"

	"github.com/strata-gitops/strata/internal/startgc"
	"github.com/strata-gitops/strata/internal/testcluster"
)

// cliChildEnv makes the test binary run as strata itself, so that tests
// can start the CLI as a real process (signals, peak memory).
const cliChildEnv = "STRATA_TEST_CLI_CHILD"

func TestMain(m *testing.M) {
	startgc.Done() // as main does
	if os.Getenv(cliChildEnv) != "" {
		os.Exit(run(os.Args[1:]))
	}
	testcluster.Main(m)
}
