// Package statetest is the conformance suite every state.Store backend
// passes, and snapshot fixtures for tests and benchmarks.
package statetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/strata-gitops/strata/state"
)

// Backend creates a new, empty state for one test and returns a function
// that opens a new handle on it, as another process would. The backend
// closes the handles in t.Cleanup.
type Backend func(t *testing.T) (open func() state.Store)

// Snapshot returns a valid snapshot with the given number of kustomization
// blocks sharing n objects, plus one release; the first block has an
// intent and a former address. tag changes every object's
// digest and the blocks' revisions, so snapshots with different tags differ
// everywhere, and ConsistentTag can tell which tag a snapshot was built
// with.
func Snapshot(blocks, n int, tag string) *state.Snapshot {
	t0 := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	s := &state.Snapshot{Version: state.SchemaVersion}
	for i := range blocks {
		s.Blocks = append(s.Blocks, state.Block{
			Address:      fmt.Sprintf("kustomization.k%03d", i),
			Kind:         "kustomization",
			ConfigDigest: digest("config", fmt.Sprint(i)),
			Revision:     "main@sha1:" + tag,
			AppliedAt:    t0.Add(time.Duration(i) * time.Second),
			Status:       state.StatusApplied,
		})
		if i > 0 {
			s.Blocks[i].DependsOn = []string{s.Blocks[i-1].Address}
		}
	}
	if blocks > 0 {
		// An interrupted apply and a moved block: every backend keeps them.
		s.Blocks[0].Intents = []state.Intent{{Version: "v1", Kind: "ConfigMap", Namespace: "ns-0", Name: "pending-" + tag}}
		s.Blocks[0].MovedFrom = []string{"kustomization.old"}
	}
	s.Blocks = append(s.Blocks, state.Block{Address: "release.kafka", Kind: "release", Revision: "0.43.0", AppliedAt: t0, Status: state.StatusApplied, DependsOn: []string{"kustomization.k000"}})
	s.Releases = []state.Release{{Address: "release.kafka", Name: "kafka", Namespace: "platform", Chart: "strimzi-kafka-operator", Version: "0.43.0", ValuesDigest: digest("values", tag), Revision: 3, Status: "deployed"}}
	s.Objects = make([]state.Object, n)
	for i := range n {
		o := state.Object{
			Block: fmt.Sprintf("kustomization.k%03d", i%blocks), Group: "apps", Version: "v1", Kind: "Deployment",
			Namespace: fmt.Sprintf("ns-%d", i%50), Name: fmt.Sprintf("app-%06d", i),
			Digest: "sha256:" + digest(tag, fmt.Sprint(i)), UID: digest("uid", fmt.Sprint(i))[:36], ResourceVersion: fmt.Sprint(1000 + i),
		}
		if i%5 == 0 {
			o.Group, o.Kind = "", "ConfigMap"
		}
		if i%3 != 0 {
			o.FieldsHash = digest("fields", tag, fmt.Sprint(i))
		}
		o.Address = o.Addr().Address(o.Block)
		s.Objects[i] = o
	}
	s.Normalize()
	return s
}

