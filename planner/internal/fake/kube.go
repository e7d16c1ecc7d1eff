// Package fake holds in-memory providers for the engine's tests: a
// Kubernetes cluster that keeps its objects in a map (Cluster), Helm
// (Helm) and sources (Git, Charts). They implement the planner's provider
// interfaces (planner.Kube, planner.Helm, planner.GitSource,
// planner.ChartSource) with the providers' contracts as the engine relies
// on them: ownership labels, prunes guarded by ownership and
// strata.dev/prune, replaces of immutable fields only with force, stale
// writes refused. They let the engine's logic be tested without a cluster;
// the real providers are tested against a real API server.
package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/strata-gitops/strata/providers/kube"
)

// Cluster is an in-memory Kubernetes cluster. It is safe for concurrent
// use. The zero value is not usable: call NewCluster.
type Cluster struct {
	// Immutable lists, by kind, the fields (dotted paths) that cannot
	// change once set: a change of one plans a replace.
	Immutable map[string][]string
	// FailApply makes the write of the object with this name fail.
	FailApply map[string]error
	// NotReady makes waiting for the object with this name fail.
	NotReady map[string]bool
	// Refused makes the dry run of the object with this name refused
	// (kube.Change.Refusal, set as kube.Change.Refuse does).
	Refused map[string]*kube.Refusal

	mu   sync.Mutex
	objs map[key]*unstructured.Unstructured
	rv   int
	log  []string
}

type key struct {
	group, kind, namespace, name string
}

func keyOf(r kube.ObjectRef) key { return key{r.Group, r.Kind, r.Namespace, r.Name} }

// NewCluster returns an empty cluster.
func NewCluster() *Cluster {
	return &Cluster{Immutable: map[string][]string{}, FailApply: map[string]error{}, NotReady: map[string]bool{},
		Refused: map[string]*kube.Refusal{}, objs: map[key]*unstructured.Unstructured{}}
}

// Put stores obj as it is (e.g. an object created outside strata),
// giving it a uid and a resourceVersion.
func (c *Cluster) Put(obj *unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := obj.DeepCopy()
	if o.GetUID() == "" {
		o.SetUID(types.UID(fmt.Sprintf("uid-%s-%d", o.GetName(), c.rv+1)))
	}
	c.store(o)
}

// store writes o with the next resourceVersion. The caller holds mu.
func (c *Cluster) store(o *unstructured.Unstructured) {
	c.rv++
	o.SetResourceVersion(strconv.Itoa(c.rv))
	c.objs[keyOf(kube.RefOf(o))] = o
}

// Object returns a copy of the live object, or nil.
func (c *Cluster) Object(group, kind, namespace, name string) *unstructured.Unstructured {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.objs[key{group, kind, namespace, name}]; o != nil {
		return o.DeepCopy()
	}
	return nil
}

// Edit changes the live object in place, as a user with kubectl would,
// and moves its resourceVersion on.
func (c *Cluster) Edit(group, kind, namespace, name string, fn func(*unstructured.Unstructured)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.objs[key{group, kind, namespace, name}]
	if o == nil {
		return fmt.Errorf("%s %s/%s not found", kind, namespace, name)
	}
	fn(o)
	c.store(o)
	return nil
}

// Delete removes the live object, as a user would.
func (c *Cluster) Delete(group, kind, namespace, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.objs, key{group, kind, namespace, name})
}

// Names returns "Kind/namespace/name" of every live object, sorted.
func (c *Cluster) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.objs {
		out = append(out, k.kind+"/"+k.namespace+"/"+k.name)
	}
	sort.Strings(out)
	return out
}

// Log returns what the engine asked of the cluster, in order: "apply
// <block>" when an Apply starts and "applied <block>" when it ends.
func (c *Cluster) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// Note adds an entry to the log (other fakes note their operations there,
// so that one log orders them all).
func (c *Cluster) Note(entry string) { c.logf("%s", entry) }

func (c *Cluster) logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

// As returns the client acting as serviceAccount; the fake makes no
// difference between identities.
func (c *Cluster) As(serviceAccount string) *Client { return &Client{c: c, sa: serviceAccount} }

// Client is the cluster as one identity: the planner.Kube of the fake.
type Client struct {
	c  *Cluster
	sa string
}

// Prepare sets the ownership labels and the digest annotation, as
// kube.Manager.Prepare does.
func (k *Client) Prepare(_ context.Context, obj *unstructured.Unstructured, o kube.Owner) (*meta.RESTMapping, error) {
	kube.SetOwner([]*unstructured.Unstructured{obj}, o)
	kube.SetDigest(obj)
	return mapping(kube.RefOf(obj).GroupVersionKind()), nil
}

