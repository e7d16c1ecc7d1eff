package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/strata-gitops/strata/state"
)

// Objects are the bulk of a state (100,000 in a large one), so they are
// stored in a compact binary form rather than JSON: the key is the address,
// the value a format byte followed by length-prefixed fields. Decoding
// makes one string per object and slices the fields out of it.

// Format 2 added FieldsHash; format 1 records (without it) still decode.
const (
	objectFormatV1 = 1
	objectFormat   = 2
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeObject(b []byte, o *state.Object) []byte {
	b = append(b, objectFormat)
	for _, f := range [...]string{o.Block, o.Group, o.Version, o.Kind, o.Namespace, o.Name, o.Digest, o.UID, o.ResourceVersion, o.FieldsHash} {
		b = appendString(b, f)
	}
	return b
}

var errBadObject = errors.New("invalid object record")

// decodeObject decodes the record with key k and value v; scratch is reused
// between calls.
func decodeObject(k, v []byte, scratch *[]byte) (state.Object, error) {
	if len(v) == 0 || v[0] != objectFormat && v[0] != objectFormatV1 {
		return state.Object{}, fmt.Errorf("object %s: %w (unknown format)", k, errBadObject)
	}
	format := v[0]
	buf := append(append((*scratch)[:0], k...), v[1:]...)
	*scratch = buf
	all := string(buf)
	o := state.Object{Address: all[:len(k)]}
	pos := len(k)
	fields := [...]*string{&o.Block, &o.Group, &o.Version, &o.Kind, &o.Namespace, &o.Name, &o.Digest, &o.UID, &o.ResourceVersion, &o.FieldsHash}
	n := len(fields)
	if format == objectFormatV1 {
		n-- // no FieldsHash
	}
	for _, f := range fields[:n] {
		n, w := binary.Uvarint(buf[pos:])
		if w <= 0 || uint64(len(buf)-pos-w) < n {
			return state.Object{}, fmt.Errorf("object %s: %w", k, errBadObject)
		}
		pos += w
		*f = all[pos : pos+int(n)]
		pos += int(n)
	}
	return o, nil
}
