package bolt_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/bolt"
	"github.com/strata-gitops/strata/state/crypt"
	"github.com/strata-gitops/strata/state/statetest"
)

// TestWriteAfterPartialChangeRoundTrip checks that writes which store only
// what changed (the store's memo of what it wrote) leave exactly the
// written snapshot in the file, also when another store wrote in between,
// plain and encrypted.
func TestWriteAfterPartialChangeRoundTrip(t *testing.T) {
	key, err := crypt.PassphraseForTests("memo", 10)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]*crypt.Key{"plain": nil, "encrypted": key} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			open := func() *bolt.Store {
				s, err := bolt.Open(bolt.Options{Path: path, Key: key})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			s, other := open(), open()
			snap := statetest.Snapshot(20, 2000, "a")
			write := func(s *bolt.Store, snap *state.Snapshot) {
				t.Helper()
				if err := s.Write(t.Context(), snap, state.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
				got, err := open().Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(snap, got); diff != "" {
					t.Fatalf("read after write (-written +read):\n%s", diff)
				}
			}
			write(s, snap)
			for round := range 3 {
				statetest.PartialChange(snap, round)
				write(s, snap)
			}
			// Another store writes: s's memo no longer matches the file.
			theirs, err := other.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			statetest.PartialChange(theirs, 5)
			write(other, theirs)
			if err := s.Write(t.Context(), snap, state.WriteOptions{}); err == nil {
				t.Fatal("a write of a stale snapshot succeeded")
			}
			snap, err = s.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			statetest.PartialChange(snap, 6)
			write(s, snap)
			write(s, snap) // no change: serial kept
		})
	}
}

// TestWriteCostFollowsTheChange checks that a write after one block of
// 100 objects changed allocates about as much in a snapshot of 10,000
// objects as in one of 1,000: it no longer encodes and compares the whole
// snapshot.
func TestWriteCostFollowsTheChange(t *testing.T) {
	allocs := func(n int) float64 {
		s, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "state.db")})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		snap := statetest.Snapshot(n/100, n, "a")
		if err := s.Write(t.Context(), snap, state.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		round := 0
		return testing.AllocsPerRun(5, func() {
			round++
			objs := append([]state.Object(nil), snap.BlockObjects("kustomization.k007")...)
			for i := range objs {
				objs[i].ResourceVersion = fmt.Sprint(round)
			}
			snap.SetBlockObjects("kustomization.k007", objs)
			if err := s.Write(t.Context(), snap, state.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(1000), allocs(10000)
	t.Logf("allocations per write after one block of 100 objects changed: %.0f at 1,000 objects, %.0f at 10,000", small, large)
	if large > 2*small {
		t.Errorf("a write at 10,000 objects allocates %.0f times, %.1fx as many as at 1,000 (%.0f): it grows with the snapshot", large, large/small, small)
	}
}
