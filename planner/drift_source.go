package planner

// This file belongs to strata drift: whether a source moved on since the
// last apply (a Git source's revision, a chart repository's version).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/providers/helmrepo"
	"github.com/strata-gitops/strata/state"
)

// driftGitSource compares the revision a Git source resolves to now with
// the one strata last applied.
func (e *Engine) driftGitSource(ctx context.Context, snap *state.Snapshot, s *config.GitSource) drift.Block {
	return e.driftTreeSource(ctx, snap, s, "source.git", "Git", s.Timeout,
		func(ctx context.Context, prov *Providers) (string, error) {
			res, err := prov.Git.Resolve(ctx, gitSpec(s))
			if err != nil {
				return "", gitSourceError(s, err)
			}
			return res.Revision, nil
		})
}

// driftOCISource compares the revision an OCI source resolves to now
// (its tag may have moved, or a newer tag match its semver) with the one
// strata last applied.
func (e *Engine) driftOCISource(ctx context.Context, snap *state.Snapshot, s *config.OCISource) drift.Block {
	return e.driftTreeSource(ctx, snap, s, "source.oci", "the registry", s.Timeout,
		func(ctx context.Context, prov *Providers) (string, error) {
			res, err := prov.OCI.Resolve(ctx, ociSpec(s))
			if err != nil {
				return "", ociSourceError(s, err)
			}
			return res.Revision(), nil
		})
}

// driftTreeSource is the drift check of a source of trees: resolve its
// revision now, within the source's timeout, and report a SourceMoved
// item when it is not the one applied (the cluster is behind origin).
func (e *Engine) driftTreeSource(ctx context.Context, snap *state.Snapshot, src config.Block, kind, origin string, timeout time.Duration,
	resolve func(context.Context, *Providers) (string, error)) drift.Block {
	addr := src.Address().String()
	blk := drift.Block{Address: addr, Kind: kind}
	sb, ok := snap.Block(addr)
	if !ok {
		blk.Notes = append(blk.Notes, "not applied yet")
		return blk
	}
	blk.Revision = sb.Revision
	prov, err := e.connectSources()
	if err != nil {
		blk.Error = err.Error()
		return blk
	}
	rctx, cancel := sourceContext(ctx, timeout)
	defer cancel()
	now, err := resolve(rctx, prov)
	if err != nil {
		e.driftError(&blk, src, timedOut(rctx, timeout, err))
		return blk
	}
	blk.Checked = 1
	if now != sb.Revision {
		blk.Items = append(blk.Items, drift.Item{Address: addr, Kind: drift.SourceMoved,
			Message: fmt.Sprintf("moved on since the last apply: %s -> %s; the cluster is behind %s", sb.Revision, now, origin),
			Fields:  []drift.Field{{Path: "revision", Live: sb.Revision, Applied: now}}})
	}
	return blk
}

// driftChart adds to blk a SourceMoved item when the release's chart
// repository now serves another chart version for the block's version
// constraint than the one applied (a newer one, or the same version
// republished with another digest): the cluster is behind the repository.
func (e *Engine) driftChart(ctx context.Context, snap *state.Snapshot, r *config.Release, blk *drift.Block) {
	if r.Suspend || r.Source == nil || r.Source.Addr.Type != config.SourceHelm || blk.Error != "" {
		return
	}
	addr := r.Address().String()
	rel, ok := snap.Release(addr)
	if !ok {
		return
	}
	src := e.stack.HelmSources[r.Source.Addr.Name]
	if src == nil {
		return
	}
	prov, err := e.connectSources()
	if err != nil {
		blk.Error = err.Error()
		return
	}
	rctx, cancel := sourceContext(ctx, src.Timeout)
	defer cancel()
	cv, err := prov.Charts.Resolve(rctx, helmSpec(src), helmrepo.ChartRef{Name: r.Chart, Version: r.Version})
	if err != nil {
		e.driftError(blk, r, fmt.Errorf("%s: %w", r.Source.Addr, chartPullError(r, src, timedOut(rctx, src.Timeout, err))))
		return
	}
	blk.Checked++
	applied := blk.Revision // "<version>@<digest>" for charts from a repository
	if !strings.Contains(applied, "@") {
		applied = rel.Version
	}
	if cv.Version == rel.Version && (applied == rel.Version || cv.Revision() == applied) {
		return
	}
	constraint := r.Version
	if constraint == "" {
		constraint = "latest"
	}
	msg := fmt.Sprintf("chart %s %s is available for version %q, %s is applied; the cluster is behind the repository",
		r.Chart, cv.Version, constraint, rel.Version)
	if cv.Version == rel.Version {
		msg = fmt.Sprintf("chart %s %s was republished with another digest (%s, %s applied)", r.Chart, cv.Version, cv.Digest, applied)
	}
	blk.Items = append(blk.Items, drift.Item{Address: addr, Kind: drift.SourceMoved, Message: msg,
		Fields: []drift.Field{{Path: "chart.version", Live: rel.Version, Applied: cv.Version}}})
}