func digest(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// ConsistentTag returns the tag a snapshot from Snapshot was built with, or
// an error when its parts come from different tags (a torn read).
func ConsistentTag(s *state.Snapshot) (string, error) {
	if len(s.Blocks) == 0 {
		return "", nil
	}
	tag := strings.TrimPrefix(s.Blocks[0].Revision, "main@sha1:")
	for _, b := range s.Blocks {
		if b.Kind == "kustomization" && b.Revision != "main@sha1:"+tag {
			return "", fmt.Errorf("block %s has revision %s, first block %s", b.Address, b.Revision, tag)
		}
	}
	for _, o := range s.Objects {
		i, err := strconv.Atoi(strings.TrimPrefix(o.Name, "app-"))
		if err != nil || o.Digest != "sha256:"+digest(tag, fmt.Sprint(i)) {
			return "", fmt.Errorf("object %s does not belong to tag %s", o.Address, tag)
		}
	}
	return tag, nil
}

var snapOpts = cmp.Options{cmpopts.EquateEmpty()}

// TestStore runs the conformance suite against a backend.
func TestStore(t *testing.T, backend Backend) {
	ctx := context.Background()
	info := func(op string) state.LockInfo {
		return state.LockInfo{Operation: op, Who: "tester@host", Created: time.Now().UTC().Truncate(time.Second)}
	}

	t.Run("EmptyState", func(t *testing.T) {
		s := backend(t)()
		snap, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Serial != 0 || snap.Lineage != "" || len(snap.Blocks)+len(snap.Objects)+len(snap.Releases) != 0 {
			t.Errorf("empty state: got serial %d lineage %q with %d blocks", snap.Serial, snap.Lineage, len(snap.Blocks))
		}
		if h, err := s.History(ctx); err != nil || len(h) != 0 {
			t.Errorf("History() = %v, %v; want empty", h, err)
		}
		if l, err := s.LockStatus(ctx); err != nil || l != nil {
			t.Errorf("LockStatus() = %v, %v; want nil", l, err)
		}
	})

	t.Run("WriteRead", func(t *testing.T) {
		open := backend(t)
		s := open()
		want := Snapshot(3, 100, "a")
		if err := s.Write(ctx, want, state.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if want.Serial != 1 || len(want.Lineage) != 36 {
			t.Errorf("after first write: serial %d lineage %q; want 1 and a UUID", want.Serial, want.Lineage)
		}
		got, err := open().Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got, snapOpts); d != "" {
			t.Errorf("Read() (-want +got):\n%s", d)
		}
	})

	t.Run("SerialOnlyMovesOnChange", func(t *testing.T) {
		s := backend(t)()
		snap := Snapshot(2, 10, "a")
		mustWrite(t, s, snap, state.WriteOptions{})
		lineage := snap.Lineage
		mustWrite(t, s, snap, state.WriteOptions{})
		if snap.Serial != 1 {
			t.Errorf("unchanged write: serial %d, want 1", snap.Serial)
		}
		snap.Objects[0].ResourceVersion = "99999"
		mustWrite(t, s, snap, state.WriteOptions{})
		if snap.Serial != 2 || snap.Lineage != lineage {
			t.Errorf("changed write: serial %d lineage %q, want 2 and %q", snap.Serial, snap.Lineage, lineage)
		}
		snap.Remove(snap.Objects[0].Address)
		mustWrite(t, s, snap, state.WriteOptions{})
		got, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(snap, got, snapOpts); d != "" || got.Serial != 3 {
			t.Errorf("after removing an object, serial %d (-want +got):\n%s", got.Serial, d)
		}
	})

	t.Run("StaleSerialRefused", func(t *testing.T) {
		open := backend(t)
		a, b := open(), open()
		mustWrite(t, a, Snapshot(1, 5, "a"), state.WriteOptions{})
		sa, _ := a.Read(ctx)
		sb, _ := b.Read(ctx)
		sb.Objects[0].UID = "changed-by-b"
		mustWrite(t, b, sb, state.WriteOptions{})
		sa.Objects[1].UID = "changed-by-a"
		if err := a.Write(ctx, sa, state.WriteOptions{}); !errors.Is(err, state.ErrStaleSerial) {
			t.Errorf("write of a stale snapshot: got %v, want ErrStaleSerial", err)
		}
	})

	t.Run("LineageAndPush", func(t *testing.T) {
		s := backend(t)()
		snap := Snapshot(1, 5, "a")
		mustWrite(t, s, snap, state.WriteOptions{})
		foreign := Snapshot(1, 5, "b")
		foreign.Lineage, foreign.Serial = state.NewLineage(), 7
		if err := s.Write(ctx, foreign, state.WriteOptions{}); !errors.Is(err, state.ErrLineageMismatch) {
			t.Errorf("write of a foreign lineage: got %v, want ErrLineageMismatch", err)
		}
		newer := Snapshot(1, 5, "c")
		newer.Lineage, newer.Serial = snap.Lineage, 10
		mustWrite(t, s, newer, state.WriteOptions{})
		if newer.Serial != 10 {
			t.Errorf("push of serial 10 stored serial %d", newer.Serial)
		}
		foreign.Serial = 3
		lineage := foreign.Lineage
		mustWrite(t, s, foreign, state.WriteOptions{Force: true})
		if foreign.Serial != 11 || foreign.Lineage != lineage {
			t.Errorf("forced push: serial %d lineage %q, want 11 and %q", foreign.Serial, foreign.Lineage, lineage)
		}
		got, _ := s.Read(ctx)
		if d := cmp.Diff(foreign, got, snapOpts); d != "" {
			t.Errorf("after forced push (-want +got):\n%s", d)
		}
	})

	t.Run("InvalidSnapshotRefused", func(t *testing.T) {
		s := backend(t)()
		snap := Snapshot(1, 3, "a")
		snap.Objects = append(snap.Objects, snap.Objects[0])
		if err := s.Write(ctx, snap, state.WriteOptions{}); err == nil {
			t.Fatal("write of a snapshot with a duplicate object succeeded")
		}
		if got, _ := s.Read(ctx); got.Serial != 0 {
			t.Errorf("invalid write changed serial to %d", got.Serial)
		}
	})

	t.Run("History", func(t *testing.T) {
		s := backend(t)()
		snap := Snapshot(1, 3, "a")
		mustWrite(t, s, snap, state.WriteOptions{History: &state.HistoryEntry{Operation: "apply", Who: "a@h", Added: 3}})
		mustWrite(t, s, snap, state.WriteOptions{History: &state.HistoryEntry{Operation: "apply", Who: "a@h"}})
		snap.Remove(snap.Objects[0].Address)
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		mustWrite(t, s, snap, state.WriteOptions{History: &state.HistoryEntry{Operation: "state rm", Who: "b@h", Removed: 1, Time: at, Detail: "x"}})
		got, err := s.History(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []state.HistoryEntry{
			{Serial: 1, Operation: "apply", Who: "a@h", Added: 3},
			{Serial: 1, Operation: "apply", Who: "a@h"},
			{Serial: 2, Operation: "state rm", Who: "b@h", Removed: 1, Time: at, Detail: "x"},
		}
		if d := cmp.Diff(want, got, cmpopts.IgnoreFields(state.HistoryEntry{}, "Time")); d != "" {
			t.Errorf("History() (-want +got):\n%s", d)
		}
		if !got[2].Time.Equal(at) || got[0].Time.IsZero() {
			t.Errorf("history times: %v, %v", got[0].Time, got[2].Time)
		}
	})

	t.Run("Lock", func(t *testing.T) {
		open := backend(t)
		a, b := open(), open()
		ia := info("apply")
		id, err := a.Lock(ctx, ia)
		if err != nil {
			t.Fatal(err)
		}
		ia.ID = id
		_, err = b.Lock(ctx, info("destroy"))
		var le *state.LockedError
		if !errors.As(err, &le) || !errors.Is(err, state.ErrLocked) {
			t.Fatalf("second Lock: got %v, want a *LockedError", err)
		}
		if d := cmp.Diff(ia, le.Holder, cmpopts.EquateApproxTime(time.Second)); d != "" {
			t.Errorf("LockedError.Holder (-want +got):\n%s", d)
		}
		for _, w := range []string{id, "apply", "tester@host"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("lock error %q does not name %q", err, w)
			}
		}
		if st, err := b.LockStatus(ctx); err != nil || st == nil || st.ID != id {
			t.Errorf("LockStatus() = %v, %v; want lock %s", st, err, id)
		}
		// Readers are not blocked by the lock; writers without it are refused.
		snap, err := b.Read(ctx)
		if err != nil {
			t.Fatalf("Read while locked: %v", err)
		}
		snap = Snapshot(1, 2, "b")
		if err := b.Write(ctx, snap, state.WriteOptions{}); !errors.Is(err, state.ErrLocked) {
			t.Errorf("unlocked write while locked: got %v, want ErrLocked", err)
		}
		if err := b.Write(ctx, snap, state.WriteOptions{LockID: "other"}); !errors.Is(err, state.ErrLockLost) || !errors.Is(err, state.ErrLocked) {
			t.Errorf("write with a foreign lock ID: got %v, want ErrLockLost and ErrLocked", err)
		}
		if err := a.Write(ctx, Snapshot(1, 2, "a"), state.WriteOptions{LockID: id}); err != nil {
			t.Errorf("write by the holder: %v", err)
		}
		if err := b.Unlock(ctx, "other"); !errors.Is(err, state.ErrLockMismatch) {
			t.Errorf("Unlock with a wrong ID: got %v, want ErrLockMismatch", err)
		}
		if err := a.Unlock(ctx, id); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		if err := a.Unlock(ctx, id); !errors.Is(err, state.ErrNotLocked) {
			t.Errorf("second Unlock: got %v, want ErrNotLocked", err)
		}
		if err := a.Write(ctx, Snapshot(1, 2, "c"), state.WriteOptions{LockID: id}); !errors.Is(err, state.ErrLockLost) {
			t.Errorf("write with a released lock: got %v, want ErrLockLost", err)
		}
		if st, err := b.LockStatus(ctx); err != nil || st != nil {
			t.Errorf("LockStatus() after Unlock = %v, %v; want nil", st, err)
		}
	})

	t.Run("ForceUnlock", func(t *testing.T) {
		open := backend(t)
		a, b := open(), open()
		id, err := a.Lock(ctx, info("apply"))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.ForceUnlock(ctx, "wrong"); !errors.Is(err, state.ErrLockMismatch) {
			t.Errorf("ForceUnlock with a wrong ID: got %v, want ErrLockMismatch", err)
		}
		if err := b.ForceUnlock(ctx, id); err != nil {
			t.Fatalf("ForceUnlock: %v", err)
		}
		idb, err := b.Lock(ctx, info("apply"))
		if err != nil {
			t.Fatalf("Lock after ForceUnlock: %v", err)
		}
		snap := Snapshot(1, 2, "late")
		if err := a.Write(ctx, snap, state.WriteOptions{LockID: id}); !errors.Is(err, state.ErrLockLost) {
			t.Errorf("write by the force-unlocked holder: got %v, want ErrLockLost", err)
		}
		if err := b.Unlock(ctx, idb); err != nil {
			t.Error(err)
		}
	})

	t.Run("Lease", func(t *testing.T) {
		open := backend(t)
		a, b := open(), open()
		id, err := a.Lock(ctx, info("apply"))
		if err != nil {
			t.Fatal(err)
		}
		l := a.Lease(id)
		if err := l.Held(); err != nil {
			t.Fatalf("Lease of a lock just taken: %v", err)
		}
		select {
		case <-l.Lost():
			t.Fatal("Lost() is closed for a lock just taken")
		default:
		}
		if err := b.Lease(id).Held(); !errors.Is(err, state.ErrLockLost) {
			t.Errorf("Lease of a lock another store took: got %v, want ErrLockLost", err)
		}
		if err := a.Unlock(ctx, id); err != nil {
			t.Fatal(err)
		}
		select {
		case <-l.Lost():
		case <-time.After(10 * time.Second):
			t.Fatal("Lost() is not closed after Unlock")
		}
		if err := l.Held(); !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), id) {
			t.Errorf("Held() after Unlock: got %v, want ErrLockLost naming the lock", err)
		}

		// A holder whose lock another process force-unlocked learns it
		// within seconds, without a state write of its own, and its
		// state writes are refused.
		id, err = a.Lock(ctx, info("apply"))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.ForceUnlock(ctx, id); err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.Lease(id).Lost():
		case <-time.After(10 * time.Second):
			t.Error("the holder did not learn within 10s that its lock was force-unlocked")
		}
		if err := a.Lease(id).Held(); !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "force-unlock") {
			t.Errorf("Held() after a force-unlock: got %v, want ErrLockLost saying it was force-unlocked", err)
		}
		if err := a.Write(ctx, Snapshot(1, 2, "a"), state.WriteOptions{LockID: id}); !errors.Is(err, state.ErrLockLost) {
			t.Fatalf("write after force-unlock: got %v, want ErrLockLost", err)
		}
		if err := a.Lease(id).Held(); !errors.Is(err, state.ErrLockLost) {
			t.Errorf("Held() after a refused write: got %v, want ErrLockLost", err)
		}
	})

	t.Run("LockWait", func(t *testing.T) {
		open := backend(t)
		a, b := open(), open()
		id, err := a.Lock(ctx, info("apply"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := state.LockWait(ctx, b, info("apply"), 300*time.Millisecond); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("LockWait with a short timeout: got %v, want ErrLocked", err)
		}
		go func() {
			time.Sleep(300 * time.Millisecond)
			a.Unlock(ctx, id)
		}()
		idb, err := state.LockWait(ctx, b, info("apply"), 30*time.Second)
		if err != nil {
			t.Fatalf("LockWait: %v", err)
		}
		if err := b.Unlock(ctx, idb); err != nil {
			t.Error(err)
		}
	})

	t.Run("ReadersNeverSeeTornState", func(t *testing.T) {
		open := backend(t)
		w, r := open(), open()
		const n = 3000
		snap := Snapshot(3, n, "t0")
		mustWrite(t, w, snap, state.WriteOptions{})
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var readErr error
		reads := 0
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := r.Read(ctx)
				if err == nil {
					err = got.Validate()
				}
				if err == nil {
					_, err = ConsistentTag(got)
				}
				if err == nil && len(got.Objects) != n {
					err = fmt.Errorf("read %d objects, want %d", len(got.Objects), n)
				}
				if err != nil {
					readErr = err
					return
				}
				reads++
			}
		})
		for i := 1; i <= 8; i++ {
			next := Snapshot(3, n, fmt.Sprint("t", i))
			next.Lineage, next.Serial = snap.Lineage, snap.Serial
			mustWrite(t, w, next, state.WriteOptions{})
			snap = next
		}
		close(stop)
		wg.Wait()
		if readErr != nil {
			t.Fatalf("concurrent read: %v", readErr)
		}
		if reads == 0 {
			t.Error("no read finished during the writes")
		}
	})

	t.Run("LargeSnapshot", func(t *testing.T) {
		open := backend(t)
		want := Snapshot(10, 20000, "big")
		mustWrite(t, open(), want, state.WriteOptions{})
		got, err := open().Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got, snapOpts); d != "" {
			t.Errorf("Read() (-want +got):\n%s", d)
		}
	})
}

