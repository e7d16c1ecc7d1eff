package statetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/crypt"
)

// EncryptedBackend creates a new, empty state for one test and returns a
// function that opens a handle on it with a key (nil: no encryption
// configured), and one that returns everything the backend stored, as
// bytes, for checks that nothing is in plaintext.
type EncryptedBackend func(t *testing.T) (open func(key *crypt.Key) state.Store, raw func() []byte)

// Planted are names in the snapshot TestEncryption writes, which must not
// be found in what an encrypted backend stores.
var Planted = []string{"kustomization.k000", "release.kafka", "strimzi-kafka-operator", "app-000001", "pending-enc", "ns-1"}

// TestEncryption checks a backend's encryption at rest: with a key, what
// it stores holds none of the state's names; without the key, or with
// another, reading fails with crypt.ErrNoKey or crypt.ErrWrongKey; a
// plaintext state is refused with a key configured (crypt.ErrNotEncrypted)
// until migrated; migration both ways keeps the snapshot and its history.
func TestEncryption(t *testing.T, backend EncryptedBackend) {
	ctx := context.Background()
	key, err := crypt.PassphraseForTests("correct horse battery", 10)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypt.PassphraseForTests("another passphrase", 10)
	snap := Snapshot(2, 20, "enc")
	hist := func(n int) *state.HistoryEntry {
		return &state.HistoryEntry{Operation: "apply", Who: "tester@host", Time: time.Date(2026, 12, 1, 0, 0, n, 0, time.UTC),
			Added: 1, Detail: "kustomization.k000 -> kustomization.k001"}
	}
	check := func(t *testing.T, s state.Store, wantHistory int) {
		t.Helper()
		got, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if d := cmp.Diff(snap.Objects, got.Objects, snapOpts); d != "" {
			t.Errorf("objects (-want +got):\n%s", d)
		}
		if d := cmp.Diff(snap.Releases, got.Releases, snapOpts); d != "" {
			t.Errorf("releases (-want +got):\n%s", d)
		}
		h, err := s.History(ctx)
		if err != nil || len(h) != wantHistory {
			t.Errorf("history %d entries, %v; want %d", len(h), err, wantHistory)
		}
	}
	noPlaintext := func(t *testing.T, raw []byte) {
		t.Helper()
		for _, p := range Planted {
			if bytes.Contains(raw, []byte(p)) {
				t.Errorf("the stored state holds %q in plaintext", p)
			}
		}
	}

	t.Run("encrypted", func(t *testing.T) {
		open, raw := backend(t)
		s, cur := open(key), snap.Clone()
		if err := s.Write(ctx, cur, state.WriteOptions{History: hist(1)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, cur, state.WriteOptions{History: hist(2)}); err != nil {
			t.Fatal(err)
		}
		check(t, open(key), 2)
		noPlaintext(t, raw())
		if _, err := open(nil).Read(ctx); !errors.Is(err, crypt.ErrNoKey) {
			t.Errorf("read without the key: %v, want ErrNoKey", err)
		}
		if _, err := open(nil).History(ctx); !errors.Is(err, crypt.ErrNoKey) {
			t.Errorf("history without the key: %v, want ErrNoKey", err)
		}
		if _, err := open(other).Read(ctx); !errors.Is(err, crypt.ErrWrongKey) {
			t.Errorf("read with another key: %v, want ErrWrongKey", err)
		}
		if err := open(nil).Write(ctx, cur, state.WriteOptions{}); !errors.Is(err, crypt.ErrNoKey) {
			t.Errorf("write without the key: %v, want ErrNoKey", err)
		}
	})

	t.Run("migrate", func(t *testing.T) {
		open, raw := backend(t)
		if err := open(nil).Write(ctx, snap.Clone(), state.WriteOptions{History: hist(1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := open(key).Read(ctx); !errors.Is(err, crypt.ErrNotEncrypted) {
			t.Fatalf("plaintext state read with a key: %v, want ErrNotEncrypted", err)
		}
		migrate := func(encrypt bool) {
			t.Helper()
			s := open(key)
			id, err := s.Lock(ctx, state.LockInfo{Operation: "migrate", Who: "tester@host"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Unlock(ctx, id)
			m, ok := s.(state.EncryptionMigrator)
			if !ok {
				t.Fatal("store does not implement state.EncryptionMigrator")
			}
			if err := m.MigrateEncryption(ctx, id, encrypt); err != nil {
				t.Fatalf("migrate (encrypt %v): %v", encrypt, err)
			}
		}
		before, err := open(nil).Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		migrate(true)
		check(t, open(key), 1)
		noPlaintext(t, raw())
		after, err := open(key).Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after.Lineage != before.Lineage || after.Serial != before.Serial {
			t.Errorf("migration changed lineage/serial %s/%d to %s/%d", before.Lineage, before.Serial, after.Lineage, after.Serial)
		}
		if err := open(key).Write(ctx, after, state.WriteOptions{History: hist(2)}); err != nil {
			t.Fatal(err)
		}
		migrate(false)
		check(t, open(nil), 2)
	})
}
