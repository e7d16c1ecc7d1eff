package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/crypt"
)

// DefaultPath is the state file used when Options.Path is empty, relative
// to the stack directory.
const DefaultPath = ".strata/state.db"

// Options configures a Store.
type Options struct {
	// Path is the database file; default DefaultPath.
	Path string
	// OpenTimeout is how long an operation waits for another process's
	// transaction to finish (bbolt's file lock); default 30s.
	OpenTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Key, when set, encrypts the state's records and history (see
	// crypt.go); a state encrypted with it cannot be read without it.
	Key *crypt.Key
	// LockPoll is how often a held lock is checked in the file, so that a
	// force-unlock by another process is noticed (see Store.Lease);
	// default 500ms.
	LockPoll time.Duration
}

// Store is a state.Store in a bbolt file. Its methods open the file for one
// transaction each, so many processes can use the same file.
type Store struct {
	path    string
	timeout time.Duration
	now     func() time.Time
	leases  state.Leases // the locks this store took
	key     *crypt.Key   // nil: not encrypted
	poll    time.Duration

	watchMu  sync.Mutex
	watching map[string]context.CancelFunc // by lock ID: stops its watchLock
	watchWG  sync.WaitGroup

	recMu      sync.Mutex
	rec        *crypt.Records // the data key of the state, once opened
	recWrapped []byte         // rec encrypted, as stored

	memoMu sync.Mutex
	memo   *memo // what this store last wrote; nil: compare with the file
}

var _ state.Store = (*Store)(nil)

var (
	bucketMeta     = []byte("meta")
	bucketBlocks   = []byte("blocks")
	bucketObjects  = []byte("objects")
	bucketReleases = []byte("releases")
	bucketHistory  = []byte("history")

	keyVersion = []byte("version")
	keyLineage = []byte("lineage")
	keySerial  = []byte("serial")
	keyLock    = []byte("lock")
)

// Open returns a store for the file in opts.Path. It does not create the
// file: the first write does.
func Open(opts Options) (*Store, error) {
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LockPoll <= 0 {
		opts.LockPoll = 500 * time.Millisecond
	}
	return &Store{path: opts.Path, timeout: opts.OpenTimeout, now: opts.Now, key: opts.Key, poll: opts.LockPoll,
		watching: map[string]context.CancelFunc{}}, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close implements state.Store; the file is only open during operations.
// Close stops checking the locks this store holds (see Lease); it does not
// release them.
func (s *Store) Close() error {
	s.watchMu.Lock()
	for id, stop := range s.watching {
		stop()
		delete(s.watching, id)
	}
	s.watchMu.Unlock()
	s.watchWG.Wait()
	return nil
}

// errNoState is returned by view when the file does not exist yet.
var errNoState = errors.New("no state file")

// view runs fn in a read-only transaction. It returns errNoState when the
// file does not exist.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return errNoState
	}
	db, err := bbolt.Open(s.path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: s.timeout})
	if err != nil {
		return s.openError(err)
	}
	defer db.Close()
	return db.View(fn)
}

// update runs fn in a read-write transaction, creating the file first when
// needed. fn returning errRollback rolls back without an error.
func (s *Store) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.create(); err != nil {
		return err
	}
	// Map room to grow into, so that a large write does not remap (and copy
	// every node) in the middle of the transaction.
	mmap := 16 << 20
	if fi, err := os.Stat(s.path); err == nil {
		mmap += 2 * int(fi.Size())
	}
	db, err := bbolt.Open(s.path, 0o600, &bbolt.Options{Timeout: s.timeout, InitialMmapSize: mmap})
	if err != nil {
		return s.openError(err)
	}
	err = db.Update(fn)
	if cerr := db.Close(); err == nil && cerr != nil {
		return fmt.Errorf("closing state %s: %w", s.path, cerr)
	}
	if errors.Is(err, errRollback) {
		return nil
	}
	return err
}

var errRollback = errors.New("rollback")

func (s *Store) openError(err error) error {
	if errors.Is(err, bbolt.ErrTimeout) {
		return fmt.Errorf("opening state %s: another process kept the file busy for %s: %w", s.path, s.timeout, err)
	}
	return fmt.Errorf("opening state %s: %w", s.path, err)
}