func mustWrite(t *testing.T, s state.Store, snap *state.Snapshot, opts state.WriteOptions) {
	t.Helper()
	if err := s.Write(context.Background(), snap, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// PartialChange changes snap (made by Snapshot, with more than 10+round
// blocks) as an apply of a few blocks does: one block's objects change and
// one is added, one object and one block are removed, one block's intents
// change, and the release changes; round makes each call's changes its
// own. The backends' tests use it to check that writes storing only what
// changed since the last one round-trip.
func PartialChange(snap *state.Snapshot, round int) {
	objs := append([]state.Object(nil), snap.BlockObjects("kustomization.k003")...)
	for i := range objs {
		objs[i].ResourceVersion = fmt.Sprint("r", round, "-", i)
	}
	extra := state.Object{Block: "kustomization.k003", Version: "v1", Kind: "ConfigMap", Namespace: "ns-new", Name: fmt.Sprint("new-", round)}
	extra.Address = extra.Addr().Address(extra.Block)
	objs = append(objs[1:], extra) // one gone, one new
	snap.SetBlockObjects("kustomization.k003", objs)
	snap.Remove(fmt.Sprintf("kustomization.k%03d", 10+round))
	b, _ := snap.Block("kustomization.k001")
	b.Intents = []state.Intent{{Version: "v1", Kind: "Secret", Namespace: "ns", Name: fmt.Sprint("intent-", round)}}
	snap.PutBlock(b)
	r, _ := snap.Release("release.kafka")
	r.Revision += 1
	snap.PutRelease(r)
}
