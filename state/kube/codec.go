package kube

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strata-gitops/strata/state"
)

// The payload (before compression) is a length-prefixed JSON header with
// the blocks, releases and history, followed by the objects as
// length-prefixed fields. Objects are the bulk of a large state, and this
// form encodes and decodes several times faster than JSON.

// payloadEncoding is stored in the index; readers refuse other values.
// Encoding "2" added the object's FieldsHash; "1" still decodes.
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

func encodePayload(p *payload) ([]byte, error) {
	h, err := json.Marshal(header{Blocks: p.Snapshot.Blocks, Releases: p.Snapshot.Releases, History: p.History, Objects: len(p.Snapshot.Objects)})
	if err != nil {
		return nil, err
	}
	size := binary.MaxVarintLen64 + len(h)
	for i := range p.Snapshot.Objects {
		for _, f := range objectFields(&p.Snapshot.Objects[i]) {
			size += 2 + len(*f)
		}
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(h)))
	b = append(b, h...)
	for i := range p.Snapshot.Objects {
		for _, f := range objectFields(&p.Snapshot.Objects[i]) {
			b = binary.AppendUvarint(b, uint64(len(*f)))
			b = append(b, *f...)
		}
	}
	return b, nil
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
	rest := b[w+int(n):]
	all := string(rest) // one allocation; the fields are substrings of it
	objs := make([]state.Object, h.Objects)
	pos := 0
	for i := range objs {
		fields := objectFields(&objs[i])
		for _, f := range fields[:nfields] {
			n, w := binary.Uvarint(rest[pos:])
			if w <= 0 || uint64(len(rest)-pos-w) < n {
				return nil, errCorrupt
			}
			pos += w
			*f = all[pos : pos+int(n)]
			pos += int(n)
		}
	}
	if pos != len(rest) {
		return nil, errCorrupt
	}
	return &payload{Snapshot: &state.Snapshot{Blocks: h.Blocks, Objects: objs, Releases: h.Releases}, History: h.History}, nil
}
