package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// ErrStale is wrapped by Apply errors when ApplyOptions.IfUnchanged is set
// and an object changed in the cluster since the diff.
var ErrStale = errors.New("object changed in the cluster since the plan")

// ErrReplaceNotForced is wrapped by Apply errors for replaces when
// ApplyOptions.Force is not set.
var ErrReplaceNotForced = errors.New("an immutable field changes: the object must be deleted and created again, which needs force")

// ErrNotOwned is wrapped by Apply errors for changes of objects that the
// block does not own when adoption was not asked for.
var ErrNotOwned = errors.New("object exists and is not owned by this block; adopt it to manage it")

// Apply carries out a change set computed by Diff: creates, updates and
// replaces (only with opts.Force) in stages (cluster definitions first,
// then, once the CRDs are Established, everything else; in parallel within
// a stage), then deletes in reverse order with ownership re-checked, then,
// if opts.Wait, waits for readiness. Changes that Diff could check against
// their CRD's schema only (Change.SchemaOnly) go with the other objects,
// once their CRDs are Established and a real dry run of each of them
// passed: a refusal fails the stage before any of it is written. It returns
// what was done, also when it fails part-way: the result then lists every
// object written before the failure. Events are sent on events (nil
// discards them); the caller must keep reading until Apply returns.
func (m *Manager) Apply(ctx context.Context, cs *ChangeSet, opts ApplyOptions, events chan<- Event) (*ApplyResult, error) {
	if err := checkOwner(opts.owner()); err != nil {
		return nil, err
	}
	start := time.Now()
	var writes [2][]Change
	var deletes []ObjectRef
	var errs []error
	for _, c := range cs.Changes {
		switch c.Action {
		case ActionNoop, ActionForget:
			continue
		case ActionDelete:
			deletes = append(deletes, c.Ref)
			continue
		}
		if c.Desired == nil {
			errs = append(errs, fmt.Errorf("%s: change has no desired object", c.Ref))
			continue
		}
		if c.Unowned && !opts.Adopt {
			errs = append(errs, &ObjectError{Ref: c.Ref, Op: "apply", Err: ErrNotOwned})
			continue
		}
		if c.Refusal != nil {
			errs = append(errs, &ObjectError{Ref: c.Ref, Op: c.Refusal.op(), Err: c.Refusal})
			continue
		}
		if c.Action == ActionReplace && !opts.Force {
			errs = append(errs, &ObjectError{Ref: c.Ref, Op: "replace", Err: ErrReplaceNotForced})
			continue
		}
		stage := stageOf(c.Ref)
		if c.SchemaOnly {
			stage = stageObjects // a custom resource, whatever its kind's name
		}
		writes[stage] = append(writes[stage], c)
	}
	if len(errs) > 0 {
		return &ApplyResult{}, errors.Join(errs...)
	}

	res := &ApplyResult{}
	var applied []ObjectRef
	for stage, batch := range writes {
		if err := m.checkSchemaOnly(ctx, batch, opts); err != nil {
			return res, err
		}
		done, err := m.applyBatch(ctx, batch, opts, events, start)
		for _, a := range done {
			res.Objects = append(res.Objects, a)
			applied = append(applied, a.Ref)
		}
		if err != nil {
			return res, err
		}
		if stage == stageDefinitions && len(batch) > 0 {
			var crds []ObjectRef
			for _, a := range done {
				if isCRDRef(a.Ref) {
					crds = append(crds, a.Ref)
				}
			}
			if err := m.waitEstablished(ctx, crds, opts.timeout()); err != nil {
				return res, err
			}
			if len(crds) > 0 {
				m.ResetMapping()
			}
			emit(ctx, events, Event{Type: EventStage, Message: "cluster definitions applied", Elapsed: time.Since(start)})
		}
	}

	if len(deletes) > 0 {
		pruned, err := m.Prune(ctx, deletes, PruneOptions{Stack: opts.Stack, StackID: opts.StackID, Block: opts.Block,
			FormerBlocks: opts.FormerBlocks, Intents: opts.Intents}, events)
		res.Objects = append(res.Objects, pruned...)
		if err != nil {
			return res, err
		}
	}

	if refs, conds := WaitFor(opts.Wait, applied, opts.HealthChecks); len(refs) > 0 {
		if err := m.Wait(ctx, refs, WaitOptions{Timeout: opts.timeout(), Conditions: conds}, events); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (o ApplyOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 5 * time.Minute
	}
	return o.Timeout
}

// applyBatch writes the changes of one stage in parallel.
func (m *Manager) applyBatch(ctx context.Context, batch []Change, opts ApplyOptions, events chan<- Event, start time.Time) ([]Applied, error) {
	out := make([]Applied, len(batch))
	ok := make([]bool, len(batch))
	err := forEach(ctx, len(batch), m.opts.Concurrency, func(ctx context.Context, i int) error {
		c := batch[i]
		a, err := m.applyOne(ctx, c, opts)
		if err != nil {
			err = &ObjectError{Ref: c.Ref, Op: string(c.Action), Err: err}
			emit(ctx, events, Event{Type: EventFailed, Ref: c.Ref, Action: c.Action, Err: err, Elapsed: time.Since(start)})
			return err
		}
		out[i], ok[i] = a, true
		emit(ctx, events, Event{Type: EventApplied, Ref: a.Ref, Action: c.Action, Elapsed: time.Since(start)})
		return nil
	})
	done := out[:0]
	for i := range out {
		if ok[i] {
			done = append(done, out[i])
		}
	}
	return done, err
}

func (m *Manager) applyOne(ctx context.Context, c Change, opts ApplyOptions) (Applied, error) {
	obj := c.Desired.DeepCopy()
	SetOwner([]*unstructured.Unstructured{obj}, opts.owner())
	SetDigest(obj) // idempotent: Desired from Diff has it already
	var ri dynamic.ResourceInterface
	var err error
	if c.AfterCRD != "" {
		// Its CRD was established moments ago: discovery may lag.
		ri, err = m.servedResource(ctx, RefOf(obj), opts.timeout())
	} else {
		ri, _, err = m.resource(ctx, RefOf(obj))
	}
	if err != nil {
		return Applied{}, err
	}
	switch c.Action {
	case ActionCreate:
		if opts.IfUnchanged {
			if _, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); err == nil {
				return Applied{}, fmt.Errorf("%w: it was created meanwhile", ErrStale)
			} else if !apierrors.IsNotFound(err) {
				return Applied{}, err
			}
		}
	case ActionUpdate:
		if opts.IfUnchanged {
			// Server-side apply honours a resourceVersion as a precondition.
			obj.SetResourceVersion(c.LiveResourceVersion)
		}
		if c.Flux != nil {
			rv, err := takeOverFromFlux(ctx, ri, obj.GetName(), obj.GetResourceVersion())
			if err != nil {
				return Applied{}, err
			}
			if opts.IfUnchanged {
				obj.SetResourceVersion(rv)
			}
		}
	case ActionReplace:
		if err := m.deleteAndWait(ctx, ri, obj.GetName(), c.LiveUID, opts.timeout()); err != nil {
			return Applied{}, err
		}
	default:
		return Applied{}, fmt.Errorf("unexpected action %q", c.Action)
	}
	got, err := m.serverApply(ctx, obj)
	// A controller writing status between the check and the apply moves
	// the resourceVersion without changing what the plan was made against.
	for try := 0; try < 3 && err != nil && opts.IfUnchanged && c.Action == ActionUpdate && c.LiveDigest != "" && apierrors.IsConflict(err); try++ {
		live, gerr := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if gerr != nil || string(live.GetUID()) != c.LiveUID || LiveDigest(live) != c.LiveDigest {
			break
		}
		obj.SetResourceVersion(live.GetResourceVersion())
		got, err = m.serverApply(ctx, obj)
	}
	if err != nil {
		if opts.IfUnchanged && apierrors.IsConflict(err) {
			return Applied{}, fmt.Errorf("%w: %v", ErrStale, err)
		}
		return Applied{}, err
	}
	digest := got.digest // of the object as sent
	if obj.GetResourceVersion() != "" {
		// Sent with a resourceVersion precondition: the digest is of the
		// object without it.
		obj.SetResourceVersion("")
		digest = Digest(obj)
	}
	_, fields := FieldSets(got.Metadata.ManagedFields)
	return Applied{
		Ref:             got.ref(),
		Action:          c.Action,
		UID:             got.Metadata.UID,
		ResourceVersion: got.Metadata.ResourceVersion,
		Digest:          digest,
		FieldsHash:      fields,
	}, nil
}

