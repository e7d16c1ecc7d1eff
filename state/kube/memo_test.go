package kube_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/crypt"
	"github.com/strata-gitops/strata/state/kube"
	"github.com/strata-gitops/strata/state/statetest"
)

// TestWriteAfterPartialChangeRoundTrip checks that writes which encode
// only what changed (the store's memo of what it wrote) leave exactly the
// written snapshot and history in the cluster, also when another store
// wrote in between, plain and encrypted.
func TestWriteAfterPartialChangeRoundTrip(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-memo")
	key, err := crypt.PassphraseForTests("memo", 10)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]*crypt.Key{"plain": nil, "encrypted": key} {
		t.Run(name, func(t *testing.T) {
			stateName := testcluster.UniqueName("memo")
			open := func() *kube.Store {
				s, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: stateName, ChunkSize: 16 << 10, Key: key})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			s, other := open(), open()
			snap := statetest.Snapshot(20, 2000, "a")
			writes := 0
			write := func(s *kube.Store, snap *state.Snapshot) {
				t.Helper()
				writes++
				h := state.HistoryEntry{Operation: "apply", Who: fmt.Sprint("w", writes), Time: time.Unix(int64(writes), 0)}
				if err := s.Write(t.Context(), snap, state.WriteOptions{History: &h}); err != nil {
					t.Fatal(err)
				}
				fresh := open()
				got, err := fresh.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(snap, got); diff != "" {
					t.Fatalf("read after write %d (-written +read):\n%s", writes, diff)
				}
				hist, err := fresh.History(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if len(hist) != writes || hist[len(hist)-1].Who != h.Who {
					t.Fatalf("history after write %d: %+v", writes, hist)
				}
			}
			write(s, snap)
			for round := range 3 {
				statetest.PartialChange(snap, round)
				write(s, snap)
			}
			// Another store writes: s's memo no longer describes the state.
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
			statetest.PartialChange(snap, 7)
			write(s, snap)
			write(s, snap) // no change: serial kept, history added
		})
	}
}

// TestWriteCostFollowsTheChange checks that a write after one block of
// 100 objects changed allocates about as many bytes in a state of 20,000
// objects as in one of 2,000, beyond the copy of the snapshot the store
// keeps (one state.Object per object): it no longer encodes, joins and
// hashes every block of the snapshot.
func TestWriteCostFollowsTheChange(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-memocost")
	perWrite := func(n int) float64 {
		s, err := kube.Open(kube.Options{Config: c.RESTConfig(), Namespace: ns, Name: testcluster.UniqueName("cost"), ChunkSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		snap := statetest.Snapshot(n/100, n, "a")
		if err := s.Write(t.Context(), snap, state.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		const rounds = 5
		var total uint64
		for round := range rounds {
			objs := append([]state.Object(nil), snap.BlockObjects("kustomization.k007")...)
			for i := range objs {
				objs[i].ResourceVersion = fmt.Sprint(round)
			}
			snap.SetBlockObjects("kustomization.k007", objs)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if err := s.Write(t.Context(), snap, state.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			total += after.TotalAlloc - before.TotalAlloc
		}
		kept := uint64(n) * uint64(unsafe.Sizeof(state.Object{}))
		return float64(total/rounds - kept)
	}
	small, large := perWrite(2000), perWrite(20000)
	t.Logf("bytes allocated per write after one block of 100 objects changed: %.0f at 2,000 objects, %.0f at 20,000", small, large)
	if large > 2*small {
		t.Errorf("a write at 20,000 objects allocates %.0f bytes, %.1fx as many as at 2,000 (%.0f): it grows with the snapshot", large, large/small, small)
	}
}
