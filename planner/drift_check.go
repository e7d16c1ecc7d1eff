package planner

// This file belongs to strata drift (issue 9): the engine's drift check,
// block by block. The checks of each block kind are in drift_kustomization.go,
// drift_release.go and drift_source.go.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// DriftOptions configure Engine.Drift.
type DriftOptions struct {
	// Sources also checks whether Git sources moved on since the last apply.
	Sources bool
	// Blocks limits the check to these block addresses; empty checks all.
	Blocks []string
	// Concurrency bounds parallel list requests (default 16).
	Concurrency int
	// Baseline remembers strata's field sets between checks. Nil loads
	// BaselineFile of the stack (local backend) and saves it after the check.
	Baseline *Baseline

	ahead *scanAhead // the check's shared lists (see prefetchScan)
}

// Drift compares the live cluster with what the state says strata applied,
// block by block, and changes nothing. Suspended blocks are skipped and
// reported as such. An object is drifted when a field strata applied has
// another value in the cluster (or is gone), or when the object is gone.
//
// It is fast on large stacks: the live objects are listed (metadata only)
// with one request per kind and namespace for all the blocks, started a
// few blocks ahead of the block being checked (see prefetchScan); an
// object whose resourceVersion is the one recorded at apply time is
// unchanged, and one whose field
// manager "strata" still owns every field of the manifest was not edited
// (server-side apply moves the ownership of a field to whoever changes
// it). Only the remaining suspects get the same server-side dry run as
// plan, which names the changed fields exactly.
//
// A block that cannot be checked carries an Error in the report; Drift
// itself fails only when the state or the cluster cannot be reached.
func (e *Engine) Drift(ctx context.Context, opts DriftOptions) (*drift.Report, error) {
	if e.stack == nil {
		return nil, errors.New("no stack loaded")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	start := e.opts.Now()
	store, err := e.Store()
	if err != nil {
		return nil, err
	}
	snap, err := store.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if _, err := e.connectCluster(); err != nil {
		return nil, err
	}
	if opts.Baseline == nil {
		path := filepath.Join(e.dir, BaselineFile)
		if err := confine.InWorkDir(e.dir, path); err != nil {
			return nil, fmt.Errorf("drift baseline: %w", err)
		}
		opts.Baseline = LoadBaseline(path)
		defer func() { _ = opts.Baseline.Save(path) }() // only a cache
	}
	e.stackID = snap.Lineage
	e.maskValuesFrom(ctx)
	ctx, cancel := context.WithCancel(ctx) // stops the lists no block took
	defer cancel()
	opts.ahead = e.prefetchScan(snap, opts)
	rep := &drift.Report{FormatVersion: drift.FormatVersion, Stack: e.name, Environment: e.opts.Environment, CheckedAt: start.UTC()}
	want := func(addr string) bool { return len(opts.Blocks) == 0 || slices.Contains(opts.Blocks, addr) }
	for _, b := range e.stack.Blocks() {
		addr := b.Address().String()
		if !want(addr) {
			continue
		}
		var blk drift.Block
		switch b := b.(type) {
		case *config.Kustomization:
			opts.ahead.reach(ctx, addr)
			blk = e.driftKustomization(ctx, snap, b, opts)
		case *config.Release:
			blk = e.driftRelease(ctx, snap, b)
			if opts.Sources {
				e.driftChart(ctx, snap, b, &blk)
			}
		case *config.GitSource:
			if !opts.Sources {
				continue
			}
			blk = e.driftGitSource(ctx, snap, b)
		case *config.OCISource:
			if !opts.Sources {
				continue
			}
			blk = e.driftOCISource(ctx, snap, b)
		default:
			continue
		}
		rep.Blocks = append(rep.Blocks, blk)
	}
	e.scrubReport(rep)
	rep.Sort()
	rep.Duration = e.opts.Now().Sub(start)
	return rep, nil
}

// Suspended returns the addresses of the stack's blocks with
// suspend = true, which plan, apply and drift skip.
func (e *Engine) Suspended() []string {
	if e.stack == nil {
		return nil
	}
	var out []string
	for _, b := range e.stack.Blocks() {
		switch b := b.(type) {
		case *config.Kustomization:
			if b.Suspend {
				out = append(out, b.Address().String())
			}
		case *config.Release:
			if b.Suspend {
				out = append(out, b.Address().String())
			}
		}
	}
	return out
}

// driftFields turns the field diff of a dry run (live before, applied
// after) into drift fields, Secret values masked.
func driftFields(fs []kube.FieldDiff) []drift.Field {
	var out []drift.Field
	for _, f := range fs {
		df := drift.Field{Path: f.Path, Live: f.Before, Applied: f.After}
		if plan.HoldsMasked(f.Before) || plan.HoldsMasked(f.After) {
			df.Live, df.Applied, df.Sensitive = nil, nil, true
		}
		out = append(out, df)
	}
	return out
}