// Mapping maps a kind to its resource: the lower-case kind plus "s".
func (k *Client) Mapping(_ context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	if gvk.Version == "" {
		gvk.Version = "v1"
	}
	return mapping(gvk), nil
}

func mapping(gvk schema.GroupVersionKind) *meta.RESTMapping {
	scope := meta.RESTScopeNamespace
	if gvk.Kind == "Namespace" || gvk.Kind == "CustomResourceDefinition" || strings.HasPrefix(gvk.Kind, "Cluster") {
		scope = meta.RESTScopeRoot
	}
	return &meta.RESTMapping{GroupVersionKind: gvk, Scope: scope,
		Resource: gvk.GroupVersion().WithResource(strings.ToLower(gvk.Kind) + "s")}
}

// Get reads one live object.
func (k *Client) Get(_ context.Context, resource schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error) {
	k.c.mu.Lock()
	defer k.c.mu.Unlock()
	for kk, o := range k.c.objs {
		if kk.group == resource.Group && strings.ToLower(kk.kind)+"s" == resource.Resource && kk.namespace == namespace && kk.name == name {
			return o.DeepCopy(), nil
		}
	}
	return nil, apierrors.NewNotFound(resource.GroupResource(), name)
}

// Diff plans the changes of one block, as kube.Manager.Diff does: creates,
// updates (fields that differ from the live object), replaces (an
// Immutable field differs), no-ops, and, with Prune, the deletes of
// Previous and Intents no longer rendered, or forgets of those the block
// does not own or whose pruning is disabled.
func (k *Client) Diff(ctx context.Context, objs []*unstructured.Unstructured, opts kube.DiffOptions) (*kube.ChangeSet, error) {
	o := kube.Owner{Stack: opts.Stack, StackID: opts.StackID, Block: opts.Block}
	cs := &kube.ChangeSet{}
	rendered := map[key]bool{}
	for _, obj := range objs {
		desired := obj.DeepCopy()
		_, _ = k.Prepare(ctx, desired, o)
		ref := kube.RefOf(desired)
		rendered[keyOf(ref)] = true
		cs.Changes = append(cs.Changes, k.c.diffOne(ref, desired, opts))
	}
	if opts.Prune {
		for _, r := range slices.Concat(opts.Previous, opts.Intents) {
			if rendered[keyOf(r)] {
				continue
			}
			rendered[keyOf(r)] = true
			if c, ok := k.c.diffPrune(r, opts); ok {
				cs.Changes = append(cs.Changes, c)
			}
		}
	}
	return cs, nil
}

func (c *Cluster) diffOne(ref kube.ObjectRef, desired *unstructured.Unstructured, opts kube.DiffOptions) (ch kube.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch = kube.Change{Ref: ref, Desired: desired, After: normalize(desired)}
	if r, ok := c.Refused[ref.Name]; ok {
		defer func() {
			refused := *r
			refused.Ref = ref
			ch.Refuse(&refused)
		}()
	}
	live := c.objs[keyOf(ref)]
	if live == nil {
		ch.Action = kube.ActionCreate
		return ch
	}
	ch.LiveUID, ch.LiveResourceVersion, ch.LiveDigest = string(live.GetUID()), live.GetResourceVersion(), kube.LiveDigest(live)
	ch.Before = normalize(live)
	if owned, owner, other := ownedBy(live, opts.StackID, opts.Block, opts.FormerBlocks); !owned {
		ch.Unowned, ch.Owner, ch.OtherStack = true, owner, other
		ch.OwnerBlock = live.GetLabels()[kube.LabelBlock]
	}
	var fields []kube.FieldDiff
	diffFields("", ch.Before.Object, ch.After.Object, &fields)
	ch.Fields = fields
	switch {
	case len(fields) == 0:
		ch.Action = kube.ActionNoop
	case immutable(fields, c.Immutable[ref.Kind]) != nil:
		ch.Action = kube.ActionReplace
		ch.Immutable = immutable(fields, c.Immutable[ref.Kind])
		ch.Reason = strings.Join(ch.Immutable, ", ") + ": field is immutable"
	default:
		ch.Action = kube.ActionUpdate
	}
	return ch
}