// create makes the state file when it does not exist: initialised under a
// temporary name and then linked into place, so that a crash never leaves a
// half-initialised file at s.path.
func (s *Store) create() error {
	if _, err := os.Stat(s.path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".state-*.db")
	if err != nil {
		return fmt.Errorf("creating state file: %w", err)
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	db, err := bbolt.Open(name, 0o600, &bbolt.Options{Timeout: s.timeout})
	if err != nil {
		return fmt.Errorf("creating state file: %w", err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketBlocks, bucketObjects, bucketReleases, bucketHistory} {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyVersion, []byte(strconv.Itoa(state.SchemaVersion)))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o600)
	}
	if err != nil {
		return fmt.Errorf("creating state file: %w", err)
	}
	if err := os.Link(name, s.path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating state file: %w", err)
	}
	return nil
}

func buckets(tx *bbolt.Tx) (meta, blocks, objects, releases, history *bbolt.Bucket, err error) {
	meta, blocks, objects = tx.Bucket(bucketMeta), tx.Bucket(bucketBlocks), tx.Bucket(bucketObjects)
	releases, history = tx.Bucket(bucketReleases), tx.Bucket(bucketHistory)
	if meta == nil || blocks == nil || objects == nil || releases == nil || history == nil {
		return nil, nil, nil, nil, nil, errors.New("state file is not a strata state: buckets missing")
	}
	return meta, blocks, objects, releases, history, nil
}

type head struct {
	version int
	lineage string
	serial  uint64
}

func readHead(meta *bbolt.Bucket) (head, error) {
	var h head
	v, err := strconv.Atoi(string(meta.Get(keyVersion)))
	if err != nil {
		return h, fmt.Errorf("state file has an invalid schema version: %w", err)
	}
	if v > state.SchemaVersion {
		return h, fmt.Errorf("state schema version %d is newer than this strata supports (%d): upgrade strata", v, state.SchemaVersion)
	}
	h.version = v
	h.lineage = string(meta.Get(keyLineage))
	if b := meta.Get(keySerial); b != nil {
		if len(b) != 8 {
			return h, errors.New("state file has an invalid serial")
		}
		h.serial = binary.BigEndian.Uint64(b)
	}
	return h, nil
}

// Read implements state.Store.
func (s *Store) Read(ctx context.Context) (*state.Snapshot, error) {
	snap := &state.Snapshot{Version: state.SchemaVersion}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		meta, blocks, objects, releases, _, err := buckets(tx)
		if err != nil {
			return err
		}
		h, err := readHead(meta)
		if err != nil {
			return err
		}
		c, err := s.codecFor(tx)
		if err != nil {
			return err
		}
		snap.Lineage, snap.Serial = h.lineage, h.serial
		snap.Blocks = make([]state.Block, 0, blocks.Stats().KeyN)
		if err := decodeAll(c, bucketBlocks, blocks, &snap.Blocks); err != nil {
			return err
		}
		snap.Objects = make([]state.Object, 0, objects.Stats().KeyN)
		var scratch []byte
		if err := objects.ForEach(func(k, v []byte) error {
			k, v, err := c.open(bucketObjects, k, v)
			if err != nil {
				return err
			}
			o, err := decodeObject(k, v, &scratch)
			snap.Objects = append(snap.Objects, o)
			return err
		}); err != nil {
			return err
		}
		snap.Releases = make([]state.Release, 0, releases.Stats().KeyN)
		if err := decodeAll(c, bucketReleases, releases, &snap.Releases); err != nil {
			return err
		}
		if c.rec != nil {
			// Sealed records are in the order of their keyed names.
			snap.Normalize()
		}
		return nil
	})
	if errors.Is(err, errNoState) {
		return snap, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state %s: %w", s.path, err)
	}
	return snap, nil
}

func decodeAll[T any](c codec, name []byte, b *bbolt.Bucket, out *[]T) error {
	return b.ForEach(func(k, v []byte) error {
		var err error
		if name == nil {
			v, err = c.openValue(bucketHistory, v)
		} else {
			k, v, err = c.open(name, k, v)
		}
		if err != nil {
			return err
		}
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decoding %s: %w", k, err)
		}
		*out = append(*out, x)
		return nil
	})
}

