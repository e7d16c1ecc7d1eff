package kube

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/strata-gitops/strata/state"
)

// The payload (before compression) is a length-prefixed JSON header with
// the blocks, releases and history, followed by the objects as
// length-prefixed fields. Objects are the bulk of a large state, and this
// form encodes and decodes several times faster than JSON.

// The payload encodings stored in the index; readers refuse others.
// Encodings "1" and "2" (one chunk set of the whole payload; "2" added the
// object's FieldsHash) are read, "3" (segments, below) is written.
const (
	payloadEncodingV1 = "1"
	payloadEncoding   = "2"
)

type header struct {
	Blocks   []state.Block        `json:"blocks"`
	Releases []state.Release      `json:"releases"`
	History  []state.HistoryEntry `json:"history"`
	Objects  int                  `json:"objects"`
}

func objectFields(o *state.Object) [11]*string {
	return [...]*string{&o.Address, &o.Block, &o.Group, &o.Version, &o.Kind, &o.Namespace, &o.Name, &o.Digest, &o.UID, &o.ResourceVersion, &o.FieldsHash}
}

var errCorrupt = errors.New("corrupt state payload")

func decodePayload(b []byte, encoding string) (*payload, error) {
	nfields := len(objectFields(&state.Object{}))
	if encoding == payloadEncodingV1 {
		nfields-- // no FieldsHash
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, errCorrupt
	}
	var h header
	if err := json.Unmarshal(b[w:w+int(n)], &h); err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	objs, err := decodeObjects(b[w+int(n):], nfields, make([]state.Object, 0, h.Objects))
	if err != nil {
		return nil, err
	}
	if len(objs) != h.Objects {
		return nil, fmt.Errorf("%w: %d objects, the header says %d", errCorrupt, len(objs), h.Objects)
	}
	return &payload{Snapshot: &state.Snapshot{Blocks: h.Blocks, Objects: objs, Releases: h.Releases}, History: h.History}, nil
}

// Encoding "3" stores the payload as content-addressed segments, each
// compressed on its own: first the header (blocks, releases, history; the
// first segment starts with the number of header segments), then the
// objects of runs of consecutive blocks.
// Where runs end depends only on the blocks themselves (a hash of the
// block address, a size limit, and a block too large for one segment on
// its own), so a write that changes one block produces the same segments
// as before for the others, and only new segments are written.
const payloadEncodingSegments = "3"

// A block whose encoding is larger than a third of the chunk size gets
// segments of its own, of about that size; a run of smaller blocks ends
// before two thirds of the chunk size (so that even incompressible data
// fits a chunk), or after a block whose address hashes to 0 modulo
// segmentEvery.
const segmentEvery = 8

// segment is one compressed segment, its ID (a digest of the data) and
// the SHA-256 of its uncompressed content.
type segment struct {
	id   string
	data []byte
	key  [32]byte
}

func newSegment(raw []byte) (segment, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return segment{}, err
	}
	if _, err := zw.Write(raw); err != nil {
		return segment{}, err
	}
	if err := zw.Close(); err != nil {
		return segment{}, err
	}
	return segment{id: segmentID(buf.Bytes()), data: buf.Bytes(), key: sha256.Sum256(raw)}, nil
}

