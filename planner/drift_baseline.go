package planner

// This file belongs to strata drift (issue 9).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/strata-gitops/strata/state"
)

// BaselineFile is where Drift keeps its baseline, relative to the stack.
const BaselineFile = ".strata/drift-baseline.json"

// Baseline remembers, per applied object, the field set of manager strata
// at a time it owned every field strata applied (a hash, no values). An
// object changed since the apply whose field set still has that hash was
// not edited: other writers (controllers) only touched fields strata does
// not manage. This spares rendering the block again, which kustomize makes
// slow for thousands of objects. Entries are keyed by the object's address,
// UID, applied digest and resourceVersion, so a new apply invalidates them.
// It is safe for concurrent use; a nil Baseline remembers nothing.
type Baseline struct {
	mu      sync.Mutex
	entries map[string]baselineEntry // by object address
	dirty   bool
}

type baselineEntry struct {
	Key  string `json:"key"`
	Hash string `json:"hash"`
}

type baselineFile struct {
	Version int                      `json:"version"`
	Objects map[string]baselineEntry `json:"objects"`
}

// NewBaseline returns an empty baseline.
func NewBaseline() *Baseline { return &Baseline{entries: map[string]baselineEntry{}} }

// LoadBaseline reads a baseline file; a missing or unreadable file gives an
// empty baseline (it is only a cache).
func LoadBaseline(path string) *Baseline {
	b := NewBaseline()
	data, err := os.ReadFile(path)
	if err != nil {
		return b
	}
	var f baselineFile
	if json.Unmarshal(data, &f) == nil && f.Version == 1 && f.Objects != nil {
		b.entries = f.Objects
	}
	return b
}

// Save writes the baseline to path (0600) when it changed.
func (b *Baseline) Save(path string) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.dirty {
		return nil
	}
	data, err := json.Marshal(baselineFile{Version: 1, Objects: b.entries})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("drift baseline: %w", err)
	}
	// A fresh temporary file (created exclusively, so never through a
	// link), renamed over the baseline (which replaces a link, not its
	// target).
	f, err := os.CreateTemp(filepath.Dir(path), ".drift-baseline-*")
	if err != nil {
		return fmt.Errorf("drift baseline: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("drift baseline: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("drift baseline: %w", err)
	}
	b.dirty = false
	return nil
}

func baselineKey(o state.Object) string {
	return o.UID + "\x00" + o.Digest + "\x00" + o.ResourceVersion
}

func (b *Baseline) get(o state.Object) (string, bool) {
	if b == nil {
		return "", false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[o.Address]
	if !ok || e.Key != baselineKey(o) || e.Hash == "" {
		return "", false
	}
	return e.Hash, true
}

func (b *Baseline) put(o state.Object, hash string) {
	if b == nil || hash == "" || o.UID == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e := baselineEntry{Key: baselineKey(o), Hash: hash}
	if b.entries[o.Address] != e {
		b.entries[o.Address] = e
		b.dirty = true
	}
}
