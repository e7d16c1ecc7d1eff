package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	bbolt "go.etcd.io/bbolt"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/crypt"
)

// keyEncryption holds, in the meta bucket of an encrypted state, the data
// key encrypted to the configured age recipients. Records of an encrypted
// state are keyed by a keyed digest of their name and hold the sealed name
// and record; history entries are sealed. Lineage, serial and the lock stay
// readable, so that locking and force-unlock work without the key.
var keyEncryption = []byte("encryption")

// codec turns records into what is stored: as they are, or sealed.
type codec struct {
	rec *crypt.Records // nil: plaintext
}

// seal returns the stored form of the records of bucket, sorted by key.
func (c codec) seal(bucket []byte, kvs []kv) []kv {
	if c.rec == nil {
		return kvs
	}
	out := make([]kv, len(kvs))
	for i, x := range kvs {
		plain := append(appendString(nil, x.k), x.v...)
		out[i] = kv{c.rec.Name(x.k), c.rec.Seal(string(bucket), plain)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

// open returns the name and record of the stored key k and value v.
func (c codec) open(bucket, k, v []byte) ([]byte, []byte, error) {
	if c.rec == nil {
		return k, v, nil
	}
	plain, err := c.rec.Open(string(bucket), v)
	if err != nil {
		return nil, nil, err
	}
	n, w := binary.Uvarint(plain)
	if w <= 0 || uint64(len(plain)-w) < n {
		return nil, nil, fmt.Errorf("encrypted state record in %s: %w", bucket, errBadObject)
	}
	return plain[w : w+int(n)], plain[w+int(n):], nil
}

// sealValue returns the stored form of a value without a name (history).
func (c codec) sealValue(bucket, v []byte) []byte {
	if c.rec == nil {
		return v
	}
	return c.rec.Seal(string(bucket), v)
}

func (c codec) openValue(bucket, v []byte) ([]byte, error) {
	if c.rec == nil {
		return v, nil
	}
	return c.rec.Open(string(bucket), v)
}

// records returns the sealer of the state's data key wrapped, opening it
// with the configured key the first time.
func (s *Store) records(wrapped []byte) (*crypt.Records, error) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.rec != nil && bytes.Equal(s.recWrapped, wrapped) {
		return s.rec, nil
	}
	rec, err := s.key.OpenRecords(wrapped)
	if err != nil {
		return nil, fmt.Errorf("state %s is encrypted, and %w", s.path, err)
	}
	s.rec, s.recWrapped = rec, bytes.Clone(wrapped)
	return rec, nil
}

// codecFor returns the codec of the state in tx as the store may read it:
// an encrypted state needs the key, and a state with records that is not
// encrypted is refused when a key is configured (never a silent
// plaintext fallback).
func (s *Store) codecFor(tx *bbolt.Tx) (codec, error) {
	meta := tx.Bucket(bucketMeta)
	wrapped := meta.Get(keyEncryption)
	switch {
	case wrapped != nil && s.key == nil:
		return codec{}, fmt.Errorf("state %s is %w: add the strata { encryption } block with the key it was encrypted with, or run strata state migrate --decrypt with that key",
			s.path, crypt.ErrNoKey)
	case wrapped != nil:
		rec, err := s.records(wrapped)
		return codec{rec: rec}, err
	case s.key != nil && !empty(tx):
		return codec{}, fmt.Errorf("state %s is %w: run strata state migrate --encrypt to encrypt it (history included)", s.path, crypt.ErrNotEncrypted)
	}
	return codec{}, nil
}

// empty reports whether the state in tx has neither records nor history.
func empty(tx *bbolt.Tx) bool {
	if len(tx.Bucket(bucketMeta).Get(keyLineage)) > 0 {
		return false
	}
	for _, b := range [][]byte{bucketBlocks, bucketObjects, bucketReleases, bucketHistory} {
		if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
			return false
		}
	}
	return true
}

// writeCodec returns the codec a write uses: the state's own, or for an
// empty state with a key configured, a new data key (stored in meta).
func (s *Store) writeCodec(tx *bbolt.Tx, fresh *freshKey) (codec, error) {
	meta := tx.Bucket(bucketMeta)
	if s.key == nil || meta.Get(keyEncryption) != nil || !empty(tx) {
		return s.codecFor(tx)
	}
	if fresh == nil || fresh.rec == nil {
		return codec{}, errRetryEncrypted
	}
	if err := meta.Put(keyEncryption, fresh.wrapped); err != nil {
		return codec{}, err
	}
	s.recMu.Lock()
	s.rec, s.recWrapped = fresh.rec, bytes.Clone(fresh.wrapped)
	s.recMu.Unlock()
	return codec{rec: fresh.rec}, nil
}

// errRetryEncrypted asks Write to make a data key and try again.
var errRetryEncrypted = errors.New("encrypted state needs a new data key")

// freshKey is a data key made outside a transaction (encrypting it to a
// passphrase takes a while) for a state that gets its first records.
type freshKey struct {
	rec     *crypt.Records
	wrapped []byte
}

// prepareKey returns a new data key when the state is about to be
// encrypted for the first time: a key is configured, and the state has
// none yet.
func (s *Store) prepareKey(ctx context.Context) (*freshKey, error) {
	if s.key == nil {
		return nil, nil
	}
	needed := true
	var wrapped []byte
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		if _, _, _, _, _, err := buckets(tx); err != nil {
			return err
		}
		wrapped = bytes.Clone(tx.Bucket(bucketMeta).Get(keyEncryption))
		needed = wrapped == nil && empty(tx)
		return nil
	})
	if err != nil && !errors.Is(err, errNoState) {
		return nil, err
	}
	if wrapped != nil {
		// Open the data key now, outside the write transaction: with a
		// passphrase it takes a while.
		_, err := s.records(wrapped)
		return nil, err
	}
	if !needed {
		return nil, nil
	}
	rec, wrapped, err := s.key.NewRecords()
	if err != nil {
		return nil, err
	}
	return &freshKey{rec: rec, wrapped: wrapped}, nil
}

