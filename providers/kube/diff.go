package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// Diff computes the changes that applying objs would make, for the block
// named in opts. It sends one server-side apply dry run per object (in
// parallel) and changes nothing. Objects of a kind whose CRD the plan
// creates or changes first (in objs, or opts.CRDs) are checked offline
// against that CRD's schema instead (Change.SchemaOnly). An object that
// the admission chain, the API server (as invalid) or the planned schema
// refuses is not an error: its change carries the refusal
// (Change.Refusal). The error lists every object that failed otherwise,
// each with its reference and the server's message.
func (m *Manager) Diff(ctx context.Context, objs []*unstructured.Unstructured, opts DiffOptions) (*ChangeSet, error) {
	if err := checkOwner(opts.owner()); err != nil {
		return nil, err
	}
	upstream, own := compileCRDs(opts.CRDs), ownCRDs(objs, opts.Block)
	defs := make(map[schema.GroupKind]*crdSchema, len(upstream)+len(own))
	maps.Copy(defs, upstream)
	maps.Copy(defs, own)
	ts, err := m.prepare(ctx, objs, opts.owner(), defs, opts.InPlace)
	if err != nil {
		return nil, err
	}

	namespaces, crdTargets, others := partition(ts, opts)
	// The cluster's admission configuration is read while the live
	// objects are listed: the requests overlap.
	var admission chan *admissionScope
	if !m.opts.ExactDiff {
		admission = make(chan *admissionScope, 1)
		go func() { admission <- opts.Shared.admissionScope(ctx, m) }()
	}
	live := m.prefetch(ctx, ts, opts)
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
	if admission != nil {
		d.admission = <-admission
	}
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
	admission  *admissionScope // objects always dry-run; nil with ExactDiff
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

func dryRunOptions() metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
}

// dryRunAs returns the options of the dry run against live: as strata, or,
// for an object Flux applied that has no strata labels, as Flux's field
// manager, which shows what strata's apply does after it took Flux's
// fields over (see Change.Flux): fields Flux set that the block does not,
// Flux's labels among them, are removed.
func dryRunAs(live *unstructured.Unstructured, opts DiffOptions) metav1.ApplyOptions {
	o := dryRunOptions()
	if live == nil {
		return o
	}
	if rel, owner := ownershipOf(live, opts.owner(), trustRendered, opts.FormerBlocks); rel == unlabelled && owner == "" {
		if m := fluxApplyManager(live); m != "" {
			o.FieldManager = m
		}
	}
	return o
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

	if live := lc.get(keyOf(t.ref)); live != nil && !m.opts.ExactDiff && unchanged(t.obj, live) && !d.admission.covers(ctx, t) {
		m.fillLive(&c, live, opts, known)
		c.Action = ActionNoop
		c.Before = mask(normalizeShared(live))
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
		as := dryRunAs(live, opts)
		res, err = m.dryRun(ctx, t, as)
		if err != nil {
			switch {
			case isNamespaceNotFound(err) && d.namespaces[t.ref.Namespace] != "":
				c.Action, c.AfterNamespace, c.Reason = ActionCreate, t.ref.Namespace, d.namespaces[t.ref.Namespace]
				c.After = mask(normalize(t.obj))
				return c, nil
			case isImmutable(err):
				return m.diffReplace(ctx, t, err, opts, known)
			}
			if r := refusalOf(t.ref, err); r != nil {
				return d.diffRefused(ctx, t, r)
			}
			return c, &ObjectError{Ref: t.ref, Op: "diff", Err: err}
		}
		if res.GetResourceVersion() == "" {
			c.Action = ActionCreate
			after := normalizeOwn(res) // res is this dry run's own
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
		if dryRunAs(live, opts).FieldManager != as.FieldManager && attempt < 4 {
			continue // Flux manages it: dry-run again as Flux's manager
		}
		if live.GetResourceVersion() == res.GetResourceVersion() || attempt == 4 {
			break
		}
	}
	m.fillLive(&c, live, opts, known)
	before, after := normalize(live), normalizeOwn(res)
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
	} else if c.Flux = FluxOwnerOf(live); c.Flux != nil {
		what = "managed by Flux (" + c.Flux.String() + ")"
	} else if c.HelmRelease = HelmReleaseOf(live); c.HelmRelease != "" {
		what = "owned by Helm release " + c.HelmRelease
	}
	if opts.Adopt {
		c.Reason = "adopt: " + what
	} else {
		c.Reason = what + "; apply refuses it unless adoption is enabled"
	}
}

func isNamespaceNotFound(err error) bool {
	var se apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d != nil && d.Kind == "namespaces"
}
