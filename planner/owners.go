package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// owning is the block whose change ownershipError judges: its address,
// whether it sets adopt = true, and for a release its Helm release
// ("namespace/name").
type owning struct {
	addr    string
	adopt   bool
	release string
}

// ownershipError returns the plan error for the change c of block b when
// the object is not the block's to write: it belongs to another stack,
// block or Helm release, another block of the plan renders it too, or it
// exists without strata's labels (for a release: without its Helm
// metadata) and is not to be adopted (adopt = true, Options.Adopt). An
// adoption the user asked for is marked in rc. Prunes and forgets never
// fail: they only touch what the block owns.
func (e *Engine) ownershipError(b owning, c kube.Change, rc *plan.ResourceChange, up *upcoming) *plan.Error {
	if c.Action == kube.ActionDelete || c.Action == kube.ActionForget {
		return nil
	}
	addr := b.addr
	perr := &plan.Error{Address: rc.Address}
	key := refKey(c.Ref)
	if other, ok := up.rendered[key]; ok && other != addr {
		perr.Message = fmt.Sprintf("%s is rendered by both %s and %s: an object can belong to one block only; remove it from one of them",
			c.Ref, other, addr)
		return perr
	}
	up.rendered[key] = addr
	switch {
	case !c.Unowned:
		return nil
	case c.OtherStack:
		perr.Message = fmt.Sprintf("the object belongs to another stack, %s: strata does not change objects of another stack. "+
			"Remove it from one of the two stacks; if that stack no longer exists, delete the object, or remove its strata.dev labels and adopt it",
			c.Owner)
	case c.Owner != "" && sameKind(c.OwnerBlock, addr):
		perr.Message = fmt.Sprintf("the object belongs to %s of this stack: an object can belong to one block only. "+
			"If %s was renamed to %s, add moved { from = %s  to = %s } to the stack (or run strata state mv %s %s); "+
			"otherwise remove the object from one of the two blocks", c.OwnerBlock, c.OwnerBlock, addr, c.OwnerBlock, addr, c.OwnerBlock, addr)
	case c.Owner != "":
		perr.Message = fmt.Sprintf("the object belongs to %s of this stack: an object can belong to one block only; "+
			"remove it from one of the two blocks", c.OwnerBlock)
	case c.Flux != nil:
		rc.Adopt, rc.Unowned = true, true
		rc.Reason = "managed by Flux (" + c.Flux.String() + "): adopted"
		e.adoptFromFlux(c.Flux, rc.Address)
		return nil
	case c.HelmRelease != "":
		perr.Message = fmt.Sprintf("the object belongs to Helm release %s%s: an object can belong to one block only. "+
			"Remove it from one of the two, or uninstall that release; if the release is gone, "+
			"remove the object's meta.helm.sh annotations and adopt it",
			c.HelmRelease, e.releaseBlockOf(c.HelmRelease))
	case e.adopts(b, rc.Address):
		rc.Adopt, rc.Unowned = true, true
		rc.Reason = "exists in the cluster without strata's labels: adopted"
		if b.release != "" {
			rc.Reason = "exists in the cluster outside any Helm release: adopted into " + b.release
		}
		return nil
	case b.release != "":
		perr.Message = fmt.Sprintf("the object exists in the cluster outside any Helm release, and Helm does not install over it. "+
			"To take it over, set adopt = true in %s or run strata apply --adopt %s; otherwise rename it in the chart or delete it in the cluster",
			addr, rc.Address)
	default:
		perr.Message = fmt.Sprintf("the object exists in the cluster without strata's labels. To take it over, set adopt = true in %s "+
			"or run strata apply --adopt %s; otherwise rename it in the stack or delete it in the cluster", addr, rc.Address)
	}
	return perr
}

// sameKind reports whether block addresses a and b are of the same kind
// (both kustomizations, both releases): only then can one be the other
// renamed.
func sameKind(a, b string) bool {
	ka, _, _ := strings.Cut(a, ".")
	kb, _, _ := strings.Cut(b, ".")
	return ka == kb
}