// Write implements state.Store. It stores only the records that differ
// from the file's (see memo): in one transaction, under the lock check and
// the lineage and serial checks.
func (s *Store) Write(ctx context.Context, snap *state.Snapshot, opts state.WriteOptions) error {
	snap.Normalize()
	snap.Version = state.SchemaVersion
	if err := snap.Validate(); err != nil {
		return err
	}
	// The memo is this write's until it ends: a concurrent write of the
	// same store compares with the file.
	s.memoMu.Lock()
	m := s.memo
	s.memo = nil
	s.memoMu.Unlock()
	// Encode outside the transaction: what changed since the memo, or,
	// without one, everything (the slow part).
	var d delta
	var full *fullEncoding
	var err error
	if m != nil {
		d, err = m.deltaTo(snap)
	} else {
		full, err = encodeFull(snap)
	}
	if err != nil {
		return err
	}
	fresh, err := s.prepareKey(ctx)
	if err != nil {
		return fmt.Errorf("writing state %s: %w", s.path, err)
	}
	var lineage string
	var serial uint64
	var wrapped []byte
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		meta, bb, ob, rb, hb, err := buckets(tx)
		if err != nil {
			return err
		}
		c, err := s.writeCodec(tx, fresh)
		if err != nil {
			return err
		}
		h, err := readHead(meta)
		if err != nil {
			return err
		}
		held, err := readLock(meta)
		if err != nil {
			return err
		}
		if err := state.CheckLock(held, opts.LockID); err != nil {
			return err
		}
		wrapped = bytes.Clone(meta.Get(keyEncryption))
		var stored delta
		if m.valid(h, wrapped) {
			stored = delta{blocks: c.sealChanges(bucketBlocks, d.blocks), objects: c.sealChanges(bucketObjects, d.objects),
				releases: c.sealChanges(bucketReleases, d.releases)}
		} else {
			if full == nil {
				if full, err = encodeFull(snap); err != nil {
					return err
				}
			}
			m = nil
			stored = delta{blocks: diff(bb, c.seal(bucketBlocks, full.blocks)), objects: diff(ob, c.seal(bucketObjects, full.objects)),
				releases: diff(rb, c.seal(bucketReleases, full.releases))}
		}
		var changed bool
		lineage, serial, changed, err = state.CheckWrite(h.lineage, h.serial, stored.empty(), snap, opts.Force)
		if err != nil {
			return err
		}
		if !changed && opts.History == nil {
			return errRollback
		}
		if changed {
			if err := writeChanges(meta, bb, ob, rb, stored, lineage, serial); err != nil {
				return err
			}
		}
		if opts.History != nil {
			return s.appendHistory(c, hb, opts.History, serial)
		}
		return nil
	})
	if err != nil {
		if opts.LockID != "" && errors.Is(err, state.ErrLockLost) {
			s.leases.Lose(opts.LockID, "is no longer the lock of the state (it was force-unlocked)")
		}
		return fmt.Errorf("writing state %s: %w", s.path, err)
	}
	snap.Lineage, snap.Serial = lineage, serial
	if m != nil {
		m.apply(d, snap, lineage, serial)
	} else {
		m = newMemo(snap, full.blocks, full.releases, lineage, serial, wrapped)
	}
	s.memoMu.Lock()
	s.memo = m
	s.memoMu.Unlock()
	return nil
}

// fullEncoding is every record of a snapshot, in plaintext, sorted by key.
type fullEncoding struct {
	blocks, objects, releases []kv
}

func encodeFull(snap *state.Snapshot) (*fullEncoding, error) {
	blocks, err := encode(snap.Blocks, func(b *state.Block) string { return b.Address })
	if err != nil {
		return nil, err
	}
	releases, err := encode(snap.Releases, func(r *state.Release) string { return r.Address })
	if err != nil {
		return nil, err
	}
	return &fullEncoding{blocks: blocks, objects: encodeObjects(snap.Objects), releases: releases}, nil
}

