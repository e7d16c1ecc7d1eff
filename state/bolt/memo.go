package bolt

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/strata-gitops/strata/state"
)

// memo is what this store last wrote to its file: every record in
// plaintext, with the head (lineage and serial) and the data key they
// were stored under. A write whose transaction finds that very head and
// key in the file knows that the file holds exactly these records, so it
// encodes, seals and stores only the records that differ from them: a
// write after one block changed costs what that block changed, plus a
// comparison of the snapshot's records with the memo that allocates
// nothing, instead of encoding and comparing the whole snapshot. Another
// head (another process wrote) or key (a migration) makes the write
// compare every record with the file, as the first write of a store does.
type memo struct {
	lineage string
	serial  uint64
	wrapped string // the wrapped data key in the file; "" when plaintext
	objects map[string]state.Object
	blocks  map[string][]byte // the encoded records, by address
	rels    map[string][]byte
}

// valid reports whether the file, whose head is h and whose wrapped data
// key is wrapped, holds the records of m.
func (m *memo) valid(h head, wrapped []byte) bool {
	return m != nil && m.lineage == h.lineage && m.serial == h.serial && m.wrapped == string(wrapped)
}

// delta is what turns the records of a memo into those of a snapshot, in
// plaintext.
type delta struct {
	blocks, objects, releases changes
}

func (d delta) empty() bool { return d.blocks.empty() && d.objects.empty() && d.releases.empty() }

// deltaTo returns the changes from m to snap, encoding only the objects
// that differ (blocks and releases, one per block of the stack, are
// encoded to compare them).
func (m *memo) deltaTo(snap *state.Snapshot) (delta, error) {
	var d delta
	var err error
	if d.blocks, err = diffEncoded(m.blocks, snap.Blocks, func(b *state.Block) string { return b.Address }); err != nil {
		return d, err
	}
	if d.releases, err = diffEncoded(m.rels, snap.Releases, func(r *state.Release) string { return r.Address }); err != nil {
		return d, err
	}
	seen := 0
	for i := range snap.Objects {
		o := &snap.Objects[i]
		old, ok := m.objects[o.Address]
		if ok {
			seen++
			if old == *o {
				continue
			}
		}
		d.objects.puts = append(d.objects.puts, kv{o.Address, encodeObject(nil, o)})
	}
	if seen < len(m.objects) {
		for k := range m.objects {
			if _, found := slices.BinarySearchFunc(snap.Objects, k, func(o state.Object, k string) int { return strings.Compare(o.Address, k) }); !found {
				d.objects.dels = append(d.objects.dels, []byte(k))
			}
		}
	}
	return d, nil
}

// diffEncoded returns the puts and deletes that turn the records have
// into xs (sorted by key).
func diffEncoded[T any](have map[string][]byte, xs []T, key func(*T) string) (changes, error) {
	var c changes
	seen := 0
	for i := range xs {
		k := key(&xs[i])
		v, err := json.Marshal(&xs[i])
		if err != nil {
			return c, err
		}
		old, ok := have[k]
		if ok {
			seen++
		}
		if !ok || !bytes.Equal(old, v) {
			c.puts = append(c.puts, kv{k, v})
		}
	}
	if seen < len(have) {
		for k := range have {
			if _, found := slices.BinarySearchFunc(xs, k, func(x T, k string) int { return strings.Compare(key(&x), k) }); !found {
				c.dels = append(c.dels, []byte(k))
			}
		}
	}
	return c, nil
}

// apply changes m by d, the delta that was just stored, and gives it the
// new head.
func (m *memo) apply(d delta, snap *state.Snapshot, lineage string, serial uint64) {
	for _, k := range d.blocks.dels {
		delete(m.blocks, string(k))
	}
	for _, p := range d.blocks.puts {
		m.blocks[p.k] = p.v
	}
	for _, k := range d.releases.dels {
		delete(m.rels, string(k))
	}
	for _, p := range d.releases.puts {
		m.rels[p.k] = p.v
	}
	for _, k := range d.objects.dels {
		delete(m.objects, string(k))
	}
	for _, p := range d.objects.puts {
		i, _ := slices.BinarySearchFunc(snap.Objects, p.k, func(o state.Object, k string) int { return strings.Compare(o.Address, k) })
		m.objects[p.k] = snap.Objects[i]
	}
	m.lineage, m.serial = lineage, serial
}

// newMemo returns the memo of a file that holds exactly the records of
// snap (blocks and releases encoded as given) under lineage, serial and
// the wrapped data key.
func newMemo(snap *state.Snapshot, blocks, rels []kv, lineage string, serial uint64, wrapped []byte) *memo {
	m := &memo{lineage: lineage, serial: serial, wrapped: string(wrapped),
		objects: make(map[string]state.Object, len(snap.Objects)),
		blocks:  make(map[string][]byte, len(blocks)), rels: make(map[string][]byte, len(rels))}
	for _, o := range snap.Objects {
		m.objects[o.Address] = o
	}
	for _, x := range blocks {
		m.blocks[x.k] = x.v
	}
	for _, x := range rels {
		m.rels[x.k] = x.v
	}
	return m
}

// sealChanges returns the stored form of the plaintext changes of bucket.
func (c codec) sealChanges(bucket []byte, ch changes) changes {
	if c.rec == nil {
		return ch
	}
	out := changes{puts: c.seal(bucket, ch.puts), dels: make([][]byte, len(ch.dels))}
	for i, k := range ch.dels {
		out.dels[i] = []byte(c.rec.Name(string(k)))
	}
	return out
}
