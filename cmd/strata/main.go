// Command strata is a plan/apply engine for the objects Flux CD manages.
package main

import (
	"os"

	"github.com/strata-gitops/strata/internal/startgc"
)

func main() {
	startgc.Done()
	os.Exit(run(os.Args[1:]))
}
