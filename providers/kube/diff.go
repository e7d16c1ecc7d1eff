package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
)

// target is one desired object prepared for the cluster.
type target struct {
	ref     ObjectRef
	obj     *unstructured.Unstructured // ownership labels set
	mapping *meta.RESTMapping          // nil when the kind is not served yet
	ri      dynamic.ResourceInterface
}

// key identifies an object independently of its API version.
type key struct {
	gk        schema.GroupKind
	namespace string
	name      string
}

func keyOf(r ObjectRef) key { return key{r.GroupKind(), r.Namespace, r.Name} }

func checkOwner(o Owner) error {
	if o.Stack == "" || o.Block == "" {
		return errors.New("stack and block are required")
	}
	for _, v := range []string{o.Stack, o.StackID, o.Block} {
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("%q cannot be a label value: %s", v, strings.Join(errs, "; "))
		}
	}
	return nil
}

func (o DiffOptions) owner() Owner  { return Owner{Stack: o.Stack, StackID: o.StackID, Block: o.Block} }
func (o ApplyOptions) owner() Owner { return Owner{Stack: o.Stack, StackID: o.StackID, Block: o.Block} }
func (o PruneOptions) owner() Owner { return Owner{Stack: o.Stack, StackID: o.StackID, Block: o.Block} }

// SetOwner sets the ownership labels of o on the objects: LabelStack,
// LabelBlock and, when o.StackID is set, LabelStackID.
func SetOwner(objs []*unstructured.Unstructured, o Owner) {
	for _, obj := range objs {
		l := obj.GetLabels()
		if l == nil {
			l = make(map[string]string, 3)
		}
		l[LabelStack] = o.Stack
		l[LabelBlock] = o.Block
		if o.StackID != "" {
			l[LabelStackID] = o.StackID
		}
		obj.SetLabels(l)
	}
}

// ownership is how a live object relates to a block.
type ownership int

const (
	ownedByBlock ownership = iota // carries the block's labels
	unlabelled                    // carries no strata labels
	otherBlock                    // owned by another block of the stack
	otherStack                    // owned by another stack
)

// trust is what the caller knows of a live object besides its labels.
type trust int

const (
	// trustRendered: the block renders the object and its state does not
	// list it.
	trustRendered trust = iota
	// trustIntent: an apply of the block was about to write the object
	// (state.Block.Intents). Only a strata that writes stack ids records
	// intents, so the object is the block's only with the stack's id.
	trustIntent
	// trustRecorded: the block's state lists the object; an older strata may
	// have labelled it with the stack's name and no id.
	trustRecorded
)

// ownershipOf tells how live relates to the block o, and describes its
// strata owner ("" when it has none): "stack/block", with the stack id in
// parentheses when the object carries one. An object the block's state
// records (t == trustRecorded) with o's name and no stack id is the stack's;
// one recorded or intended and labelled with one of former is the block's.
// Without o.StackID, stacks are matched by name alone.
func ownershipOf(live *unstructured.Unstructured, o Owner, t trust, former []string) (ownership, string) {
	l := live.GetLabels()
	s, id, b := l[LabelStack], l[LabelStackID], l[LabelBlock]
	if s == "" && id == "" && b == "" {
		return unlabelled, ""
	}
	who := s + "/" + b
	switch {
	case id != "":
		who += " (stack id " + id + ")"
	case o.StackID != "":
		who += " (no stack id: applied by strata before stack ids)"
	}
	var sameStack bool
	switch {
	case o.StackID == "":
		sameStack = s == o.Stack
	case id != "":
		sameStack = id == o.StackID
	default:
		sameStack = t == trustRecorded && s == o.Stack
	}
	switch {
	case !sameStack:
		return otherStack, who
	case b != o.Block && !(t != trustRendered && slices.Contains(former, b)):
		return otherBlock, who
	}
	return ownedByBlock, who
}

// Prepare adds to a rendered object, in place, what Diff and Apply add:
// the ownership labels of o, the namespace ("default" for a
// namespaced object without one, none for a cluster-scoped object) and
// the digest annotation (see SetDigest), so that Digest of the result is
// the digest the state records. It returns the object's REST mapping; on
// a mapping error (meta.IsNoMatchError for a kind not served yet) the
// namespace is left as it is and the digest is still set.
func (m *Manager) Prepare(ctx context.Context, obj *unstructured.Unstructured, o Owner) (*meta.RESTMapping, error) {
	SetOwner([]*unstructured.Unstructured{obj}, o)
	mp, err := m.Mapping(ctx, obj.GroupVersionKind())
	if err == nil {
		if mp.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(metav1.NamespaceDefault)
			}
		} else {
			obj.SetNamespace("")
		}
	}
	// After the namespace is settled: Apply computes it again.
	SetDigest(obj)
	return mp, err
}

