package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// Environment variables that profile a whole command, for the developers
// (README, Development): a CPU profile and an allocation profile for
// `go tool pprof`, and an execution trace for `go tool trace`, which shows
// the waits (requests to the cluster, locks) that a CPU profile cannot.
const (
	cpuProfileEnv   = "STRATA_CPUPROFILE"
	allocProfileEnv = "STRATA_MEMPROFILE"
	traceEnv        = "STRATA_TRACE"
)

// startProfiles starts the profiles that the environment asks for and
// returns the function that stops and writes them. Errors go to stderr:
// profiling never changes what the command does.
func startProfiles(getenv func(string) string, stderr io.Writer) (stop func()) {
	var stops []func()
	if path := getenv(cpuProfileEnv); path != "" {
		if f, err := os.Create(path); err != nil {
			fmt.Fprintf(stderr, "Warning: %s: %v\n", cpuProfileEnv, err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			fmt.Fprintf(stderr, "Warning: %s: %v\n", cpuProfileEnv, err)
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := getenv(traceEnv); path != "" {
		if f, err := os.Create(path); err != nil {
			fmt.Fprintf(stderr, "Warning: %s: %v\n", traceEnv, err)
		} else if err := trace.Start(f); err != nil {
			f.Close()
			fmt.Fprintf(stderr, "Warning: %s: %v\n", traceEnv, err)
		} else {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	if path := getenv(allocProfileEnv); path != "" {
		stops = append(stops, func() { writeAllocProfile(path, stderr) })
	}
	stops = append(stops, startHeapProfile(getenv, stderr))
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// writeAllocProfile writes the allocations of the whole command (sampled,
// as the runtime does by default) to path, after a collection so that the
// profile is complete.
func writeAllocProfile(path string, stderr io.Writer) {
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "Warning: %s: %v\n", allocProfileEnv, err)
	}
}
