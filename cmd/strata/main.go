// Command strata is a plan/apply engine for the objects Flux CD manages.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}
