package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/crypt"
)

// An encrypted state stores each compressed segment sealed with the
// state's data key, and that key, age-encrypted to the configured
// recipients, in the index ("encryption"). Lineage, serial and the lock
// stay readable, so that locking and force-unlock work without the key.
// A segment's ID is the digest of what is stored, so the names of the
// Secrets reveal nothing either.

// segmentPlace authenticates a sealed segment as one.
const segmentPlace = "segment"

// segmentCipher seals and opens segments; a nil one leaves them as they
// are.
type segmentCipher struct {
	rec     *crypt.Records
	wrapped []byte
}

func (c *segmentCipher) seal() func([]byte) []byte {
	if c == nil || c.rec == nil {
		return nil
	}
	return func(b []byte) []byte { return c.rec.Seal(segmentPlace, b) }
}

// wrappedKey returns the data key as stored (nil when not encrypted).
func (c *segmentCipher) wrappedKey() []byte {
	if c == nil {
		return nil
	}
	return c.wrapped
}

func (c *segmentCipher) open(b []byte) ([]byte, error) {
	if c == nil || c.rec == nil {
		return b, nil
	}
	return c.rec.Open(segmentPlace, b)
}

// readEncryption returns the cipher of the state ix indexes, as the store
// may read it: an encrypted state needs the key, and a state that is not
// encrypted is refused when a key is configured (never a silent plaintext
// fallback).
func (s *Store) readEncryption(ix index) (*segmentCipher, error) {
	switch {
	case ix.encryption != nil && s.key == nil:
		return nil, fmt.Errorf("%s is %w: add the strata { encryption } block with the key it was encrypted with, or run strata state migrate --decrypt with that key",
			s, crypt.ErrNoKey)
	case ix.encryption != nil:
		return s.records(ix.encryption)
	case s.key != nil && ix.set != "":
		return nil, fmt.Errorf("%s is %w: run strata state migrate --encrypt to encrypt it (history included)", s, crypt.ErrNotEncrypted)
	}
	return nil, nil
}

// writeEncryption returns the cipher a write uses: the state's own, or for
// a state without content and a key configured, a new data key.
func (s *Store) writeEncryption(ix index) (*segmentCipher, error) {
	if s.key == nil || ix.encryption != nil || ix.set != "" {
		c, err := s.readEncryption(ix)
		if c == nil && err == nil {
			c = &segmentCipher{}
		}
		return c, err
	}
	rec, wrapped, err := s.key.NewRecords()
	if err != nil {
		return nil, err
	}
	return &segmentCipher{rec: rec, wrapped: wrapped}, nil
}

// records returns the cipher of the data key wrapped, opening it with the
// configured key the first time.
func (s *Store) records(wrapped []byte) (*segmentCipher, error) {
	s.mu.Lock()
	rec, same := s.rec, bytes.Equal(s.recWrapped, wrapped)
	s.mu.Unlock()
	if rec != nil && same {
		return &segmentCipher{rec: rec, wrapped: wrapped}, nil
	}
	rec, err := s.key.OpenRecords(wrapped)
	if err != nil {
		return nil, fmt.Errorf("%s is encrypted, and %w", s, err)
	}
	c := &segmentCipher{rec: rec, wrapped: bytes.Clone(wrapped)}
	s.setRecords(c)
	return c, nil
}

// setRecords remembers the cipher of the state as last written.
func (s *Store) setRecords(c *segmentCipher) {
	if c == nil || c.rec == nil {
		return
	}
	s.mu.Lock()
	s.rec, s.recWrapped = c.rec, c.wrapped
	s.mu.Unlock()
}

// MigrateEncryption implements state.EncryptionMigrator: it writes the
// whole state (snapshot and history) again as new segments, encrypted with
// the configured key (encrypt) or in plaintext, flips the index to them
// with the same lineage and serial, and deletes the old segments. lockID
// is the caller's lock.
func (s *Store) MigrateEncryption(ctx context.Context, lockID string, encrypt bool) error {
	if s.key == nil {
		return errors.New("migrating the state's encryption needs the strata { encryption } block with the key")
	}
	ix, err := s.getIndex(ctx)
	if err != nil {
		return err
	}
	var from *segmentCipher
	switch encrypted := ix.encryption != nil; {
	case encrypt && encrypted:
		return fmt.Errorf("%s is already encrypted", s)
	case !encrypt && !encrypted:
		return fmt.Errorf("%s is not encrypted", s)
	case encrypted:
		if from, err = s.records(ix.encryption); err != nil {
			return err
		}
	}
	p, err := s.readWith(ctx, ix, from)
	if err != nil {
		return err
	}
	held, err := s.holder(ctx, lockID)
	if err != nil {
		return err
	}
	if err := state.CheckLock(held, lockID); err != nil {
		return fmt.Errorf("migrating %s: %w", s, err)
	}
	if lockID != "" && ix.fence != lockID {
		return fmt.Errorf("migrating %s: lock %s was superseded by lock %s: %w", s, lockID, ix.fence, state.ErrLockLost)
	}
	to := &segmentCipher{}
	if encrypt {
		rec, wrapped, err := s.key.NewRecords()
		if err != nil {
			return err
		}
		to = &segmentCipher{rec: rec, wrapped: wrapped}
	}
	// Segments cached or named by the index are in the old form: write
	// every segment anew, then delete the old ones.
	s.mu.Lock()
	s.segCache, s.rec, s.recWrapped, s.memo = nil, nil, nil, nil
	s.mu.Unlock()
	next := ix
	next.set, next.encoding, next.segments, next.encryption = "", "", nil, nil
	set, memo, err := s.writePayload(ctx, next, p, ix.lineage, ix.serial, to)
	if err != nil {
		return fmt.Errorf("migrating %s: %w", s, err)
	}
	s.rememberWrite(set, p, memo, to)
	dctx := context.WithoutCancel(ctx)
	switch {
	case ix.encoding == payloadEncodingSegments:
		s.deleteSegments(dctx, ix.segments)
	case ix.set != "":
		s.deleteSet(dctx, ix.set, ix.chunks)
	}
	return nil
}

// readWith reads the payload ix names with the cipher c, whatever key the
// store is configured with.
func (s *Store) readWith(ctx context.Context, ix index, c *segmentCipher) (*payload, error) {
	if ix.encoding == payloadEncodingSegments {
		return s.readSegments(ctx, ix, c)
	}
	return s.readPayload(ctx, ix)
}
