package kube

import (
	"context"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// diffPrunes lists the deletes of the objects of opts.Previous and
// opts.Intents that are not rendered any more. known says how each is
// known to the state.
func (m *Manager) diffPrunes(ctx context.Context, ts []*target, opts DiffOptions, known map[key]trust) ([]Change, error) {
	rendered := make(map[key]bool, len(ts))
	for _, t := range ts {
		rendered[keyOf(t.ref)] = true
	}
	var gone []ObjectRef
	for _, r := range slices.Concat(opts.Previous, opts.Intents) {
		if k := keyOf(r); !rendered[k] {
			rendered[k] = true // once, though both list it
			gone = append(gone, r)
		}
	}
	prunes := make([]Change, len(gone))
	err := forEach(ctx, len(gone), m.opts.Concurrency, func(ctx context.Context, i int) error {
		c, err := m.diffPrune(ctx, gone[i], opts.owner(), known[keyOf(gone[i])], opts.FormerBlocks)
		prunes[i] = c
		return err
	})
	if err != nil {
		return nil, err
	}
	out := prunes[:0]
	for _, c := range prunes {
		if c.Ref.Kind != "" {
			out = append(out, c)
		}
	}
	return out, nil
}

// diffPrune describes the fate of an object that is no longer rendered: a
// delete, or a forget when it is kept (pruning disabled, or not owned by
// the block). The returned change has an empty Ref when there is nothing
// to say (the object is gone, or its kind is). known says whether the
// state records the object or only an intent (see ownershipOf).
func (m *Manager) diffPrune(ctx context.Context, r ObjectRef, o Owner, known trust, former []string) (Change, error) {
	ri, _, err := m.resource(ctx, r)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return Change{}, nil
		}
		return Change{}, &ObjectError{Ref: r, Op: "discovery", Err: err}
	}
	live, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Change{}, nil
	}
	if err != nil {
		return Change{}, &ObjectError{Ref: r, Op: "get", Err: err}
	}
	before := normalize(live)
	c := Change{Ref: RefOf(live), LiveUID: string(live.GetUID()), LiveResourceVersion: live.GetResourceVersion(), LiveDigest: liveDigest(live, before)}
	c.Before = mask(before)
	rel, owner := ownershipOf(live, o, known, former)
	switch {
	case rel != ownedByBlock:
		c.Action, c.Unowned, c.Owner, c.OtherStack = ActionForget, true, owner, rel == otherStack
		c.OwnerBlock = live.GetLabels()[LabelBlock]
		c.Reason = "not rendered any more, kept: not owned by this block"
		if owner != "" {
			c.Reason = "not rendered any more, kept: owned by " + owner
		}
	case live.GetAnnotations()[AnnotationPrune] == PruneDisabled:
		c.Action = ActionForget
		c.Reason = "not rendered any more, kept: " + AnnotationPrune + ": " + PruneDisabled
	default:
		c.Action = ActionDelete
	}
	return c, nil
}
