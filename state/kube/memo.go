package kube

import (
	"slices"

	"github.com/strata-gitops/strata/state"
)

// segmentMemo is what this store last wrote: the objects of every block
// with their encoding, and the object segments by the blocks they hold,
// under the index set and the wrapped data key they were written with. A
// write that finds that very index (no other writer came in between) and
// key compares the snapshot's objects with the memo's, which allocates
// nothing, and encodes, joins, hashes and compresses only the blocks that
// changed and the segments that hold them: a write after one block changed
// costs what that block changed instead of the whole snapshot. Another
// index or key makes the write encode every block, as the first write of
// a store does (the segment cache still spares the compression of the
// segments that did not change).
type segmentMemo struct {
	set     string
	wrapped string
	blocks  map[string]blockEncoding
	segs    map[string]segment // the object segments, by rawSegment.key
}

// blockEncoding is the encoding of one block's objects (see encodeBlock).
type blockEncoding struct {
	data []byte
	cuts []int
	// objs are the block's objects, once bound (start and end index them
	// in the snapshot until then).
	objs       []state.Object
	start, end int
}

func newSegmentMemo() *segmentMemo {
	return &segmentMemo{blocks: map[string]blockEncoding{}, segs: map[string]segment{}}
}

// valid reports whether m describes the state ix indexes, written with the
// data key wrapped ("" when not encrypted).
func (m *segmentMemo) valid(ix index, wrapped []byte) bool {
	return m != nil && ix.set != "" && m.set == ix.set && m.wrapped == string(wrapped)
}

// block returns the encoding of the block addr when its objects are objs;
// false when m is nil or holds other objects for it.
func (m *segmentMemo) block(addr string, objs []state.Object) (blockEncoding, bool) {
	if m == nil {
		return blockEncoding{}, false
	}
	be, ok := m.blocks[addr]
	if !ok || !slices.Equal(be.objs, objs) {
		return blockEncoding{}, false
	}
	return be, true
}

// holds reports whether m has the segment of key.
func (m *segmentMemo) holds(key string) bool {
	if m == nil {
		return false
	}
	_, ok := m.segs[key]
	return ok
}

// reuse returns m's segment for r when r is made of unchanged blocks only.
func (m *segmentMemo) reuse(r rawSegment) (segment, bool) {
	if m == nil || !r.unchanged || r.key == "" {
		return segment{}, false
	}
	sg, ok := m.segs[r.key]
	return sg, ok
}

// keep records sg as the segment of r (header segments have no key).
func (m *segmentMemo) keep(r rawSegment, sg segment) {
	if r.key != "" {
		m.segs[r.key] = sg
	}
}

// bind gives m the objects of the snapshot it was made from (objs, which
// must not change afterwards), the set its write created and the data key
// it used.
func (m *segmentMemo) bind(objs []state.Object, set string, wrapped []byte) {
	for addr, be := range m.blocks {
		be.objs = objs[be.start:be.end:be.end]
		m.blocks[addr] = be
	}
	m.set, m.wrapped = set, string(wrapped)
}