func segmentID(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

func appendObject(b []byte, o *state.Object) []byte {
	for _, f := range objectFields(o) {
		b = binary.AppendUvarint(b, uint64(len(*f)))
		b = append(b, *f...)
	}
	return b
}

// encodeSegments returns the segments of p, the header first, compressing
// only segments whose content is not in cache (by the SHA-256 of their
// uncompressed content); cache may be nil. seal, when not nil, encrypts
// each compressed segment (the ID is the digest of what is stored).
func encodeSegments(p *payload, chunkSize int, cache map[[32]byte]segment, seal func([]byte) []byte) ([]segment, error) {
	segs, _, err := encodeSegmentsAfter(p, chunkSize, cache, seal, nil)
	return segs, err
}

// encodeSegmentsAfter is encodeSegments after the write that m describes
// (nil: none known): the blocks whose objects are those m holds are not
// encoded again, and the segments made only of such blocks are m's, not
// joined, hashed or compressed again. It also returns the memo of the
// segments it returns (its objects not bound yet).
func encodeSegmentsAfter(p *payload, chunkSize int, cache map[[32]byte]segment, seal func([]byte) []byte, m *segmentMemo) ([]segment, *segmentMemo, error) {
	raws, next, err := splitSegmentsAfter(p, chunkSize, m)
	if err != nil {
		return nil, nil, err
	}
	segs := make([]segment, len(raws))
	for i, r := range raws {
		if sg, ok := m.reuse(r); ok {
			segs[i] = sg
			next.keep(r, sg)
			continue
		}
		key := sha256.Sum256(r.raw)
		if sg, ok := cache[key]; ok {
			segs[i] = sg
			next.keep(r, sg)
			continue
		}
		if segs[i], err = newSegment(r.raw); err != nil {
			return nil, nil, err
		}
		if seal != nil {
			segs[i].data = seal(segs[i].data)
			segs[i].id = segmentID(segs[i].data)
		}
		next.keep(r, segs[i])
	}
	return segs, next, nil
}

// splitSegments returns the uncompressed segments of p, the header first.
func splitSegments(p *payload, chunkSize int) ([][]byte, error) {
	raws, _, err := splitSegmentsAfter(p, chunkSize, nil)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(raws))
	for i, r := range raws {
		out[i] = r.raw
	}
	return out, nil
}

// rawSegment is one uncompressed segment. An object segment has a key
// naming the blocks (or the piece of one block) it holds; when every one
// of them is unchanged since the write the memo describes, raw is nil and
// the memo's segment of that key is the segment.
type rawSegment struct {
	raw       []byte
	key       string
	unchanged bool
}

// splitSegmentsAfter returns the uncompressed segments of p, the header
// first, and the memo of its blocks, reusing the encoding of those blocks
// whose objects are those m holds (m may be nil).
func splitSegmentsAfter(p *payload, chunkSize int, m *segmentMemo) ([]rawSegment, *segmentMemo, error) {
	segmentTarget, segmentMax := chunkSize/3, chunkSize*2/3
	h, err := json.Marshal(header{Blocks: p.Snapshot.Blocks, Releases: p.Snapshot.Releases, History: p.History, Objects: len(p.Snapshot.Objects)})
	if err != nil {
		return nil, nil, err
	}
	// The header may be large (a long history): it takes as many segments
	// as it needs, the first of which starts with their number.
	var segs []rawSegment
	n := (len(h) + segmentTarget - 1) / segmentTarget
	for i := range max(n, 1) {
		piece := h[min(i*segmentTarget, len(h)):min((i+1)*segmentTarget, len(h))]
		if i == 0 {
			piece = append(binary.AppendUvarint(nil, uint64(max(n, 1))), piece...)
		}
		segs = append(segs, rawSegment{raw: piece})
	}
	next := newSegmentMemo()
	var r run
	flush := func() {
		if sg, ok := r.segment(m); ok {
			segs = append(segs, sg)
		}
		r = run{}
	}
	objs := p.Snapshot.Objects
	for start := 0; start < len(objs); {
		end := start + 1
		for end < len(objs) && objs[end].Block == objs[start].Block {
			end++
		}
		addr := objs[start].Block
		be, unchanged := m.block(addr, objs[start:end])
		if !unchanged {
			be = encodeBlock(objs[start:end], segmentTarget)
		}
		next.blocks[addr] = blockEncoding{data: be.data, cuts: be.cuts, start: start, end: end}
		if len(be.data) > segmentTarget {
			// A large block: segments of its own, cut by its own content.
			flush()
			cuts := append(slices.Clip(be.cuts), len(be.data))
			for i := 0; i+1 < len(cuts); i++ {
				r.add(fmt.Sprintf("%s\x01%d", addr, i), be.data[cuts[i]:cuts[i+1]], unchanged)
				flush()
			}
		} else {
			if r.size+len(be.data) > segmentMax {
				flush()
			}
			r.add(addr, be.data, unchanged)
			f := fnv.New32a()
			f.Write([]byte(addr))
			if f.Sum32()%segmentEvery == 0 {
				flush()
			}
		}
		start = end
	}
	flush()
	return segs, next, nil
}