// MigrateEncryption implements state.EncryptionMigrator: it copies every
// record and history entry of the state into a new file, encrypted with
// the configured key (encrypt) or in plaintext, keeping lineage, serial
// and the lock, and moves the new file into place. A new file, because
// bbolt leaves deleted records in free pages. lockID is the caller's lock.
func (s *Store) MigrateEncryption(ctx context.Context, lockID string, encrypt bool) error {
	if s.key == nil {
		return errors.New("migrating the state's encryption needs the strata { encryption } block with the key")
	}
	var fresh *freshKey
	if encrypt {
		rec, wrapped, err := s.key.NewRecords()
		if err != nil {
			return err
		}
		fresh = &freshKey{rec: rec, wrapped: wrapped}
	} else if _, err := s.prepareKey(ctx); err != nil {
		return fmt.Errorf("migrating state %s: %w", s.path, err)
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
		if err := state.CheckLock(held, lockID); err != nil {
			return err
		}
		encrypted := meta.Get(keyEncryption) != nil
		switch {
		case encrypt && encrypted:
			return fmt.Errorf("state %s is already encrypted", s.path)
		case !encrypt && !encrypted:
			return fmt.Errorf("state %s is not encrypted", s.path)
		}
		from := codec{}
		if encrypted {
			rec, err := s.records(meta.Get(keyEncryption))
			if err != nil {
				return err
			}
			from = codec{rec: rec}
		}
		to := codec{}
		if fresh != nil {
			to = codec{rec: fresh.rec}
		}
		return s.rewrite(tx, from, to, fresh)
	})
	if err != nil {
		return fmt.Errorf("migrating state %s: %w", s.path, err)
	}
	s.memoMu.Lock()
	s.memo = nil // the records are stored under another key now
	s.memoMu.Unlock()
	s.recMu.Lock()
	s.rec, s.recWrapped = nil, nil
	if fresh != nil {
		s.rec, s.recWrapped = fresh.rec, fresh.wrapped
	}
	s.recMu.Unlock()
	return nil
}

// rewrite writes the state of tx, recoded, into a new file and renames it
// over the state file; tx's file lock keeps other processes out meanwhile.
func (s *Store) rewrite(tx *bbolt.Tx, from, to codec, fresh *freshKey) error {
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, ".state-*.db")
	if err != nil {
		return err
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	db, err := bbolt.Open(name, 0o600, &bbolt.Options{Timeout: s.timeout})
	if err != nil {
		return err
	}
	err = db.Update(func(ntx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketBlocks, bucketObjects, bucketReleases, bucketHistory} {
			if _, err := ntx.CreateBucket(b); err != nil {
				return err
			}
		}
		meta := ntx.Bucket(bucketMeta)
		if err := tx.Bucket(bucketMeta).ForEach(func(k, v []byte) error {
			if bytes.Equal(k, keyEncryption) {
				return nil
			}
			return meta.Put(bytes.Clone(k), bytes.Clone(v))
		}); err != nil {
			return err
		}
		if fresh != nil {
			if err := meta.Put(keyEncryption, fresh.wrapped); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bucketBlocks, bucketObjects, bucketReleases} {
			if err := recode(tx.Bucket(b), ntx.Bucket(b), b, from, to); err != nil {
				return err
			}
		}
		return recodeHistory(tx.Bucket(bucketHistory), ntx.Bucket(bucketHistory), from, to)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(name, 0o600); err != nil {
		return err
	}
	return os.Rename(name, s.path)
}

// recode copies the records of src into dst, from one codec to another.
func recode(src, dst *bbolt.Bucket, name []byte, from, to codec) error {
	var kvs []kv
	err := src.ForEach(func(k, v []byte) error {
		n, rec, err := from.open(name, k, v)
		if err != nil {
			return err
		}
		kvs = append(kvs, kv{string(n), bytes.Clone(rec)})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
	for _, x := range to.seal(name, kvs) {
		if err := dst.Put([]byte(x.k), x.v); err != nil {
			return err
		}
	}
	return nil
}

// recodeHistory copies the history entries (keyed by sequence) of src
// into dst, from one codec to another, keeping the sequence.
func recodeHistory(src, dst *bbolt.Bucket, from, to codec) error {
	err := src.ForEach(func(k, v []byte) error {
		plain, err := from.openValue(bucketHistory, v)
		if err != nil {
			return err
		}
		return dst.Put(bytes.Clone(k), to.sealValue(bucketHistory, bytes.Clone(plain)))
	})
	if err != nil {
		return err
	}
	return dst.SetSequence(src.Sequence())
}
