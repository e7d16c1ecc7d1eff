package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// heapProfileEnv names the file that receives a heap profile taken when the
// live heap was at its largest during the command (checked every 20 ms; at
// the end if no collection ran before), for `go tool pprof
// -sample_index=inuse_space`: what holds the memory at the peak.
const heapProfileEnv = "STRATA_HEAPPROFILE"

// startHeapProfile starts watching the live heap if the environment asks
// for it and returns the function that stops and writes the profile.
func startHeapProfile(getenv func(string) string, stderr io.Writer) (stop func()) {
	path := getenv(heapProfileEnv)
	if path == "" {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan []byte)
	go watchHeap(done, finished)
	return func() {
		close(done)
		if err := os.WriteFile(path, <-finished, 0o644); err != nil {
			fmt.Fprintf(stderr, "Warning: %s: %v\n", heapProfileEnv, err)
		}
	}
}

// watchHeap takes a heap profile each time the live heap grows by a tenth
// over the largest seen, until done, and sends the last one.
func watchHeap(done <-chan struct{}, finished chan<- []byte) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	var last bytes.Buffer
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			if last.Len() == 0 {
				_ = pprof.Lookup("heap").WriteTo(&last, 0)
			}
			finished <- last.Bytes()
			return
		case <-t.C:
		}
		metrics.Read(s)
		if v := s[0].Value.Uint64(); v > peak+peak/10 {
			peak = v
			last.Reset()
			_ = pprof.Lookup("heap").WriteTo(&last, 0)
		}
	}
}
