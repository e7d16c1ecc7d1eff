// Package startgc holds the garbage collector off while the packages that
// strata links initialise, and then until the heap first reaches a
// budget, once main calls Done.
//
// Their initialisation allocates about 12 MB (Helm's JSON schema drafts,
// the client-go schemes, the cloud SDKs of SOPS) while the heap starts
// with a goal of 4 MB, so the collector used to run four times before
// main, for nothing: almost everything allocated stays live. That was a
// quarter of the CPU time of starting strata, which every command pays.
//
// Most commands then allocate a few tens of megabytes in all (a no-change
// plan of 1,010 objects about 40 MB) and end: collecting that, four to
// seven times, was a fifth of their CPU time, for memory the process
// gives back when it exits anyway. So, unless $GOGC or $GOMEMLIMIT says
// otherwise, the collector stays off until the heap reaches Budget; its
// first collection gives it the default setting back (GOGC=100, no
// memory limit), so a large command (10,000 objects) collects as before
// and its peak memory does not grow.
//
// Go initialises packages in the order of their import paths, each once
// its imports are: this one, which imports only the runtime, comes
// before most of the heavy ones (see TestStartGCBeforeHeavyPackages).
// Only package main may import it, and it must call Done first thing:
// until then nothing is ever collected.
package startgc

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// Budget is the heap size at which the collector starts collecting when
// neither $GOGC nor $GOMEMLIMIT is set.
const Budget = 64 << 20

// percent is the collector's setting from $GOGC (default 100).
var percent = debug.SetGCPercent(-1)

var once sync.Once

// Done gives the collector its setting back: $GOGC's or $GOMEMLIMIT's when
// either is set, otherwise the default after the first collection, which
// runs when the heap reaches Budget. It may be called more than once.
func Done() {
	once.Do(func() {
		if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
			debug.SetGCPercent(percent)
			return
		}
		holdUntil(Budget, percent)
	})
}

// holdUntil keeps the collector off until the heap reaches limit (a
// memory limit with collection off), then, after that first collection,
// sets the collector's percent and lifts the limit.
func holdUntil(limit int64, percent int) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(limit)
	afterNextGC(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

// sentinel is large enough not to share a block of the tiny allocator
// with other objects, so that it becomes unreachable on its own.
type sentinel struct{ _ [32]byte }

// afterNextGC runs f once the next collection has run: the finalizer of
// an unreachable object runs after the collection that found it so.
func afterNextGC(f func()) {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) { f() })
}