// prepare copies the objects, prepares them (Prepare) and resolves their
// resources. Objects of a kind not served yet are placed by the scope of
// their planned CRD, if any.
func (m *Manager) prepare(ctx context.Context, objs []*unstructured.Unstructured, owner Owner,
	defs map[schema.GroupKind]*crdSchema) ([]*target, error) {
	ts := make([]*target, 0, len(objs))
	seen := make(map[key]bool, len(objs))
	var errs []error
	for _, o := range objs {
		obj := o.DeepCopy()
		mp, err := m.Prepare(ctx, obj, owner)
		t := &target{obj: obj}
		switch {
		case err == nil:
			t.mapping = mp
			if mp.Scope.Name() == meta.RESTScopeNameNamespace {
				t.ri = m.dyn.Resource(mp.Resource).Namespace(obj.GetNamespace())
			} else {
				t.ri = m.dyn.Resource(mp.Resource)
			}
		case meta.IsNoMatchError(err):
			// Resolved later: the CRD may be planned first.
			if def, ok := defs[obj.GroupVersionKind().GroupKind()]; ok {
				def.placeIn(obj)
				SetDigest(obj)
			}
		default:
			errs = append(errs, &ObjectError{Ref: RefOf(obj), Op: "discovery", Err: err})
			continue
		}
		t.ref = RefOf(obj)
		if seen[keyOf(t.ref)] {
			errs = append(errs, fmt.Errorf("%s: rendered twice", t.ref))
			continue
		}
		seen[keyOf(t.ref)] = true
		ts = append(ts, t)
	}
	return ts, errors.Join(errs...)
}

// Diff computes the changes that applying objs would make, for the block
// named in opts. It sends one server-side apply dry run per object (in
// parallel) and changes nothing. Objects of a kind whose CRD the plan
// creates or changes first (in objs, or opts.CRDs) are checked offline
// against that CRD's schema instead (Change.SchemaOnly). The error lists
// every object that failed, each with its reference and the server's (or
// the schema's) message.
func (m *Manager) Diff(ctx context.Context, objs []*unstructured.Unstructured, opts DiffOptions) (*ChangeSet, error) {
	if err := checkOwner(opts.owner()); err != nil {
		return nil, err
	}
	upstream, own := compileCRDs(opts.CRDs), ownCRDs(objs, opts.Block)
	defs := make(map[schema.GroupKind]*crdSchema, len(upstream)+len(own))
	maps.Copy(defs, upstream)
	maps.Copy(defs, own)
	ts, err := m.prepare(ctx, objs, opts.owner(), defs)
	if err != nil {
		return nil, err
	}

	namespaces, crdTargets, others := partition(ts, opts)
	live := m.prefetch(ctx, ts, opts.Stack, opts.Block)
	// Objects of the state may carry the stack's name without its id.
	known := make(map[key]trust, len(opts.Previous)+len(opts.Intents))
	for _, r := range opts.Intents {
		known[keyOf(r)] = trustIntent
	}
	for _, r := range opts.Previous {
		known[keyOf(r)] = trustRecorded
	}

	// The set's CRDs first: the kinds of those that change are checked
	// against the planned schema, like those of upstream blocks.
	changes := make([]Change, len(ts))
	d := &differ{m: m, live: live, namespaces: namespaces, known: known, opts: opts}
	if err := d.run(ctx, ts, crdTargets, changes); err != nil {
		return nil, err
	}
	d.planned = upstream
	for _, i := range crdTargets {
		def, ok := own[CRDKind(ts[i].obj)]
		if ok && changes[i].RedefinesKind() {
			d.planned[def.gk] = def
		}
	}
	if err := d.run(ctx, ts, others, changes); err != nil {
		return nil, err
	}

	if opts.Prune {
		prunes, err := m.diffPrunes(ctx, ts, opts, known)
		if err != nil {
			return nil, err
		}
		changes = append(changes, prunes...)
	}
	sortChanges(changes)
	return &ChangeSet{Changes: changes}, nil
}

