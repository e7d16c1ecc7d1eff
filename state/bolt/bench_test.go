package bolt_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/bolt"
	"github.com/strata-gitops/strata/state/statetest"
)

const benchObjects = 100_000

// benchStore returns a store holding 100,000 objects in 100 blocks.
func benchStore(b *testing.B) (*bolt.Store, *state.Snapshot) {
	b.Helper()
	s, err := bolt.Open(bolt.Options{Path: filepath.Join(b.TempDir(), "state.db")})
	if err != nil {
		b.Fatal(err)
	}
	snap := statetest.Snapshot(100, benchObjects, "a")
	if err := s.Write(b.Context(), snap, state.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	return s, snap
}

// BenchmarkRead reads a snapshot of 100,000 objects.
func BenchmarkRead(b *testing.B) {
	s, _ := benchStore(b)
	for b.Loop() {
		snap, err := s.Read(b.Context())
		if err != nil || len(snap.Objects) != benchObjects {
			b.Fatal(err, len(snap.Objects))
		}
	}
}

// BenchmarkWriteOneBlock writes a snapshot of 100,000 objects in which one
// block of 1,000 objects changed: the engine's write after each block.
func BenchmarkWriteOneBlock(b *testing.B) {
	s, snap := benchStore(b)
	i := 0
	for b.Loop() {
		i++
		objs := append([]state.Object(nil), snap.BlockObjects("kustomization.k007")...)
		for j := range objs {
			objs[j].ResourceVersion = fmt.Sprint(i)
		}
		snap.SetBlockObjects("kustomization.k007", objs)
		if err := s.Write(b.Context(), snap, state.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteAll writes a snapshot of 100,000 objects that all changed.
func BenchmarkWriteAll(b *testing.B) {
	s, snap := benchStore(b)
	i := 0
	for b.Loop() {
		i++
		next := statetest.Snapshot(100, benchObjects, fmt.Sprint(i))
		next.Lineage, next.Serial = snap.Lineage, snap.Serial
		if err := s.Write(b.Context(), next, state.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
		snap = next
	}
}
