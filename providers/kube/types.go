package kube

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/strata-gitops/strata/internal/addrs"
)

// Well-known names strata puts on, or reads from, the objects it manages.
const (
	// FieldManager is the server-side apply field manager of every write.
	FieldManager = "strata"
	// LabelStack names the stack that owns an object: a readable name (the
	// stack directory's base name), not unique across stacks.
	LabelStack = "strata.dev/stack"
	// LabelStackID holds the unique identity of the stack that owns an
	// object: the lineage of its state. Objects applied by strata before it
	// existed carry only LabelStack.
	LabelStackID = "strata.dev/stack-id"
	// LabelBlock names the block (e.g. kustomization.app) that owns an object.
	// Label values cannot hold "/" nor more than 63 characters, so the value
	// is the block address with the kind prefix kept: "kustomization.app".
	LabelBlock = "strata.dev/block"
	// AnnotationPrune set to "disabled" keeps an object when it is no longer
	// rendered.
	AnnotationPrune = "strata.dev/prune"
	// PruneDisabled is the value of AnnotationPrune that keeps an object.
	PruneDisabled = "disabled"
	// AnnotationDigest holds Digest of the configuration strata applied
	// (Secrets excepted: a digest of a low-entropy value could be guessed).
	// Diff uses it to skip the dry run of objects that are unchanged.
	AnnotationDigest = "strata.dev/digest"
	// Masked replaces every Secret value in a ChangeSet.
	Masked = "(sensitive value)"
)

// ObjectRef identifies one Kubernetes object. Namespace is empty for
// cluster-scoped objects. It is comparable and can be used as a map key.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// RefOf returns the reference of an object.
func RefOf(u *unstructured.Unstructured) ObjectRef {
	gvk := u.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// GroupVersionKind returns the reference's GVK.
func (r ObjectRef) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// GroupKind returns the reference's group and kind.
func (r ObjectRef) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.Group, Kind: r.Kind}
}