// partition returns the namespaces that the set creates or keeps, or that
// upstream blocks create, each with the reason of a create after it, and
// the indexes of the set's CRDs and of its other objects.
func partition(ts []*target, opts DiffOptions) (namespaces map[string]string, crds, others []int) {
	namespaces = make(map[string]string, len(opts.Namespaces))
	for ns, by := range opts.Namespaces {
		namespaces[ns] = "after Namespace " + ns + " (" + by + ")"
	}
	for i, t := range ts {
		switch {
		case isCRDRef(t.ref):
			crds = append(crds, i)
		case isNamespaceRef(t.ref):
			namespaces[t.ref.Name] = "after Namespace " + t.ref.Name
			others = append(others, i)
		default:
			others = append(others, i)
		}
	}
	return namespaces, crds, others
}

// differ diffs the targets of one Diff.
type differ struct {
	m          *Manager
	live       *liveCache
	namespaces map[string]string               // namespace -> reason of a create after it
	planned    map[schema.GroupKind]*crdSchema // kinds checked against the planned schema
	known      map[key]trust                   // how the state knows each object
	opts       DiffOptions
}

// run diffs the targets ts[i] for i in idx, in parallel, into changes[i].
func (d *differ) run(ctx context.Context, ts []*target, idx []int, changes []Change) error {
	return forEach(ctx, len(idx), d.m.opts.Concurrency, func(ctx context.Context, j int) error {
		i := idx[j]
		c, err := d.diffOne(ctx, ts[i])
		changes[i] = c
		return err
	})
}

// compileCRDs compiles the planned CRDs of upstream blocks by kind.
func compileCRDs(crds []PlannedCRD) map[schema.GroupKind]*crdSchema {
	out := make(map[schema.GroupKind]*crdSchema, len(crds))
	for _, p := range crds {
		cs := compileCRD(p)
		out[cs.gk] = cs
	}
	return out
}

// ownCRDs compiles the CRDs among objs by kind.
func ownCRDs(objs []*unstructured.Unstructured, block string) map[schema.GroupKind]*crdSchema {
	var crds []PlannedCRD
	for _, o := range objs {
		if isCRDRef(RefOf(o)) {
			crds = append(crds, PlannedCRD{Object: o, By: block})
		}
	}
	return compileCRDs(crds)
}

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

// prefetch lists the live objects of the block, one request per resource and
// namespace with at least two rendered objects. Objects it misses (not owned
// yet, or the list was refused) are read one by one later.
func (m *Manager) prefetch(ctx context.Context, ts []*target, stack, block string) *liveCache {
	type group struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	count := make(map[group]int)
	for _, t := range ts {
		if t.mapping != nil {
			count[group{t.mapping.Resource, t.ref.Namespace}]++
		}
	}
	var groups []group
	for g, n := range count {
		if n >= 2 {
			groups = append(groups, g)
		}
	}
	lc := &liveCache{objs: make(map[key]*unstructured.Unstructured)}
	selector := LabelStack + "=" + stack + "," + LabelBlock + "=" + block
	_ = forEach(ctx, len(groups), m.opts.Concurrency, func(ctx context.Context, i int) error {
		g := groups[i]
		var ri dynamic.ResourceInterface = m.dyn.Resource(g.gvr)
		if g.ns != "" {
			ri = m.dyn.Resource(g.gvr).Namespace(g.ns)
		}
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil // fall back to single gets
		}
		for i := range list.Items {
			lc.put(&list.Items[i])
		}
		return nil
	})
	return lc
}

type liveCache struct {
	mu   sync.Mutex
	objs map[key]*unstructured.Unstructured
}

func (c *liveCache) put(u *unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objs[keyOf(RefOf(u))] = u
}

func (c *liveCache) get(k key) *unstructured.Unstructured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.objs[k]
}

func dryRunOptions() metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
}

