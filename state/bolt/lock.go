package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	bbolt "go.etcd.io/bbolt"

	"github.com/strata-gitops/strata/state"
)

// Lock implements state.Store.
func (s *Store) Lock(ctx context.Context, info state.LockInfo) (string, error) {
	if info.ID == "" {
		info.ID = state.NewLineage()
	}
	if info.Created.IsZero() {
		info.Created = s.now()
	}
	info.Created = info.Created.UTC()
	v, err := json.Marshal(lockRecord{LockInfo: info, Process: self()})
	if err != nil {
		return "", err
	}
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		meta, _, _, _, _, err := buckets(tx)
		if err != nil {
			return err
		}
		held, err := readLockRecord(meta)
		if err != nil {
			return err
		}
		// A lock whose holder process is gone is replaced.
		if held != nil && !dead(held.Process) {
			return &state.LockedError{Holder: held.LockInfo}
		}
		return meta.Put(keyLock, v)
	})
	if err != nil {
		return "", fmt.Errorf("locking state %s: %w", s.path, err)
	}
	s.leases.Add(state.NewTracker(info.ID, s.now, 0))
	return info.ID, nil
}

// Lease implements state.Store. The lock is data in the file and does not
// expire: its lease is held until this store releases it, or until a state
// write under it is refused because another process force-unlocked it.
func (s *Store) Lease(id string) state.Lease { return s.leases.Get(id) }

// Unlock implements state.Store.
func (s *Store) Unlock(ctx context.Context, id string) error {
	return s.unlock(ctx, id, "unlocking")
}

// ForceUnlock implements state.Store. For this backend it is Unlock: the
// lock is data in the file, removable by anyone who knows its ID.
func (s *Store) ForceUnlock(ctx context.Context, id string) error {
	return s.unlock(ctx, id, "force-unlocking")
}

func (s *Store) unlock(ctx context.Context, id, verb string) error {
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s state %s: %w", verb, s.path, state.ErrNotLocked)
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		meta, _, _, _, _, err := buckets(tx)
		if err != nil {
			return err
		}
		held, err := readLock(meta)
		if err != nil {
			return err
		}
		switch {
		case held == nil:
			return state.ErrNotLocked
		case held.ID != id:
			return fmt.Errorf("lock ID %s, current lock %s held by %s: %w", id, held.ID, held.Who, state.ErrLockMismatch)
		}
		return meta.Delete(keyLock)
	})
	if err != nil {
		return fmt.Errorf("%s state %s: %w", verb, s.path, err)
	}
	s.leases.Lose(id, "was released")
	return nil
}

// LockStatus implements state.Store.
func (s *Store) LockStatus(ctx context.Context) (*state.LockInfo, error) {
	var held *state.LockInfo
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		meta, _, _, _, _, err := buckets(tx)
		if err != nil {
			return err
		}
		held, err = readLock(meta)
		return err
	})
	if err != nil && !errors.Is(err, errNoState) {
		return nil, fmt.Errorf("reading state lock %s: %w", s.path, err)
	}
	return held, nil
}

func readLock(meta *bbolt.Bucket) (*state.LockInfo, error) {
	rec, err := readLockRecord(meta)
	if rec == nil {
		return nil, err
	}
	return &rec.LockInfo, nil
}

func readLockRecord(meta *bbolt.Bucket) (*lockRecord, error) {
	b := meta.Get(keyLock)
	if b == nil {
		return nil, nil
	}
	var rec lockRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("state lock is invalid: %w", err)
	}
	return &rec, nil
}