// deleteAndWait deletes the object with the given UID and waits until it is
// gone. Its dependants (a Job's pods) are garbage collected in the
// background, as kubectl replace --force does.
func (m *Manager) deleteAndWait(ctx context.Context, ri dynamic.ResourceInterface, name, uid string, timeout time.Duration) error {
	policy := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &policy}
	if uid != "" {
		u := types.UID(uid)
		del.Preconditions = &metav1.Preconditions{UID: &u}
	}
	if err := ri.Delete(ctx, name, del); err != nil && !apierrors.IsNotFound(err) {
		if apierrors.IsConflict(err) {
			return fmt.Errorf("%w: it was re-created meanwhile", ErrStale)
		}
		return fmt.Errorf("delete for replace: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		_, err := ri.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("wait for deletion: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replace: the old object was not deleted within %s", timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitEstablished waits until the CRDs have the condition Established.
func (m *Manager) waitEstablished(ctx context.Context, crds []ObjectRef, timeout time.Duration) error {
	if len(crds) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return forEach(ctx, len(crds), m.opts.Concurrency, func(ctx context.Context, i int) error {
		ri, _, err := m.resource(ctx, crds[i])
		if err != nil {
			return &ObjectError{Ref: crds[i], Op: "wait", Err: err}
		}
		for {
			u, err := ri.Get(ctx, crds[i].Name, metav1.GetOptions{})
			if err == nil && crdEstablished(u) {
				return nil
			}
			select {
			case <-ctx.Done():
				return &ObjectError{Ref: crds[i], Op: "wait", Err: errors.New("CRD not Established in time")}
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func crdEstablished(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cm, ok := c.(map[string]any)
		if ok && cm["type"] == "Established" && cm["status"] == "True" {
			return true
		}
	}
	return false
}
