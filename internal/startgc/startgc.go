// Package startgc holds the garbage collector off while the packages that
// strata links initialise, until main calls Done.
//
// Their initialisation allocates about 12 MB (Helm's JSON schema drafts,
// the client-go schemes, the cloud SDKs of SOPS) while the heap starts
// with a goal of 4 MB, so the collector used to run four times before
// main, for nothing: almost everything allocated stays live. That was a
// quarter of the CPU time of starting strata, which every command pays.
//
// Go initialises packages in the order of their import paths, each once
// its imports are: this one, which imports only runtime/debug, comes
// before most of the heavy ones (see TestStartGCBeforeHeavyPackages).
// Only package main may import it, and it must call Done first thing:
// until then nothing is ever collected.
package startgc

import "runtime/debug"

// percent is the collector's setting from $GOGC (default 100).
var percent = debug.SetGCPercent(-1)

// Done gives the collector its setting back. It may be called more than
// once.
func Done() { debug.SetGCPercent(percent) }
