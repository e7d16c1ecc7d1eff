package kube

import (
	"context"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Prune deletes the objects that still carry the ownership labels of opts
// (see PruneOptions) and are not annotated strata.dev/prune: disabled,
// in reverse apply order (custom resources before CRDs, namespaces last),
// in parallel within a group. Objects already gone, not owned or kept are
// reported as skipped. The deletes are background deletes preconditioned on
// the UID that was checked.
func (m *Manager) Prune(ctx context.Context, refs []ObjectRef, opts PruneOptions, events chan<- Event) ([]Applied, error) {
	if err := checkOwner(opts.owner()); err != nil {
		return nil, err
	}
	start := time.Now()
	var groups [4][]ObjectRef
	for _, r := range refs {
		groups[deleteGroup(r)] = append(groups[deleteGroup(r)], r)
	}
	var out []Applied
	for _, g := range groups {
		res := make([]Applied, len(g))
		err := forEach(ctx, len(g), m.opts.Concurrency, func(ctx context.Context, i int) error {
			a, err := m.pruneOne(ctx, g[i], opts)
			res[i] = a
			switch {
			case err != nil:
				emit(ctx, events, Event{Type: EventFailed, Ref: g[i], Action: ActionDelete, Err: err, Elapsed: time.Since(start)})
			case a.Skipped != "":
				emit(ctx, events, Event{Type: EventSkipped, Ref: g[i], Action: ActionDelete, Message: a.Skipped, Elapsed: time.Since(start)})
			default:
				emit(ctx, events, Event{Type: EventDeleted, Ref: g[i], Action: ActionDelete, Elapsed: time.Since(start)})
			}
			return err
		})
		for _, a := range res {
			if a.Ref.Kind != "" {
				out = append(out, a)
			}
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// pruneOne deletes r unless it is gone, not owned by the block or kept by
// AnnotationPrune.
func (m *Manager) pruneOne(ctx context.Context, r ObjectRef, opts PruneOptions) (Applied, error) {
	a := Applied{Ref: r, Action: ActionDelete}
	ri, _, err := m.resource(ctx, r)
	if err != nil {
		if meta.IsNoMatchError(err) {
			a.Skipped = "already gone (its kind is not served)"
			return a, nil
		}
		return Applied{}, &ObjectError{Ref: r, Op: "delete", Err: err}
	}
	live, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		a.Skipped = "already gone"
		return a, nil
	case err != nil:
		return Applied{}, &ObjectError{Ref: r, Op: "delete", Err: err}
	}
	known := trustRecorded
	if slices.ContainsFunc(opts.Intents, func(i ObjectRef) bool { return keyOf(i) == keyOf(r) }) {
		known = trustIntent
	}
	if rel, owner := ownershipOf(live, opts.owner(), known, opts.FormerBlocks); rel != ownedByBlock {
		a.Skipped = "not owned by this block"
		if owner != "" {
			a.Skipped = "owned by " + owner
		}
		return a, nil
	}
	if live.GetAnnotations()[AnnotationPrune] == PruneDisabled {
		a.Skipped = "pruning disabled by " + AnnotationPrune
		return a, nil
	}
	policy := metav1.DeletePropagationBackground
	uid := live.GetUID()
	err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return Applied{}, &ObjectError{Ref: r, Op: "delete", Err: err}
	}
	return a, nil
}