func (d *differ) diffOne(ctx context.Context, t *target) (Change, error) {
	m, lc, opts, known := d.m, d.live, d.opts, d.known[keyOf(t.ref)]
	c := Change{Ref: t.ref, Desired: t.obj}
	if def, ok := d.planned[t.ref.GroupKind()]; ok {
		return d.diffSchemaOnly(ctx, t, def)
	}
	if t.mapping == nil {
		return c, &ObjectError{Ref: t.ref, Op: "diff", Err: fmt.Errorf(
			"the cluster serves no kind %s in API group %q and no CRD of this set defines it "+
				"(nor one that a block this one depends on creates)", t.ref.Kind, t.ref.Group)}
	}

	if live := lc.get(keyOf(t.ref)); live != nil && !m.opts.ExactDiff && unchanged(t.obj, live) {
		m.fillLive(&c, live, opts, known)
		c.Action = ActionNoop
		c.Before = mask(normalize(live))
		c.After = c.Before
		return c, nil
	}

	// The dry run answers with the resourceVersion of the live object it
	// was computed on. Compare it with that very version: controllers may
	// write to a fresh object (a Deployment's revision annotation) between
	// the two reads, which would show their write as our change.
	live := lc.get(keyOf(t.ref))
	var res *unstructured.Unstructured
	for attempt := 0; ; attempt++ {
		var err error
		res, err = t.ri.Apply(ctx, t.ref.Name, t.obj, dryRunOptions())
		if err != nil {
			switch {
			case isNamespaceNotFound(err) && d.namespaces[t.ref.Namespace] != "":
				c.Action, c.AfterNamespace, c.Reason = ActionCreate, t.ref.Namespace, d.namespaces[t.ref.Namespace]
				c.After = mask(normalize(t.obj))
				return c, nil
			case isImmutable(err):
				return m.diffReplace(ctx, t, err, opts, known)
			}
			return c, &ObjectError{Ref: t.ref, Op: "diff", Err: err}
		}
		if res.GetResourceVersion() == "" {
			c.Action = ActionCreate
			after := normalize(res)
			markUnknown(after, t.obj, nil)
			c.After = mask(after)
			return c, nil
		}
		if live != nil && live.GetResourceVersion() == res.GetResourceVersion() {
			break
		}
		live, err = t.ri.Get(ctx, t.ref.Name, metav1.GetOptions{})
		if err != nil {
			return c, &ObjectError{Ref: t.ref, Op: "get", Err: err}
		}
		if live.GetResourceVersion() == res.GetResourceVersion() || attempt == 4 {
			break
		}
	}
	m.fillLive(&c, live, opts, known)
	before, after := normalize(live), normalize(res)
	markUnknown(after, t.obj, live)
	c.Fields = diffFields(before.Object, after.Object)
	if isSecret(res) {
		maskFields(c.Fields)
	}
	c.Before, c.After = mask(before), mask(after)
	c.Action = ActionUpdate
	if len(c.Fields) == 0 {
		c.Action = ActionNoop
	} else {
		c.LiveDigest = liveDigest(live, before) // only changes are checked before a saved apply
	}
	return c, nil
}

// fillLive records the live object's identity and ownership in c. known
// says whether the object is one of opts.Previous or opts.Intents.
func (m *Manager) fillLive(c *Change, live *unstructured.Unstructured, opts DiffOptions, known trust) {
	c.LiveUID = string(live.GetUID())
	c.LiveResourceVersion = live.GetResourceVersion()
	rel, owner := ownershipOf(live, opts.owner(), known, opts.FormerBlocks)
	if rel == ownedByBlock {
		if b := live.GetLabels()[LabelBlock]; b != opts.Block {
			c.MovedFrom = b
		}
		return
	}
	c.Unowned, c.Owner, c.OtherStack = true, owner, rel == otherStack
	c.OwnerBlock = live.GetLabels()[LabelBlock]
	what := "exists and is not managed by strata"
	if owner != "" {
		what = "owned by " + owner
	}
	if opts.Adopt {
		c.Reason = "adopt: " + what
	} else {
		c.Reason = what + "; apply refuses it unless adoption is enabled"
	}
}