// Addr returns the object part of the reference's address; see package
// internal/addrs.
func (r ObjectRef) Addr() addrs.Object {
	return addrs.Object{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// String returns the object part of an address: "Deployment.apps/ns/name",
// "Namespace/name" (no group for the core group, no namespace for
// cluster-scoped objects).
func (r ObjectRef) String() string { return r.Addr().String() }

// Address returns the full address of the object inside a block, e.g.
// "kustomization.app/Deployment.apps/web/api".
func (r ObjectRef) Address(block string) string { return r.Addr().Address(block) }

// Action is what a change does to one object.
type Action string

// The actions of a Change.
const (
	ActionNoop    Action = "noop"
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionReplace Action = "replace" // delete and create: an immutable field changes
	ActionDelete  Action = "delete"  // prune
	// ActionForget leaves an object that is no longer rendered in the
	// cluster and drops it from the block: pruning is disabled for it
	// (AnnotationPrune) or it is no longer owned by the block. Apply does
	// not touch it.
	ActionForget Action = "forget"
)

// Change is the planned change of one object. It is plain data: it can be
// marshalled to JSON (Desired is left out) and rendered without a cluster.
type Change struct {
	// Ref identifies the object.
	Ref ObjectRef `json:"ref"`
	// Action is what apply will do.
	Action Action `json:"action"`
	// Reason explains a non-obvious action in a sentence fragment, e.g.
	// "after CRD widgets.example.com", "spec.clusterIPs[0]: may not change
	// once set", "pruning disabled by annotation strata.dev/prune".
	Reason string `json:"reason,omitempty"`
	// AfterCRD is set for a custom resource whose CustomResourceDefinition
	// the plan creates or changes first, in the same change set or in a
	// block this one depends on (name of the CRD); AfterNamespace for an
	// object in a namespace created that way.
	AfterCRD       string `json:"after_crd,omitempty"`
	AfterNamespace string `json:"after_namespace,omitempty"`
	// SchemaOnly is set for an object of a kind whose CRD the plan creates
	// or changes first (AfterCRD names it): the server could not check it
	// yet, so it was checked offline against the CRD's OpenAPI v3 schema
	// only, with the schema's defaults applied to After. Apply waits for
	// the CRD to be Established and dry-runs the object before writing.
	SchemaOnly bool `json:"schema_only,omitempty"`
	// Unowned is true when the live object does not carry this block's
	// ownership labels. Apply refuses such a change unless adoption is asked
	// for; Owner names the current strata owner ("stack/block") if any.
	Unowned bool   `json:"unowned,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// OtherStack is set (with Unowned) when the live object belongs to
	// another stack: it carries another stack id, another stack name, or
	// this stack's name without an id while not being one of the block's
	// Previous objects (see DiffOptions.StackID).
	OtherStack bool `json:"other_stack,omitempty"`
	// OwnerBlock is the LabelBlock of the live object when it is owned by
	// another block (or stack).
	OwnerBlock string `json:"owner_block,omitempty"`
	// HelmRelease is "namespace/name" of the Helm release whose ownership
	// annotations the live object carries, when the object is not this
	// block's (set with Unowned): for a kustomization, an object of a Helm
	// release; for a release, an object of another one.
	HelmRelease string `json:"helm_release,omitempty"`
	// MovedFrom is the former block (DiffOptions.FormerBlocks) whose label
	// the live object still carries: the change rewrites it.
	MovedFrom string `json:"moved_from,omitempty"`
	// Flux is set (with Unowned) when the live object has no strata labels
	// and Flux manages it (FluxOwnerOf). After is then what the object
	// becomes once strata has taken over Flux's fields: Apply hands Flux's
	// managedFields to strata before it applies, so Flux's labels and the
	// fields Flux set that the block does not are removed.
	Flux *FluxOwner `json:"flux,omitempty"`
	// Before is the live object and After the object as the server would
	// store it, both normalised (no managedFields, resourceVersion, status…)
	// and with Secret values masked. Before is nil for a create, After nil
	// for a delete.
	Before *unstructured.Unstructured `json:"before,omitempty"`
	After  *unstructured.Unstructured `json:"after,omitempty"`
	// Fields is the field-level diff between Before and After (updates and
	// replaces), masked.
	Fields []FieldDiff `json:"fields,omitempty"`
	// Immutable lists, for a replace, the fields the server refused to
	// change, as it names them ("spec.volumeClaimTemplates").
	Immutable []string `json:"immutable,omitempty"`
	// LiveUID and LiveResourceVersion identify the live object the change was
	// computed against ("" for a create).
	LiveUID             string `json:"live_uid,omitempty"`
	LiveResourceVersion string `json:"live_resource_version,omitempty"`
	// LiveDigest is LiveDigest of that live object ("" for Secrets).
	LiveDigest string `json:"live_digest,omitempty"`
	// Refusal is set when applying the change would fail: the cluster's
	// admission chain or the API server refused the object's dry run, or
	// (with SchemaOnly) the offline check against the planned CRD's schema
	// refused it. The change is then what the object would become (the
	// desired object laid over the live one, without a schema's defaults).
	// Apply refuses a change set that holds one; the planner makes an
	// admission refusal a policy result and the others errors at the
	// object.
	Refusal *Refusal `json:"refusal,omitempty"`
	// Desired is the object Apply sends, ownership labels included, Secret
	// values in clear. It is never marshalled; do not print it.
	Desired *unstructured.Unstructured `json:"-"`
}

// FieldDiff is one changed field. Path uses dots for map keys and [i] or
// [name=x] for list items (items of lists of named maps are matched by name).
// Before or After is nil when the field is added or removed.
type FieldDiff struct {
	Path   string `json:"path"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// ChangeSet is the planned changes of one block, in apply order: creates,
// updates and replaces in stage order, then deletes in reverse order.
type ChangeSet struct {
	Changes []Change `json:"changes"`
}

// HasChanges reports whether any change is not a no-op (a forget is a
// change: the state drops the object).
func (cs *ChangeSet) HasChanges() bool {
	for _, c := range cs.Changes {
		if c.Action != ActionNoop {
			return true
		}
	}
	return false
}

// Count returns how many changes have the action.
func (cs *ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Owner identifies the block of a stack that owns an object: the values of
// LabelStack, LabelStackID and LabelBlock.
type Owner struct {
	Stack, StackID, Block string
}

// DiffOptions configures Manager.Diff.
type DiffOptions struct {
	// Stack and Block are the ownership label values (required).
	Stack, Block string
	// StackID is the stack's unique identity (LabelStackID). When set, an
	// object belongs to the stack only if it carries this id, or carries no
	// id, the stack's name and is one of Previous (an object applied by an
	// older strata, recorded in the state). When empty, objects are
	// matched by name alone.
	StackID string
	// FormerBlocks are addresses the block had before a move: one of
	// Previous or Intents that carries one of them in LabelBlock is the
	// block's.
	FormerBlocks []string
	// Adopt allows taking over objects that exist without this block's
	// ownership labels; the changes are still marked Unowned.
	Adopt bool
	// Previous are the objects recorded in state for this block; those not
	// rendered any more become deletes (prunes) when Prune is true.
	Previous []ObjectRef
	// Intents are objects an interrupted apply of the block may have
	// written without recording them (state.Block.Intents). They are
	// compared and pruned like Previous, but are the block's only when
	// they carry StackID: an intent with the stack's name and no id was
	// not written by this stack.
	Intents []ObjectRef
	// Prune turns Previous objects no longer rendered into deletes.
	Prune bool
	// CRDs are the CustomResourceDefinitions that blocks this one depends
	// on create or change in the same plan. Objects of their kinds are
	// checked against them offline (Change.SchemaOnly), not by a dry run
	// against the live CRD. The CRDs of the change set itself are found by
	// Diff.
	CRDs []PlannedCRD
	// Namespaces maps the namespaces that blocks this one depends on create
	// in the same plan to the block creating each. Objects in them that the
	// server cannot dry-run yet are creates "after Namespace".
	Namespaces map[string]string
	// Shared, when set, holds the reads that the diffs of the blocks of
	// one plan share: the stack's live objects, listed once per resource
	// and namespace for all the blocks, and the admission configuration
	// (see SharedReads). Nil: each Diff makes its own.
	Shared *SharedReads
	// InPlace lets Diff prepare the objects given to it (Prepare) in place
	// instead of copies, and hand them on in the change set: for a caller
	// that drops them after the diff (a plan's render), which saves a copy
	// of every object. The objects may then be given again, to a Diff of
	// the same block (preparing them again changes nothing). Without it
	// Diff leaves them as they are.
	InPlace bool
}

// ApplyOptions configures Manager.Apply.
type ApplyOptions struct {
	// Stack and Block are the ownership label values (required); StackID,
	// when set, is written as LabelStackID and required of pruned objects
	// that carry an id.
	Stack, StackID, Block string
	// FormerBlocks and Intents, as in DiffOptions, for the prunes.
	FormerBlocks []string
	Intents      []ObjectRef
	// Adopt allows changing objects that are Unowned.
	Adopt bool
	// Force allows replaces (ActionReplace: delete, then create) of objects
	// whose immutable fields change; without it Apply refuses them, as
	// Flux's force does.
	Force bool
	// IfUnchanged makes updates fail when the live object changed since the
	// diff (its resourceVersion moved), and creates fail if the object
	// appeared meanwhile. Use it when applying a saved plan.
	IfUnchanged bool
	// Wait waits until every applied object is Current (kstatus), up to
	// Timeout (default 5m).
	Wait    bool
	Timeout time.Duration
	// HealthChecks are waited for, with or without Wait, until Current (a
	// health check's Condition True).
	HealthChecks []HealthCheck
}

// HealthCheck is an object Apply waits for besides the ones it applied.
type HealthCheck struct {
	ObjectRef
	// Condition, when set, makes the object ready only once its
	// status.conditions holds a condition of this type with status "True"
	// for the object's current generation; kstatus' rules alone take an
	// object without status for ready.
	Condition string `json:"condition,omitempty"`
}

// WaitFor returns what an apply waits for: refs (the objects it applied)
// when wait is set, and the health checks' objects either way, as Flux
// checks healthChecks without wait; with the health checks' conditions as
// WaitOptions.Conditions. No objects means there is nothing to wait for.
func WaitFor(wait bool, refs []ObjectRef, checks []HealthCheck) ([]ObjectRef, map[ObjectRef]string) {
	var out []ObjectRef
	if wait {
		out = slices.Clone(refs)
	}
	var conds map[ObjectRef]string
	for _, h := range checks {
		out = append(out, h.ObjectRef)
		if h.Condition != "" {
			if conds == nil {
				conds = map[ObjectRef]string{}
			}
			conds[h.ObjectRef] = h.Condition
		}
	}
	return out, conds
}

// Applied is the outcome for one object of Apply, as state records it.
type Applied struct {
	Ref    ObjectRef `json:"ref"`
	Action Action    `json:"action"`
	// UID and ResourceVersion of the object after the write ("" for a delete).
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resource_version,omitempty"`
	// Digest is Digest(Desired): what was applied, without its values.
	Digest string `json:"digest,omitempty"`
	// FieldsHash is the hash of strata's field sets right after the write
	// (see FieldSets).
	FieldsHash string `json:"fields_hash,omitempty"`
	// Skipped explains why a delete did not happen (not owned, pruning
	// disabled, already gone).
	Skipped string `json:"skipped,omitempty"`
}

// ApplyResult lists what Apply did, in the order it was done.
type ApplyResult struct {
	Objects []Applied `json:"objects"`
}

// WaitOptions configures Manager.Wait.
type WaitOptions struct {
	// Timeout bounds the wait (default 5m).
	Timeout time.Duration
	// Interval between polls (default 1s).
	Interval time.Duration
	// ProgressEvery is how often an EventWaiting is sent (default 10s).
	ProgressEvery time.Duration
	// Conditions maps objects to the condition type that must be True
	// for them to be ready (see HealthCheck.Condition).
	Conditions map[ObjectRef]string
}

// PruneOptions configures Manager.Prune.
type PruneOptions struct {
	// Stack and Block are the ownership labels an object must carry to be
	// deleted; an object that carries a LabelStackID must carry StackID.
	// The objects to prune come from the state, so one with the stack's
	// name and no id (applied by an older strata) is the stack's, unless
	// it is one of Intents (see DiffOptions.Intents), and so is one
	// labelled with one of FormerBlocks (the block moved).
	Stack, StackID, Block string
	FormerBlocks          []string
	Intents               []ObjectRef
}

// EventType is the kind of an Event.
type EventType string

// The event types.
const (
	EventApplied  EventType = "applied"  // an object was created, updated or replaced
	EventDeleted  EventType = "deleted"  // an object was pruned
	EventSkipped  EventType = "skipped"  // a delete was skipped (Message says why)
	EventFailed   EventType = "failed"   // a write failed (Err)
	EventStage    EventType = "stage"    // a stage finished (Message names it)
	EventWaiting  EventType = "waiting"  // still waiting for objects (Pending)
	EventReady    EventType = "ready"    // an object became Current
	EventNotReady EventType = "notready" // an object became Failed
)

// Event reports progress of Apply, Prune and Wait.
type Event struct {
	Type    EventType
	Ref     ObjectRef
	Action  Action
	Message string
	Err     error
	// Elapsed is the time since the operation started.
	Elapsed time.Duration
	// Pending lists the objects still not ready (EventWaiting), with why.
	Pending []ObjectStatus
}

// ObjectStatus is the kstatus of one object.
type ObjectStatus struct {
	Ref     ObjectRef `json:"ref"`
	Status  string    `json:"status"` // kstatus: InProgress, Current, Failed, NotFound, Unknown…
	Message string    `json:"message,omitempty"`
}

// String renders "Deployment.apps/ns/web (InProgress: 0 of 1 ready)".
func (s ObjectStatus) String() string {
	if s.Message == "" {
		return fmt.Sprintf("%s (%s)", s.Ref, s.Status)
	}
	return fmt.Sprintf("%s (%s: %s)", s.Ref, s.Status, s.Message)
}

// WaitError is returned by Wait when objects are Failed or the timeout passed.
type WaitError struct {
	// Timeout is true when the wait timed out, false when it failed fast.
	Timeout bool
	// NotReady are the objects that were not Current, with their status.
	NotReady []ObjectStatus
}

// Error implements error.
func (e *WaitError) Error() string {
	items := make([]string, len(e.NotReady))
	for i, s := range e.NotReady {
		items[i] = s.String()
	}
	what := "objects failed"
	if e.Timeout {
		what = "timeout waiting for"
	}
	return fmt.Sprintf("%s: %s", what, strings.Join(items, ", "))
}

// ObjectError is a failed request for one object, carrying its reference and
// the server's message.
type ObjectError struct {
	Ref ObjectRef
	Op  string // "diff", "apply", "delete", "get"
	Err error
	// File is the file the object comes from, when the caller knows it:
	// the template of a Helm chart ("CHART/templates/x.yaml").
	File string
}

// Error implements error. A write whose connection was lost before the
// answer (the API server's process died, the network was cut) says that
// it may have been made: the server may have written it before it went.
func (e *ObjectError) Error() string {
	msg := fmt.Sprintf("%s: %s failed: %v", e.Ref, e.Op, e.Err)
	if e.unanswered() {
		msg += " (the connection to the API server was lost before its answer: the " + e.Op +
			" may have been made; the next plan shows what the cluster holds)"
	}
	return msg
}

// unanswered reports whether e is a write whose connection was closed or
// reset before the server answered.
func (e *ObjectError) unanswered() bool {
	switch e.Op {
	case "diff", "get", "wait", "discovery", "schema check", "dry run":
		return false
	}
	return utilnet.IsProbableEOF(e.Err) || utilnet.IsConnectionReset(e.Err)
}

// Unwrap returns the underlying error (a *apierrors.StatusError for server
// errors).
func (e *ObjectError) Unwrap() error { return e.Err }
