package planner

import (
	"context"
	"fmt"
	"time"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/state"
)

// Readiness values of a BlockStatus, as in Kubernetes conditions.
const (
	ReadyTrue    = "True"
	ReadyFalse   = "False"
	ReadyUnknown = "Unknown"
)

// BlockStatus is the status of one block of the stack: what strata status
// prints as a line.
type BlockStatus struct {
	Kind        string     `json:"kind"`
	Address     string     `json:"address"`
	Revision    string     `json:"revision,omitempty"`
	Ready       string     `json:"ready"` // ReadyTrue, ReadyFalse or ReadyUnknown
	Message     string     `json:"message"`
	LastApplied *time.Time `json:"last_applied,omitempty"`
	// Drift is the number of drifted objects; nil when not checked.
	Drift     *int `json:"drift,omitempty"`
	Suspended bool `json:"suspended"`
}

// StatusOptions tune Engine.Status.
type StatusOptions struct {
	// Drift checks the live cluster for drift; false reads the state only.
	Drift bool
}

// Status returns the status of every block of the stack, in the stack's
// order: readiness from the state (and, with opts.Drift, from a drift
// check of the live cluster).
func (e *Engine) Status(ctx context.Context, opts StatusOptions) ([]BlockStatus, error) {
	store, err := e.Store()
	if err != nil {
		return nil, err
	}
	snap, err := store.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var rep *drift.Report
	if opts.Drift {
		rep, err = e.Drift(ctx, DriftOptions{})
		if err != nil {
			return nil, err
		}
	}
	var out []BlockStatus
	for _, b := range e.Stack().Blocks() {
		addr := b.Address().String()
		sb, applied := snap.Block(addr)
		l := appliedStatus(b, sb, applied)
		if rep != nil && applied {
			driftStatus(&l, rep.Block(addr))
		}
		out = append(out, l)
	}
	return out, nil
}

// appliedStatus is the status of a block as the state records it.
func appliedStatus(b config.Block, sb state.Block, applied bool) BlockStatus {
	l := BlockStatus{Kind: blockKind(b), Address: b.Address().String(), Suspended: blockSuspended(b)}
	if applied {
		l.Revision = sb.Revision
		t := sb.AppliedAt
		l.LastApplied = &t
	}
	switch {
	case !applied:
		l.Ready, l.Message = ReadyFalse, "not applied yet"
	case sb.Status == state.StatusFailed:
		l.Ready, l.Message = ReadyFalse, "last apply failed"
	case sb.Revision != "":
		l.Ready, l.Message = ReadyTrue, "applied revision "+sb.Revision
	default:
		l.Ready, l.Message = ReadyTrue, "applied"
	}
	if l.Suspended {
		l.Message = "suspended; " + l.Message
	}
	return l
}

// driftStatus adds what a drift check found for an applied block: the
// drift count, a release changed behind strata's back or deleted objects
// (not ready), or a failed check (unknown).
func driftStatus(l *BlockStatus, db *drift.Block) {
	if db == nil || db.Suspended {
		return
	}
	n := len(db.Items)
	l.Drift = &n
	deleted := 0
	for _, it := range db.Items {
		if it.Kind == drift.Deleted {
			deleted++
		}
		if it.Kind == drift.Release && l.Ready == ReadyTrue {
			l.Ready, l.Message = ReadyFalse, it.Message
		}
	}
	switch {
	case db.Error != "":
		l.Ready, l.Message, l.Drift = ReadyUnknown, "drift check failed: "+db.Error, nil
	case deleted > 0 && l.Ready == ReadyTrue:
		l.Ready, l.Message = ReadyFalse, fmt.Sprintf("%d objects deleted outside strata", deleted)
	}
}

// blockKind is the kind column of a block: source.git, source.helm,
// source.oci,
// kustomization or release.
func blockKind(b config.Block) string {
	switch b.(type) {
	case *config.GitSource:
		return "source.git"
	case *config.HelmSource:
		return "source.helm"
	case *config.OCISource:
		return "source.oci"
	case *config.Kustomization:
		return "kustomization"
	case *config.Release:
		return "release"
	}
	return "block"
}

func blockSuspended(b config.Block) bool {
	switch b := b.(type) {
	case *config.Kustomization:
		return b.Suspend
	case *config.Release:
		return b.Suspend
	}
	return false
}
