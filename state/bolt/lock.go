package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

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
	held := state.NewTracker(info.ID, s.now, 0)
	s.leases.Add(held)
	s.startWatch(info.ID, held)
	return info.ID, nil
}

// Lease implements state.Store. The lock is data in the file and does not
// expire: its lease is held until this store releases it, or until this
// store sees the lock record in the file no longer name it (another process
// force-unlocked it, or took it over after that, or the file was removed).
// The file is looked at every Options.LockPoll, and read when it changed
// (and every lockReread anyway); a state write under a lock that is no
// longer the file's is refused and also loses it.
func (s *Store) Lease(id string) state.Lease { return s.leases.Get(id) }

// lockReread is how often watchLock reads the lock record of a file that
// does not seem to have changed (a file system's coarse modification
// times can hide a change).
const lockReread = 5 * time.Second

// startWatch runs watchLock for lock id until stopWatch or Close.
func (s *Store) startWatch(id string, held *state.Tracker) {
	ctx, cancel := context.WithCancel(context.Background())
	s.watchMu.Lock()
	s.watching[id] = cancel
	s.watchMu.Unlock()
	s.watchWG.Go(func() { s.watchLock(ctx, id, held) })
}

// stopWatch stops the watchLock of lock id, if any.
func (s *Store) stopWatch(id string) {
	s.watchMu.Lock()
	stop := s.watching[id]
	delete(s.watching, id)
	s.watchMu.Unlock()
	if stop != nil {
		stop()
	}
}

// watchLock marks held lost as soon as the lock record in the file is no
// longer lock id's. A file it cannot read for now (another process's
// transaction keeps it busy) is looked at again at the next poll.
func (s *Store) watchLock(ctx context.Context, id string, held *state.Tracker) {
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	var last os.FileInfo // of the file when its record was last read
	var read time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-held.Lost():
			return
		case <-tick.C:
		}
		fi, err := os.Stat(s.path)
		if errors.Is(err, fs.ErrNotExist) {
			held.Lose("was removed: the state file " + s.path + " no longer exists")
			return
		}
		if err != nil || last != nil && sameFile(last, fi) && time.Since(read) < lockReread {
			continue
		}
		rec, err := s.peekLock()
		if err != nil {
			continue
		}
		last, read = fi, time.Now()
		switch {
		case rec == nil:
			held.Lose("was released by another process (force-unlock)")
		case rec.ID != id:
			held.Lose(fmt.Sprintf("was taken over by lock %s of %s (operation %q)", rec.ID, rec.Who, rec.Operation))
		}
	}
}

// sameFile reports whether a and b describe the same file, unmodified.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// peekLock reads the lock record, waiting at most one poll interval for
// the file.
func (s *Store) peekLock() (*lockRecord, error) {
	db, err := bbolt.Open(s.path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: s.poll})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var rec *lockRecord
	err = db.View(func(tx *bbolt.Tx) error {
		meta, _, _, _, _, err := buckets(tx)
		if err != nil {
			return err
		}
		rec, err = readLockRecord(meta)
		return err
	})
	return rec, err
}

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
	s.stopWatch(id) // its own release is no loss to report
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