// diffReplace describes the replace of an object whose dry run was refused
// because an immutable field changes. The field diff is limited to the
// fields the manifest sets, as the server's answer is missing.
func (m *Manager) diffReplace(ctx context.Context, t *target, cause error, opts DiffOptions, known trust) (Change, error) {
	c := Change{Ref: t.ref, Desired: t.obj, Action: ActionReplace}
	live, err := t.ri.Get(ctx, t.ref.Name, metav1.GetOptions{})
	if err != nil {
		return c, &ObjectError{Ref: t.ref, Op: "get", Err: err}
	}
	m.fillLive(&c, live, opts, known)
	reason := immutableMessage(cause)
	c.Immutable = immutableFields(cause)
	if c.Reason != "" {
		reason = c.Reason + "; " + reason
	}
	c.Reason = reason
	before := normalize(live)
	c.LiveDigest = liveDigest(live, before)
	desired := normalize(t.obj)
	c.Fields = diffFields(project(before.Object, desired.Object).(map[string]any), desired.Object)
	if isSecret(t.obj) {
		maskFields(c.Fields)
	}
	c.Before, c.After = mask(before), mask(desired)
	return c, nil
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

// project returns the parts of live that desired sets: maps are limited to
// desired's keys, lists of named maps matched by name, other lists by index.
func project(live, desired any) any {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return live
		}
		out := make(map[string]any, len(d))
		for k, dv := range d {
			if lv, ok := l[k]; ok {
				out[k] = project(lv, dv)
			}
		}
		return out
	case []any:
		l, ok := live.([]any)
		if !ok {
			return live
		}
		ln, _, lok := names(l)
		_, dn, dok := names(d)
		out := make([]any, 0, len(l))
		if lok && dok {
			for i, name := range dn {
				if j, ok := ln[name]; ok {
					out = append(out, project(l[j], d[i]))
				}
			}
			return out
		}
		for i := range l {
			if i < len(d) {
				out = append(out, project(l[i], d[i]))
			} else {
				out = append(out, l[i])
			}
		}
		return out
	}
	return live
}

func isNamespaceNotFound(err error) bool {
	var se apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d != nil && d.Kind == "namespaces"
}

// isImmutable reports whether the server refused a write because it changes
// an immutable field.
func isImmutable(err error) bool {
	if !apierrors.IsInvalid(err) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"immutable", "may not change once set", "cannot be changed", "cannot change",
		"for fields other than",            // a StatefulSet's spec apart from replicas, template, ...
		"may not change fields other than", // a Pod's spec apart from images, ...
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// immutableMessage extracts the server's reason from an Invalid error: the
// causes when it has them, otherwise the message.
func immutableMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		if d := se.Status().Details; d != nil && len(d.Causes) > 0 {
			parts := make([]string, 0, len(d.Causes))
			for _, c := range d.Causes {
				if c.Field != "" {
					parts = append(parts, c.Field+": "+trimValue(c.Message))
				} else {
					parts = append(parts, trimValue(c.Message))
				}
			}
			return "immutable field changes: " + strings.Join(parts, "; ")
		}
	}
	return "immutable field changes: " + err.Error()
}

// immutableFields returns the fields an Invalid error names.
func immutableFields(err error) []string {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range se.Status().Details.Causes {
		if c.Field != "" {
			out = append(out, c.Field)
		}
	}
	return out
}

// trimValue drops the "Invalid value: <dump>: " prefix of a cause: the dump
// can be a whole pod template.
func trimValue(msg string) string {
	if i := strings.LastIndex(msg, ": "); strings.HasPrefix(msg, "Invalid value:") && i > 0 {
		return msg[i+2:]
	}
	return msg
}

// SetDigest records Digest of the object's configuration (ownership labels
// and namespace included, the annotation itself excluded) in
// AnnotationDigest, as Diff and Apply do; Secrets get none. It is
// idempotent.
func SetDigest(obj *unstructured.Unstructured) {
	if isSecret(obj) {
		return
	}
	a := obj.GetAnnotations()
	delete(a, AnnotationDigest)
	if len(a) == 0 {
		a = nil // no annotations: not an empty map, which digests differently
	}
	obj.SetAnnotations(a)
	d := Digest(obj)
	if a == nil {
		a = make(map[string]string, 1)
	}
	a[AnnotationDigest] = d
	obj.SetAnnotations(a)
}

// unchanged reports whether applying desired to live cannot change live:
// live was last applied from this very configuration (same digest, so no
// field strata set before has been dropped since) and holds every value of
// it (so nobody changed a field strata sets). Anything else, including
// values the server would normalise, goes to a dry run.
func unchanged(desired, live *unstructured.Unstructured) bool {
	d := desired.GetAnnotations()[AnnotationDigest]
	if d == "" || live.GetAnnotations()[AnnotationDigest] != d {
		return false
	}
	return contains(live.Object, desired.Object)
}

// contains reports whether every value of want is in have: maps by key,
// lists of named maps by name (live may have more items: other managers'),
// other lists item by item with the same length.
func contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok || !contains(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return false
		}
		hn, _, hok := names(h)
		_, wn, wok := names(w)
		if hok && wok {
			for i, name := range wn {
				j, ok := hn[name]
				if !ok || !contains(h[j], w[i]) {
					return false
				}
			}
			return true
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !contains(h[i], w[i]) {
				return false
			}
		}
		return true
	}
	return equalScalar(have, want)
}