// releaseBlockOf names the release block of the stack that installs Helm
// release nsName ("namespace/name"), as " (release.x of this stack)"; ""
// when none does.
func (e *Engine) releaseBlockOf(nsName string) string {
	for _, b := range e.stack.Blocks() {
		if r, ok := b.(*config.Release); ok && r.Namespace+"/"+r.Name == nsName {
			return " (" + r.Address().String() + " of this stack)"
		}
	}
	return ""
}

// adopts reports whether the object at objAddr of block b may be adopted:
// b sets adopt = true, or Options.Adopt names the object or b.
func (e *Engine) adopts(b owning, objAddr string) bool {
	block, _, _ := addrs.SplitObjectAddress(objAddr)
	return b.adopt || slices.Contains(e.opts.Adopt, objAddr) || slices.Contains(e.opts.Adopt, block)
}

// checkAdopt refuses Options.Adopt addresses that name no kustomization or
// release of the stack.
func (e *Engine) checkAdopt() error {
	for _, a := range e.opts.Adopt {
		block, _, _ := addrs.SplitObjectAddress(a)
		ba, err := config.ParseAddress(block)
		if err != nil {
			return fmt.Errorf("--adopt %s: %w", a, err)
		}
		switch e.stack.Block(ba).(type) {
		case *config.Kustomization, *config.Release:
		default:
			return fmt.Errorf("--adopt %s: no kustomization or release %s in the stack", a, block)
		}
	}
	return nil
}

// planMoves carries out the stack's moved blocks on a copy of snap, for
// the plan, and records them in p for the apply. A move whose old address
// the state does not hold is done already (or was never needed).
func (e *Engine) planMoves(p *plan.Plan, snap *state.Snapshot) (*state.Snapshot, error) {
	moved := snap
	for _, m := range e.stack.Moved {
		from, to := m.From.String(), m.To.String()
		if !holds(moved, from) {
			continue
		}
		if holds(moved, to) {
			return nil, fmt.Errorf("moved block at %s:%d: the state holds both %s and %s; remove one of them with strata state rm",
				m.DeclRange.Filename, m.DeclRange.Start.Line, from, to)
		}
		if moved == snap {
			moved = snap.Clone()
		}
		if _, err := moved.Move(from, to); err != nil {
			return nil, fmt.Errorf("moved block at %s:%d: %w", m.DeclRange.Filename, m.DeclRange.Start.Line, err)
		}
		p.Moves = append(p.Moves, plan.Move{From: from, To: to})
	}
	return moved, nil
}

// holds reports whether the state has a block, objects or a release at
// address addr.
func holds(s *state.Snapshot, addr string) bool {
	_, b := s.Block(addr)
	_, r := s.Release(addr)
	return b || r || len(s.BlockObjects(addr)) > 0
}

// diffBlock is mgr.Diff for the kustomization opts.Block, whose objects
// may carry the strata.dev/block label of an address the state does not
// record as a former one: an older strata's state mv moved them without
// recording it (state.Block.MovedFrom). When objects the state records in
// the block are labelled with a block the state no longer holds, those
// addresses are added to opts.FormerBlocks and the block is diffed again.
// It returns the former addresses the apply must accept too.
func diffBlock(ctx context.Context, mgr Kube, snap *state.Snapshot, objs []*unstructured.Unstructured,
	opts kube.DiffOptions) (*kube.ChangeSet, []string, error) {
	cs, err := mgr.Diff(ctx, objs, opts)
	if err != nil {
		return nil, nil, err
	}
	former := slices.Clone(opts.FormerBlocks)
	for _, c := range cs.Changes {
		b := c.OwnerBlock
		if !c.Unowned || c.OtherStack || b == "" || b == opts.Block || slices.Contains(former, b) || holds(snap, b) {
			continue
		}
		if _, recorded := snap.Object(c.Ref.Address(opts.Block)); recorded {
			former = append(former, b)
		}
	}
	if len(former) == len(opts.FormerBlocks) {
		return cs, former, nil
	}
	opts.FormerBlocks = former
	cs, err = mgr.Diff(ctx, objs, opts)
	return cs, former, err
}