func (c *Cluster) diffPrune(r kube.ObjectRef, opts kube.DiffOptions) (kube.Change, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.objs[keyOf(r)]
	if live == nil {
		return kube.Change{}, false
	}
	ch := kube.Change{Ref: kube.RefOf(live), LiveUID: string(live.GetUID()), LiveResourceVersion: live.GetResourceVersion(),
		LiveDigest: kube.LiveDigest(live), Before: normalize(live)}
	owned, owner, other := ownedBy(live, opts.StackID, opts.Block, opts.FormerBlocks)
	switch {
	case !owned:
		ch.Action, ch.Unowned, ch.Owner, ch.OtherStack = kube.ActionForget, true, owner, other
		ch.Reason = "not rendered any more, kept: not owned by this block"
	case live.GetAnnotations()[kube.AnnotationPrune] == kube.PruneDisabled:
		ch.Action = kube.ActionForget
		ch.Reason = "not rendered any more, kept: " + kube.AnnotationPrune + ": " + kube.PruneDisabled
	default:
		ch.Action = kube.ActionDelete
	}
	return ch, true
}

// ownedBy reports whether live carries the labels of block (or of one of
// its former addresses) of the stack stackID, and else who owns it and
// whether that is another stack.
func ownedBy(live *unstructured.Unstructured, stackID, block string, former []string) (owned bool, owner string, otherStack bool) {
	l := live.GetLabels()
	s, id, b := l[kube.LabelStack], l[kube.LabelStackID], l[kube.LabelBlock]
	if s == "" && id == "" && b == "" {
		return false, "", false
	}
	owner = s + "/" + b
	if id != stackID {
		return false, owner + " (stack id " + id + ")", true
	}
	if b != block && !slices.Contains(former, b) {
		return false, owner, false
	}
	return true, owner, false
}

// Apply carries out a change set as kube.Manager.Apply does: it refuses
// unowned objects without Adopt and replaces without Force, writes the
// objects, then prunes those it owns, and waits when asked. With
// IfUnchanged, an object that moved since the diff fails with
// kube.ErrStale.
func (k *Client) Apply(ctx context.Context, cs *kube.ChangeSet, opts kube.ApplyOptions, events chan<- kube.Event) (*kube.ApplyResult, error) {
	k.c.logf("apply %s", opts.Block)
	defer k.c.logf("applied %s", opts.Block)
	var errs []error
	for _, ch := range cs.Changes {
		switch {
		case ch.Action == kube.ActionNoop || ch.Action == kube.ActionForget || ch.Action == kube.ActionDelete:
		case ch.Unowned && !opts.Adopt:
			errs = append(errs, &kube.ObjectError{Ref: ch.Ref, Op: "apply", Err: kube.ErrNotOwned})
		case ch.Action == kube.ActionReplace && !opts.Force:
			errs = append(errs, &kube.ObjectError{Ref: ch.Ref, Op: "replace", Err: kube.ErrReplaceNotForced})
		}
	}
	if len(errs) > 0 {
		return &kube.ApplyResult{}, errors.Join(errs...)
	}
	res := &kube.ApplyResult{}
	var refs []kube.ObjectRef
	for _, ch := range cs.Changes {
		switch ch.Action {
		case kube.ActionCreate, kube.ActionUpdate, kube.ActionReplace:
			a, err := k.c.write(ch, opts)
			if err != nil {
				send(events, kube.Event{Type: kube.EventFailed, Ref: ch.Ref, Action: ch.Action, Err: err})
				return res, &kube.ObjectError{Ref: ch.Ref, Op: "apply", Err: err}
			}
			res.Objects = append(res.Objects, a)
			refs = append(refs, ch.Ref)
			send(events, kube.Event{Type: kube.EventApplied, Ref: ch.Ref, Action: ch.Action})
		}
	}
	for _, ch := range cs.Changes {
		if ch.Action == kube.ActionDelete {
			a := k.c.prune(ch.Ref, opts)
			res.Objects = append(res.Objects, a)
			send(events, kube.Event{Type: kube.EventDeleted, Ref: ch.Ref, Action: ch.Action, Message: a.Skipped})
		}
	}
	if refs, conds := kube.WaitFor(opts.Wait, refs, opts.HealthChecks); len(refs) > 0 {
		return res, k.Wait(ctx, refs, kube.WaitOptions{Timeout: opts.Timeout, Conditions: conds}, events)
	}
	return res, nil
}

func send(events chan<- kube.Event, ev kube.Event) {
	if events != nil {
		events <- ev
	}
}