// writeChanges stores the changes d and the new head.
func writeChanges(meta, bb, ob, rb *bbolt.Bucket, d delta, lineage string, serial uint64) error {
	for _, x := range []struct {
		b *bbolt.Bucket
		d changes
	}{{bb, d.blocks}, {ob, d.objects}, {rb, d.releases}} {
		if err := x.d.apply(x.b); err != nil {
			return err
		}
	}
	if err := meta.Put(keyVersion, []byte(strconv.Itoa(state.SchemaVersion))); err != nil {
		return err
	}
	if err := meta.Put(keyLineage, []byte(lineage)); err != nil {
		return err
	}
	return meta.Put(keySerial, binary.BigEndian.AppendUint64(nil, serial))
}

func (s *Store) appendHistory(c codec, hb *bbolt.Bucket, e *state.HistoryEntry, serial uint64) error {
	e.Serial = serial
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.UTC()
	seq, err := hb.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return hb.Put(binary.BigEndian.AppendUint64(nil, seq), c.sealValue(bucketHistory, v))
}

type kv struct {
	k string
	v []byte
}

func encode[T any](xs []T, key func(*T) string) ([]kv, error) {
	out := make([]kv, len(xs))
	for i := range xs {
		v, err := json.Marshal(&xs[i])
		if err != nil {
			return nil, err
		}
		out[i] = kv{key(&xs[i]), v}
	}
	return out, nil
}

func encodeObjects(objs []state.Object) []kv {
	out := make([]kv, len(objs))
	// One buffer for all records: a single allocation for 100,000 objects.
	size := 0
	for i := range objs {
		o := &objs[i]
		size += 1 + 10*2 + len(o.Block) + len(o.Group) + len(o.Version) + len(o.Kind) + len(o.Namespace) + len(o.Name) + len(o.Digest) + len(o.UID) + len(o.ResourceVersion) + len(o.FieldsHash)
	}
	buf := make([]byte, 0, size)
	for i := range objs {
		start := len(buf)
		buf = encodeObject(buf, &objs[i])
		out[i] = kv{objs[i].Address, buf[start:len(buf):len(buf)]}
	}
	return out
}

// changes are the puts and deletes that turn a bucket into the wanted one.
type changes struct {
	puts []kv
	dels [][]byte
}

func (c changes) empty() bool { return len(c.puts) == 0 && len(c.dels) == 0 }

func (c changes) apply(b *bbolt.Bucket) error {
	for _, k := range c.dels {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for _, p := range c.puts {
		if err := b.Put([]byte(p.k), p.v); err != nil {
			return err
		}
	}
	return nil
}

// diff merges the bucket's sorted keys with the wanted sorted entries.
func diff(b *bbolt.Bucket, want []kv) changes {
	var c changes
	cur := b.Cursor()
	k, v := cur.First()
	i := 0
	for k != nil || i < len(want) {
		switch {
		case k == nil:
			c.puts = append(c.puts, want[i])
			i++
		case i == len(want):
			c.dels = append(c.dels, bytes.Clone(k))
			k, v = cur.Next()
		default:
			switch cmp := bytes.Compare(k, []byte(want[i].k)); {
			case cmp < 0:
				c.dels = append(c.dels, bytes.Clone(k))
				k, v = cur.Next()
			case cmp > 0:
				c.puts = append(c.puts, want[i])
				i++
			default:
				if !bytes.Equal(v, want[i].v) {
					c.puts = append(c.puts, want[i])
				}
				i++
				k, v = cur.Next()
			}
		}
	}
	return c
}

// History implements state.Store.
func (s *Store) History(ctx context.Context) ([]state.HistoryEntry, error) {
	var out []state.HistoryEntry
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		_, _, _, _, hb, err := buckets(tx)
		if err != nil {
			return err
		}
		c, err := s.codecFor(tx)
		if err != nil {
			return err
		}
		return decodeAll(c, nil, hb, &out)
	})
	if err != nil && !errors.Is(err, errNoState) {
		return nil, fmt.Errorf("reading state history %s: %w", s.path, err)
	}
	return out, nil
}