// encodeBlock returns the encoding of the objects of one block and where
// a block too large for one segment is cut: after the object that brings
// the current piece to segmentTarget bytes.
func encodeBlock(objs []state.Object, segmentTarget int) blockEncoding {
	var blk []byte
	cuts := []int{0}
	for i := range objs {
		blk = appendObject(blk, &objs[i])
		if len(blk)-cuts[len(cuts)-1] >= segmentTarget && i+1 < len(objs) {
			cuts = append(cuts, len(blk))
		}
	}
	return blockEncoding{data: blk, cuts: cuts}
}

// run is the object segment being filled: the encodings of consecutive
// blocks (or one piece of a large block).
type run struct {
	parts     [][]byte
	keys      []string
	size      int
	unchanged bool
}

func (r *run) add(key string, data []byte, unchanged bool) {
	if len(r.parts) == 0 {
		r.unchanged = true
	}
	r.parts = append(r.parts, data)
	r.keys = append(r.keys, key)
	r.size += len(data)
	r.unchanged = r.unchanged && unchanged
}

// segment returns the run as a segment, joined unless m holds it already;
// false for an empty run.
func (r *run) segment(m *segmentMemo) (rawSegment, bool) {
	if r.size == 0 {
		return rawSegment{}, false
	}
	sg := rawSegment{key: strings.Join(r.keys, "\x00"), unchanged: r.unchanged}
	if sg.unchanged && m.holds(sg.key) {
		return sg, true
	}
	sg.unchanged = false
	sg.raw = bytes.Join(r.parts, nil)
	return sg, true
}

// decodeSegments decodes the uncompressed segments of a payload, header
// first.
func decodeSegments(raws [][]byte) (*payload, error) {
	if len(raws) == 0 {
		return nil, errCorrupt
	}
	n, w := binary.Uvarint(raws[0])
	if w <= 0 || n == 0 || n > uint64(len(raws)) {
		return nil, fmt.Errorf("%w: invalid header segment count", errCorrupt)
	}
	hj := bytes.Join(append([][]byte{raws[0][w:]}, raws[1:n]...), nil)
	var h header
	if err := json.Unmarshal(hj, &h); err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	objs := make([]state.Object, 0, h.Objects)
	for _, rest := range raws[n:] {
		var err error
		if objs, err = decodeObjects(rest, len(objectFields(&state.Object{})), objs); err != nil {
			return nil, err
		}
	}
	if len(objs) != h.Objects {
		return nil, fmt.Errorf("%w: %d objects, the header says %d", errCorrupt, len(objs), h.Objects)
	}
	return &payload{Snapshot: &state.Snapshot{Blocks: h.Blocks, Objects: objs, Releases: h.Releases}, History: h.History}, nil
}

// decodeObjects appends to objs the objects encoded in b, each as nfields
// length-prefixed fields (the first nfields of objectFields). The strings
// share one allocation per call.
func decodeObjects(b []byte, nfields int, objs []state.Object) ([]state.Object, error) {
	all := string(b)
	for pos := 0; pos < len(b); {
		var o state.Object
		fields := objectFields(&o)
		for _, f := range fields[:nfields] {
			n, w := binary.Uvarint(b[pos:])
			if w <= 0 || uint64(len(b)-pos-w) < n {
				return nil, errCorrupt
			}
			pos += w
			*f = all[pos : pos+int(n)]
			pos += int(n)
		}
		objs = append(objs, o)
	}
	return objs, nil
}