// write creates, updates or replaces one object.
func (c *Cluster) write(ch kube.Change, opts kube.ApplyOptions) (kube.Applied, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.FailApply[ch.Ref.Name]; err != nil {
		return kube.Applied{}, err
	}
	live := c.objs[keyOf(ch.Ref)]
	if opts.IfUnchanged {
		switch {
		case ch.Action == kube.ActionCreate && live != nil:
			return kube.Applied{}, fmt.Errorf("%w: it was created meanwhile", kube.ErrStale)
		case ch.Action != kube.ActionCreate && (live == nil || live.GetResourceVersion() != ch.LiveResourceVersion):
			return kube.Applied{}, fmt.Errorf("%w: resourceVersion %s", kube.ErrStale, ch.LiveResourceVersion)
		}
	}
	o := ch.Desired.DeepCopy()
	kube.SetOwner([]*unstructured.Unstructured{o}, kube.Owner{Stack: opts.Stack, StackID: opts.StackID, Block: opts.Block})
	c.rv++
	uid := fmt.Sprintf("uid-%s-%d", o.GetName(), c.rv)
	if live != nil && ch.Action != kube.ActionReplace {
		uid = string(live.GetUID())
	}
	o.SetUID(types.UID(uid))
	o.SetResourceVersion(strconv.Itoa(c.rv))
	c.objs[keyOf(ch.Ref)] = o
	return kube.Applied{Ref: ch.Ref, Action: ch.Action, UID: uid, ResourceVersion: o.GetResourceVersion(), Digest: kube.Digest(ch.Desired)}, nil
}

// prune deletes one object if the block owns it and its pruning is not
// disabled, and says why not otherwise.
func (c *Cluster) prune(r kube.ObjectRef, opts kube.ApplyOptions) kube.Applied {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := kube.Applied{Ref: r, Action: kube.ActionDelete}
	live := c.objs[keyOf(r)]
	if live == nil {
		a.Skipped = "already gone"
		return a
	}
	switch owned, _, _ := ownedBy(live, opts.StackID, opts.Block, opts.FormerBlocks); {
	case !owned:
		a.Skipped = "not owned by this block"
	case live.GetAnnotations()[kube.AnnotationPrune] == kube.PruneDisabled:
		a.Skipped = "pruning disabled"
	default:
		delete(c.objs, keyOf(r))
	}
	return a
}

// Wait fails with a kube.WaitError for the objects named in NotReady.
func (k *Client) Wait(_ context.Context, refs []kube.ObjectRef, opts kube.WaitOptions, events chan<- kube.Event) error {
	k.c.mu.Lock()
	defer k.c.mu.Unlock()
	var bad []kube.ObjectStatus
	for _, r := range refs {
		if k.c.NotReady[r.Name] {
			bad = append(bad, kube.ObjectStatus{Ref: r, Status: "InProgress", Message: "not ready"})
		}
	}
	if len(bad) > 0 {
		return &kube.WaitError{Timeout: true, NotReady: bad}
	}
	return nil
}

// ScanMetadata reads the live metadata of refs.
func (k *Client) ScanMetadata(_ context.Context, refs []kube.ObjectRef, _ kube.ScanOptions) ([]kube.LiveMetadata, error) {
	k.c.mu.Lock()
	defer k.c.mu.Unlock()
	out := make([]kube.LiveMetadata, len(refs))
	for i, r := range refs {
		if o := k.c.objs[keyOf(r)]; o != nil {
			out[i] = kube.LiveMetadata{Exists: true, Listed: true, UID: string(o.GetUID()), ResourceVersion: o.GetResourceVersion()}
		}
	}
	return out, nil
}

// normalize drops what the server keeps for itself.
func normalize(o *unstructured.Unstructured) *unstructured.Unstructured {
	n := o.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "generation", "creationTimestamp", "managedFields"} {
		unstructured.RemoveNestedField(n.Object, "metadata", f)
	}
	delete(n.Object, "status")
	if a := n.GetAnnotations(); a != nil {
		delete(a, kube.AnnotationDigest) // as kube's normalize: the digest is no field of the user's
		if len(a) == 0 {
			a = nil
		}
		n.SetAnnotations(a)
	}
	return n
}

// diffFields lists the fields that differ between before and after.
func diffFields(path string, before, after any, out *[]kube.FieldDiff) {
	bm, bok := before.(map[string]any)
	am, aok := after.(map[string]any)
	if !bok || !aok {
		if !reflect.DeepEqual(jsonValue(before), jsonValue(after)) {
			*out = append(*out, kube.FieldDiff{Path: path, Before: before, After: after})
		}
		return
	}
	names := map[string]bool{}
	for n := range bm {
		names[n] = true
	}
	for n := range am {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		p := n
		if path != "" {
			p = path + "." + n
		}
		diffFields(p, bm[n], am[n], out)
	}
}

// jsonValue makes numbers compare alike whatever their Go type.
func jsonValue(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// immutable returns the immutable fields among the changed ones.
func immutable(fields []kube.FieldDiff, paths []string) []string {
	var out []string
	for _, f := range fields {
		for _, p := range paths {
			if f.Path == p || strings.HasPrefix(f.Path, p+".") {
				out = append(out, p)
			}
		}
	}
	return slices.Compact(out)
}
