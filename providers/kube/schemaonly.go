package kube

import (
	"context"
	"errors"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// ReasonSchemaOnly ends the Reason of every change with SchemaOnly set.
const ReasonSchemaOnly = "checked against the CRD's schema only"

// RedefinesKind reports whether c is the change of a
// CustomResourceDefinition that creates or replaces it or changes its
// spec: objects of its kind are then planned against the planned CRD
// (see PlannedCRD), not the live one.
func (c Change) RedefinesKind() bool {
	if !isCRDRef(c.Ref) || c.Desired == nil {
		return false
	}
	switch c.Action {
	case ActionCreate, ActionReplace:
		return true
	case ActionUpdate:
		for _, f := range c.Fields {
			if f.Path == "spec" || strings.HasPrefix(f.Path, "spec.") || strings.HasPrefix(f.Path, "spec[") {
				return true
			}
		}
	}
	return false
}

// diffSchemaOnly plans an object of a kind whose CRD the plan creates or
// changes first. The server cannot check it yet (the kind, or this version
// of it, is not served, or its schema is about to change), so it is checked
// offline against the planned schema, defaults included. It is a create
// when the object does not exist, else an update whose After is the live
// object with the desired fields laid over it.
func (d *differ) diffSchemaOnly(ctx context.Context, t *target, def *crdSchema) (Change, error) {
	c := Change{Ref: t.ref, Desired: t.obj, AfterCRD: def.name, SchemaOnly: true}
	reason := "after CRD " + def.name
	if def.by != d.opts.Block {
		reason += " (" + def.by + ")"
	}
	reason += "; " + ReasonSchemaOnly
	after, err := def.check(t.obj)
	var refused *Refusal
	if errors.As(err, &refused) {
		// The rest of the set is still diffed: the planner shows the
		// refusal as an error at this object.
		refused.Ref = t.ref
		c, err := d.diffRefused(ctx, t, refused)
		c.AfterCRD, c.SchemaOnly, c.Reason = def.name, true, joinReasons(c.Reason, reason)
		return c, err
	}
	if err != nil {
		return c, &ObjectError{Ref: t.ref, Op: "schema check", Err: err}
	}
	live, err := d.liveOf(ctx, t)
	if err != nil {
		return c, err
	}
	if live == nil {
		c.Action, c.Reason = ActionCreate, reason
		c.After = mask(normalize(after))
		return c, nil
	}
	d.m.fillLive(&c, live, d.opts, d.known[keyOf(t.ref)])
	c.Reason = joinReasons(c.Reason, reason)
	before := normalize(live)
	merged := &unstructured.Unstructured{Object: overlay(before.DeepCopy().Object, normalize(after).Object).(map[string]any)}
	c.Fields = diffFields(before.Object, merged.Object)
	c.Before, c.After = mask(before), mask(merged)
	c.Action = ActionUpdate
	if len(c.Fields) == 0 {
		c.Action = ActionNoop
	} else {
		c.LiveDigest = liveDigest(live, before)
	}
	return c, nil
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// liveOf reads the live object of t in whatever version the cluster serves
// its kind; nil when the kind is not served or the object does not exist.
func (d *differ) liveOf(ctx context.Context, t *target) (*unstructured.Unstructured, error) {
	if u := d.live.get(keyOf(t.ref)); u != nil {
		return u, nil
	}
	mp, err := d.m.mapper.mapping(ctx, schema.GroupVersionKind{Group: t.ref.Group, Kind: t.ref.Kind})
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &ObjectError{Ref: t.ref, Op: "discovery", Err: err}
	}
	ri := d.m.dyn.Resource(mp.Resource)
	var u *unstructured.Unstructured
	if mp.Scope.Name() == meta.RESTScopeNameNamespace {
		u, err = ri.Namespace(t.ref.Namespace).Get(ctx, t.ref.Name, metav1.GetOptions{})
	} else {
		u, err = ri.Get(ctx, t.ref.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &ObjectError{Ref: t.ref, Op: "get", Err: err}
	}
	return u, nil
}

// overlay lays desired over live as a server-side apply of desired would
// for the fields desired sets: maps merged key by key, lists and scalars
// replaced. Fields strata set before and desired drops are not removed: the
// dry run at apply time has the final word.
func overlay(live, desired any) any {
	d, ok := desired.(map[string]any)
	l, lok := live.(map[string]any)
	if !ok || !lok {
		return desired
	}
	for k, dv := range d {
		l[k] = overlay(l[k], dv)
	}
	return l
}

// checkSchemaOnly prepares the apply of changes that the plan could not
// dry-run: those checked against their CRD's schema only, and those in a
// namespace the plan creates (Change.AfterNamespace), which exists by now.
// It waits until their CRDs are Established, refreshes discovery, and
// dry-runs each of them for real, so that the server's verdict (CEL rules,
// admission policies, webhooks, conversion) comes before anything of the
// stage is written.
func (m *Manager) checkSchemaOnly(ctx context.Context, batch []Change, opts ApplyOptions) error {
	var crds []ObjectRef
	seen := map[string]bool{}
	var checks []Change
	for _, c := range batch {
		if !c.SchemaOnly && c.AfterNamespace == "" {
			continue
		}
		checks = append(checks, c)
		if c.SchemaOnly && c.AfterCRD != "" && !seen[c.AfterCRD] {
			seen[c.AfterCRD] = true
			crds = append(crds, ObjectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: c.AfterCRD})
		}
	}
	if len(checks) == 0 {
		return nil
	}
	if len(crds) > 0 {
		if err := m.waitEstablished(ctx, crds, opts.timeout()); err != nil {
			return err
		}
		m.ResetMapping()
	}
	return forEach(ctx, len(checks), m.opts.Concurrency, func(ctx context.Context, i int) error {
		c := checks[i]
		obj := c.Desired.DeepCopy()
		SetOwner([]*unstructured.Unstructured{obj}, opts.owner())
		SetDigest(obj)
		ri, err := m.servedResource(ctx, RefOf(obj), opts.timeout())
		if err == nil {
			_, err = ri.Apply(ctx, obj.GetName(), obj, dryRunOptions())
		}
		if err != nil {
			return &ObjectError{Ref: c.Ref, Op: "dry run", Err: err}
		}
		return nil
	})
}

// servedResource is resource for a kind whose CRD was just established:
// discovery publishes the kind a moment after the condition, so a kind
// not served yet is looked up again until timeout.
func (m *Manager) servedResource(ctx context.Context, ref ObjectRef, timeout time.Duration) (dynamic.ResourceInterface, error) {
	deadline := time.Now().Add(timeout)
	for {
		ri, _, err := m.resource(ctx, ref)
		if err == nil || !meta.IsNoMatchError(err) || time.Now().After(deadline) {
			return ri, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		m.ResetMapping()
	}
}
