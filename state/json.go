package state

import (
	"encoding/json"
	"fmt"
	"io"
)

// Document is the JSON form of a snapshot written by `strata state pull`
// and read by `strata state push`, described in docs/state-json.md. Its
// FormatVersion is the snapshot schema version; readers refuse a newer one.
type Document struct {
	FormatVersion int       `json:"format_version"`
	StrataVersion string    `json:"strata_version,omitempty"`
	Lineage       string    `json:"lineage"`
	Serial        uint64    `json:"serial"`
	Blocks        []Block   `json:"blocks"`
	Objects       []Object  `json:"objects"`
	Releases      []Release `json:"releases"`
}

// EncodeJSON writes snap as an indented Document.
func EncodeJSON(w io.Writer, snap *Snapshot, strataVersion string) error {
	d := Document{
		FormatVersion: SchemaVersion, StrataVersion: strataVersion, Lineage: snap.Lineage, Serial: snap.Serial,
		Blocks: snap.Blocks, Objects: snap.Objects, Releases: snap.Releases,
	}
	if d.Blocks == nil {
		d.Blocks = []Block{}
	}
	if d.Objects == nil {
		d.Objects = []Object{}
	}
	if d.Releases == nil {
		d.Releases = []Release{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// DecodeJSON reads a Document and returns its snapshot, normalized and
// validated.
func DecodeJSON(r io.Reader) (*Snapshot, error) {
	var d Document
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decoding state JSON: %w", err)
	}
	switch {
	case d.FormatVersion == 0:
		return nil, fmt.Errorf("decoding state JSON: format_version is missing")
	case d.FormatVersion > SchemaVersion:
		return nil, fmt.Errorf("state JSON format_version %d is newer than this strata supports (%d): upgrade strata", d.FormatVersion, SchemaVersion)
	}
	snap := &Snapshot{Version: SchemaVersion, Lineage: d.Lineage, Serial: d.Serial, Blocks: d.Blocks, Objects: d.Objects, Releases: d.Releases}
	snap.Normalize()
	if err := snap.Validate(); err != nil {
		return nil, err
	}
	return snap, nil
}
