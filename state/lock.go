package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"
)

// Who returns "user@host" for lock info and history, taking the user from
// $USER (or $USERNAME) through getenv, else from the operating system.
func Who(getenv func(string) string) string {
	name := getenv("USER")
	if name == "" {
		name = getenv("USERNAME")
	}
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

// LockWait takes the lock like Store.Lock, retrying while another holder has
// it until timeout has passed. A zero timeout tries once. The error after the
// timeout is the last *LockedError, which names the holder.
func LockWait(ctx context.Context, s Store, info LockInfo, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Millisecond
	for {
		id, err := s.Lock(ctx, info)
		if err == nil || !errors.Is(err, ErrLocked) {
			return id, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", err
		}
		wait := min(delay, left)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("waiting for the state lock: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, time.Second)
	}
}

// Update reads the current snapshot, lets fn change it and writes it back
// with opts. fn's error aborts the update and is returned as is.
func Update(ctx context.Context, s Store, opts WriteOptions, fn func(*Snapshot) error) (*Snapshot, error) {
	snap, err := s.Read(ctx)
	if err != nil {
		return nil, err
	}
	if err := fn(snap); err != nil {
		return nil, err
	}
	if err := s.Write(ctx, snap, opts); err != nil {
		return nil, err
	}
	return snap, nil
}

// CheckPush applies Terraform's rules for replacing the current snapshot
// with an uploaded one: the lineages must match (unless the current state is
// empty), and the uploaded serial must be newer, or equal with the same
// content.
func CheckPush(current, incoming *Snapshot) error {
	if current.Serial == 0 && current.Lineage == "" {
		return nil
	}
	if incoming.Lineage != current.Lineage {
		return fmt.Errorf("cannot push a state with lineage %q over lineage %q: %w", incoming.Lineage, current.Lineage, ErrLineageMismatch)
	}
	switch {
	case incoming.Serial < current.Serial:
		return fmt.Errorf("cannot push serial %d over the newer serial %d: %w", incoming.Serial, current.Serial, ErrStaleSerial)
	case incoming.Serial == current.Serial && !SameContent(current, incoming):
		return fmt.Errorf("cannot push serial %d: the stored state has the same serial with different content: %w", incoming.Serial, ErrStaleSerial)
	}
	return nil
}

// CheckWrite is the shared write rule of the backends, called inside their
// transaction with the stored lineage and serial and whether snap's content
// equals the stored content. It returns the lineage and serial to store
// snap under and whether anything is to be written.
func CheckWrite(storedLineage string, storedSerial uint64, same bool, snap *Snapshot, force bool) (lineage string, serial uint64, changed bool, err error) {
	if force {
		lineage = cmpOr(snap.Lineage, storedLineage, NewLineage)
		if same && snap.Serial == storedSerial && lineage == storedLineage {
			return storedLineage, storedSerial, false, nil
		}
		return lineage, max(snap.Serial, storedSerial+1), true, nil
	}
	if storedLineage != "" && snap.Lineage != "" && snap.Lineage != storedLineage {
		return "", 0, false, fmt.Errorf("snapshot lineage %q, stored %q: %w", snap.Lineage, storedLineage, ErrLineageMismatch)
	}
	switch {
	case snap.Serial < storedSerial:
		return "", 0, false, fmt.Errorf("snapshot serial %d, stored %d: %w", snap.Serial, storedSerial, ErrStaleSerial)
	case same && snap.Serial == storedSerial:
		return storedLineage, storedSerial, false, nil
	}
	lineage = cmpOr(storedLineage, snap.Lineage, NewLineage)
	if snap.Serial > storedSerial {
		return lineage, snap.Serial, true, nil
	}
	return lineage, storedSerial + 1, true, nil
}

func cmpOr(a, b string, def func() string) string {
	if a != "" {
		return a
	}
	if b != "" {
		return b
	}
	return def()
}

// CheckLock is the shared lock rule of Write: held is the current lock (nil
// when unlocked) and id the caller's lock ID.
func CheckLock(held *LockInfo, id string) error {
	switch {
	case held == nil && id == "":
		return nil
	case held == nil:
		return fmt.Errorf("lock %s: %w", id, ErrLockLost)
	case held.ID == id:
		return nil
	case id == "":
		return &LockedError{Holder: *held}
	default:
		return fmt.Errorf("lock %s: %w; %w", id, ErrLockLost, &LockedError{Holder: *held})
	}
}
