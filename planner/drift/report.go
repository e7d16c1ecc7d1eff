package drift

import (
	"slices"
	"strings"
	"time"
)

// FormatVersion is the version of the JSON form of a Report.
const FormatVersion = "1"

// Kind says what kind of drift an Item is.
type Kind string

// The kinds of drift.
const (
	// Modified: fields strata manages were changed outside strata.
	Modified Kind = "modified"
	// Deleted: the object (or release) is gone from the cluster.
	Deleted Kind = "deleted"
	// Release: the Helm release was upgraded, rolled back or left failed
	// outside strata.
	Release Kind = "release"
	// SourceMoved: the source has a newer revision than the one applied.
	SourceMoved Kind = "source"
	// Unrecorded: an apply that was interrupted created the object with
	// the stack's labels and did not record it in the state.
	Unrecorded Kind = "unrecorded"
)

// Report is the outcome of one drift check.
type Report struct {
	// FormatVersion is FormatVersion.
	FormatVersion string `json:"format_version"`
	// Stack is the stack's name (the strata.dev/stack label value).
	Stack string `json:"stack"`
	// Environment is the stack's environment the check was made for (-e
	// NAME), empty for a stack without environments.
	Environment string `json:"environment,omitempty"`
	// CheckedAt is when the check started; Duration how long it took.
	CheckedAt time.Time     `json:"checked_at"`
	Duration  time.Duration `json:"duration_ns"`
	// Blocks are the checked blocks in address order.
	Blocks []Block `json:"blocks"`
}

// Block is the drift of one block.
type Block struct {
	Address string `json:"address"`
	// Kind is the block type: "kustomization", "release", "source.git"...
	Kind string `json:"kind"`
	// Revision is the source revision the block was applied from.
	Revision string `json:"revision,omitempty"`
	// Suspended is true when the block has suspend = true and was skipped.
	Suspended bool `json:"suspended,omitempty"`
	// Checked counts the objects (or releases, sources) compared.
	Checked int `json:"checked"`
	// DryRuns counts the objects that needed a server-side dry run: those
	// changed since the apply in a way field ownership cannot clear.
	DryRuns int `json:"dry_runs,omitempty"`
	// Items are the drifted objects, releases or sources, by address.
	Items []Item `json:"items,omitempty"`
	// Notes explain what was not checked and why, e.g. "not applied yet".
	Notes []string `json:"notes,omitempty"`
	// Error is set when the block could not be checked.
	Error string `json:"error,omitempty"`
	// File and Line locate, when the error lies in the stack's files (a
	// source's branch that does not exist, a chart the repository does
	// not have), the attribute at fault: the file relative to the stack
	// directory, the line from 1.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Item is one drifted object, release or source.
type Item struct {
	// Address is the object address ("kustomization.app/Deployment.apps/ns/web")
	// or the block address for releases and sources.
	Address string `json:"address"`
	Kind    Kind   `json:"kind"`
	// Message says what happened in a sentence fragment.
	Message string `json:"message"`
	// Fields are the changed fields, with the live value (Before) and the
	// value strata applied (After); Secret values are masked.
	Fields []Field `json:"fields,omitempty"`
}

// Field is one field of an object that differs from what strata applied.
type Field struct {
	Path string `json:"path"`
	// Live is the value in the cluster, Applied the value strata applied;
	// nil when the field is missing on that side.
	Live    any `json:"live,omitempty"`
	Applied any `json:"applied,omitempty"`
	// Sensitive is true when the values are hidden.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Drifted reports whether the block has drift.
func (b *Block) Drifted() bool { return len(b.Items) > 0 }

// HasDrift reports whether any block has drift.
func (r *Report) HasDrift() bool {
	for i := range r.Blocks {
		if r.Blocks[i].Drifted() {
			return true
		}
	}
	return false
}

// HasErrors reports whether any block could not be checked.
func (r *Report) HasErrors() bool {
	for i := range r.Blocks {
		if r.Blocks[i].Error != "" {
			return true
		}
	}
	return false
}

// Counts returns how many objects (and releases, sources) were checked and
// how many drifted.
func (r *Report) Counts() (checked, drifted int) {
	for _, b := range r.Blocks {
		checked += b.Checked
		drifted += len(b.Items)
	}
	return checked, drifted
}

// Block returns the block with the address, or nil.
func (r *Report) Block(addr string) *Block {
	for i := range r.Blocks {
		if r.Blocks[i].Address == addr {
			return &r.Blocks[i]
		}
	}
	return nil
}

// Sort orders blocks and items by address.
func (r *Report) Sort() {
	slices.SortFunc(r.Blocks, func(a, b Block) int { return strings.Compare(a.Address, b.Address) })
	for i := range r.Blocks {
		slices.SortFunc(r.Blocks[i].Items, func(a, b Item) int { return strings.Compare(a.Address, b.Address) })
	}
}

// FieldPaths returns the paths of the item's fields.
func (it Item) FieldPaths() []string {
	out := make([]string, len(it.Fields))
	for i, f := range it.Fields {
		out[i] = f.Path
	}
	return out
}
