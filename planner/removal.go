package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// planRemovals plans the deletion of blocks that are in the state but no
// longer in the stack (or of every block, for a destroy plan), in reverse
// dependency order.
func (e *Engine) planRemovals(ctx context.Context, p *plan.Plan, snap *state.Snapshot) error {
	configured := map[string]bool{}
	if !e.opts.Destroy {
		for _, b := range e.stack.Blocks() {
			configured[b.Address().String()] = true
		}
	}
	targeted := func(addr string) bool {
		if len(e.opts.Targets) == 0 {
			return true
		}
		for _, t := range e.opts.Targets {
			if b, _, _ := addrs.SplitObjectAddress(t); b == addr {
				return true
			}
		}
		return false
	}
	var gone []state.Block
	for _, sb := range snap.Blocks {
		if !configured[sb.Address] && targeted(sb.Address) {
			gone = append(gone, sb)
		}
	}
	// With a destroy plan of some targets, also remove what depends on them.
	if e.opts.Destroy && len(e.opts.Targets) > 0 {
		in := map[string]bool{}
		for _, g := range gone {
			in[g.Address] = true
		}
		for changed := true; changed; {
			changed = false
			for _, sb := range snap.Blocks {
				if in[sb.Address] {
					continue
				}
				for _, d := range sb.DependsOn {
					if in[d] {
						in[sb.Address], changed = true, true
						gone = append(gone, sb)
						break
					}
				}
			}
		}
	}
	if len(gone) == 0 {
		return nil
	}
	// A removed block goes after every removed block that depended on it.
	after := map[string][]string{}
	names := make([]string, len(gone))
	for i, g := range gone {
		names[i] = g.Address
	}
	for _, g := range gone {
		for _, d := range g.DependsOn {
			if slices.Contains(names, d) {
				after[d] = append(after[d], g.Address)
			}
		}
	}
	order, err := topoSort(names, after)
	if err != nil {
		return err
	}
	byAddr := map[string]state.Block{}
	for _, g := range gone {
		byAddr[g.Address] = g
	}
	for _, addr := range order {
		sb := byAddr[addr]
		deps := slices.Clone(after[addr])
		sort.Strings(deps)
		blk := plan.Block{Address: addr, Kind: sb.Kind, Remove: true, DependsOn: deps}
		switch sb.Kind {
		case "kustomization":
			former, err := e.planRemovedObjects(ctx, p, snap, &blk)
			if err != nil {
				return err
			}
			blk.Settings, _ = json.Marshal(kustomizationSettings{FormerBlocks: former})
		case "release":
			rel, ok := snap.Release(addr)
			if ok {
				rs := e.removedReleaseSettings(addr, rel)
				owner, err := e.removedReleaseOwner(ctx, rs)
				if err != nil {
					return fmt.Errorf("%s: %w", addr, err)
				}
				if perr := e.releaseOwnerError(addr, owner, true); perr != nil {
					p.Errors = append(p.Errors, *perr)
					continue
				}
				hooks, err := e.uninstallHooks(ctx, rs)
				var uh *helm.UnnamedHookError
				if errors.As(err, &uh) {
					p.AddError(addr, e.secrets.Scrub(capitalized(uh.Error())+"."))
					continue
				}
				if err != nil {
					return fmt.Errorf("%s: %w", addr, err)
				}
				p.Releases = append(p.Releases, plan.ReleaseChange{Address: addr, Name: rel.Name, Namespace: rel.Namespace,
					Actions: plan.Actions{plan.Uninstall}, ChartBefore: rel.Chart, VersionBefore: rel.Version,
					Reason: map[bool]string{true: "destroy", false: addr + " is no longer in the stack"}[e.opts.Destroy],
					Hooks:  hooks})
				blk.Settings, _ = json.Marshal(rs)
			}
		default:
			if strings.HasPrefix(sb.Kind, "source") {
				p.Sources = append(p.Sources, plan.SourceChange{Address: addr, Kind: strings.TrimPrefix(sb.Kind, "source."),
					Actions: plan.Actions{plan.Delete}, Before: sb.Revision})
			}
		}
		p.Blocks = append(p.Blocks, blk)
	}
	return nil
}

// removedReleaseSettings are the settings of the uninstall of a release
// whose block left the stack (or is destroyed): the block's own when it is
// still in the stack, else those recorded in the state when it was applied.
func (e *Engine) removedReleaseSettings(addr string, rel state.Release) releaseSettings {
	rs := releaseSettings{Name: rel.Name, Namespace: rel.Namespace, ServiceAccount: rel.ServiceAccount}
	if u := rel.Uninstall; u != nil {
		rs.Uninstall = helm.UninstallOptions{KeepHistory: u.KeepHistory, DisableHooks: u.DisableHooks, Timeout: u.Timeout}
	}
	for _, r := range e.stack.Releases {
		if r.Address().String() == addr {
			rs.ServiceAccount, rs.Uninstall = r.ServiceAccount, uninstallOptions(r)
		}
	}
	return rs
}

// planRemovedObjects plans the deletion of the objects of a kustomization
// that leaves the stack: those in the state and those an interrupted apply
// may have created (intents). Kept objects (strata.dev/prune: disabled, or
// no longer owned by the block) are forgotten. It returns the block's
// former addresses, for the prunes (see diffBlock).
func (e *Engine) planRemovedObjects(ctx context.Context, p *plan.Plan, snap *state.Snapshot, blk *plan.Block) ([]string, error) {
	addr := blk.Address
	sb, _ := snap.Block(addr)
	prev, intents := previousObjects(snap, addr)
	if len(prev)+len(intents) == 0 {
		return sb.MovedFrom, nil
	}
	mgr, err := e.kubeAs("")
	if err != nil {
		return nil, err
	}
	owner := e.owner(addr)
	cs, former, err := diffBlock(ctx, mgr, snap, nil, kube.DiffOptions{Stack: owner.Stack, StackID: owner.StackID, Block: addr,
		FormerBlocks: sb.MovedFrom, Previous: prev, Intents: intents, Prune: true, Shared: e.reads})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	for _, c := range cs.Changes {
		rc := e.resourceChange(addr, c)
		if _, inState := snap.Object(rc.Address); !inState {
			if !intentReason(&rc, c) {
				continue
			}
		} else if rc.Reason == "" {
			if e.opts.Destroy {
				rc.Reason = "destroy"
			} else {
				rc.Reason = addr + " is no longer in the stack"
			}
		}
		p.Changes = append(p.Changes, rc)
		if c.Action == kube.ActionDelete {
			blk.Prune = append(blk.Prune, plan.ObjectRef{APIVersion: rc.APIVersion, Kind: rc.Kind, Namespace: rc.Namespace, Name: rc.Name})
		}
	}
	return former, nil
}
