package plan

import (
	"encoding/json"
	"slices"
	"time"
)

// FormatVersion is the version of the saved-plan payload and of the JSON
// output schema (docs/plan-json.md). It changes when a field changes meaning
// or disappears; new fields may be added without a change.
const FormatVersion = "1.0"

// Action is one step of a change. An object's change is one or two actions:
// ["create"], ["update"], ["delete"], ["forget"], ["no-op"] or
// ["delete", "create"] for a replace. A release's change is one of install, upgrade, rollback,
// uninstall or no-op.
type Action string

// The actions of a plan.
const (
	NoOp   Action = "no-op"
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
	// Forget leaves an object that is no longer rendered in the cluster
	// and removes it from the state: "will be kept in the cluster, no
	// longer managed" (pruning disabled by strata.dev/prune, or the object
	// is no longer owned by the block).
	Forget    Action = "forget"
	Install   Action = "install"
	Upgrade   Action = "upgrade"
	Rollback  Action = "rollback"
	Uninstall Action = "uninstall"
)

// Actions is the ordered list of actions of one change.
type Actions []Action

// Replace is the action list of a replace: delete, then create.
var Replace = Actions{Delete, Create}

// IsReplace reports whether the actions delete and then create the object.
func (a Actions) IsReplace() bool {
	return len(a) == 2 && a[0] == Delete && a[1] == Create
}

// IsNoOp reports whether the actions change nothing.
func (a Actions) IsNoOp() bool {
	return len(a) == 0 || (len(a) == 1 && a[0] == NoOp)
}

// Is reports whether the actions are exactly the single action x.
func (a Actions) Is(x Action) bool { return len(a) == 1 && a[0] == x }

// Plan is everything a plan found: what changes, why, and what apply needs
// to carry it out.
type Plan struct {
	// FormatVersion is FormatVersion when the plan was made.
	FormatVersion string `json:"format_version"`
	// StrataVersion is the version of the strata binary that made the plan.
	StrataVersion string `json:"strata_version"`
	// CreatedAt is when the plan was made.
	CreatedAt time.Time `json:"created_at"`
	// Dir is the stack directory, absolute.
	Dir string `json:"dir"`
	// Stack is the stack's name, the value of the strata.dev/stack label on
	// every object it applies. Other stacks may have the same name.
	Stack string `json:"stack"`
	// StackID is the stack's unique identity, the value of the
	// strata.dev/stack-id label on every object it applies: the lineage of
	// its state, or, for a stack without state yet, the lineage its first
	// apply gives the state.
	StackID string `json:"stack_id"`
	// Environment is the stack's environment the plan was made for (its
	// environment block), empty for a stack without environments.
	Environment string `json:"environment,omitempty"`
	// Backend is where the state lives.
	Backend Backend `json:"backend"`
	// Cluster is the kubeconfig and context the plan was made against.
	Cluster Cluster `json:"cluster"`
	// Destroy is set for a plan that removes everything (plan --destroy).
	Destroy bool `json:"destroy,omitempty"`
	// Targets are the --target addresses the plan was limited to, if any.
	Targets []string `json:"targets,omitempty"`
	// Variables are the input variables the stack was evaluated with.
	// Sensitive ones carry no value outside Blocks' rendered objects.
	Variables []Variable `json:"variables,omitempty"`
	// State is the state snapshot the plan was computed against.
	State StateRef `json:"state"`
	// Sources lists every source with its revision before and after.
	Sources []SourceChange `json:"sources,omitempty"`
	// Changes lists every object of every kustomization, no-ops included.
	Changes []ResourceChange `json:"changes,omitempty"`
	// Releases lists every Helm release.
	Releases []ReleaseChange `json:"releases,omitempty"`
	// Drift lists what the plan found changed in the cluster behind
	// strata's back.
	Drift []Drift `json:"drift,omitempty"`
	// Record lists objects that are in the cluster as planned but missing
	// from the state (after an interrupted apply), and releases adopted
	// from Flux as they are; apply records them.
	Record []string `json:"record,omitempty"`
	// Retry lists blocks whose last apply failed (or was interrupted) and
	// that have nothing else to do: apply runs them again (waits for
	// readiness) so that the state records them as applied.
	Retry []string `json:"retry,omitempty"`
	// Moves are the block moves (moved blocks) the plan carries out in the
	// state before anything else; the moved objects' changes rewrite their
	// strata.dev/block labels (ResourceChange.MovedFrom).
	Moves []Move `json:"moves,omitempty"`
	// Flux lists the Flux objects (Kustomizations, HelmReleases) found in
	// the cluster that manage objects or releases the plan adopts. Apply
	// refuses while one of them is not suspended (they would fight over
	// the objects), unless told to go ahead.
	Flux []FluxObject `json:"flux,omitempty"`
	// Errors lists what keeps the plan from being applied, one entry per
	// object, block or release at fault. The rest of the plan is complete;
	// apply refuses a plan with any error before it changes anything.
	Errors []Error `json:"errors,omitempty"`
	// PolicyResults are the violations of the stack's policy blocks and
	// the refusals of the cluster's admission chain that the plan found,
	// one per change and policy, in the order of the changes. A policy
	// without an entry passed (see docs/policy.md).
	PolicyResults []PolicyResult `json:"policy_results,omitempty"`
	// Blocks is what apply needs, per block in the plan: rendered objects
	// (unmasked), objects to prune, settings. Renderers never print it.
	Blocks []Block `json:"blocks,omitempty"`
}

// FluxObject is a Flux Kustomization or HelmRelease in the cluster.
type FluxObject struct {
	// Kind is "Kustomization" or "HelmRelease".
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Suspended is its spec.suspend when planned.
	Suspended bool `json:"suspended"`
	// Adopted are the addresses of the objects and releases the plan
	// adopts from it.
	Adopted []string `json:"adopted"`
}

// String returns "Kustomization flux-system/apps".
func (f FluxObject) String() string { return f.Kind + " " + f.Namespace + "/" + f.Name }

// ActiveFlux returns the Flux objects of p that are not suspended.
func (p *Plan) ActiveFlux() []FluxObject {
	var out []FluxObject
	for _, f := range p.Flux {
		if !f.Suspended {
			out = append(out, f)
		}
	}
	return out
}

// Move is a block that moves from one address to another in the state.
type Move struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Error is a problem the plan found with one object, block or release that
// apply must not attempt: Address names it, Message says in full sentences
// what is wrong and the way out. File, when known, is the file the object
// comes from, relative to its block's tree (the stack directory, or the
// tree of the block's source): "apps/web/deploy.yaml". Line, when known
// (an object of a kustomization), is the line of File where the object is
// declared, from 1.
type Error struct {
	Address string `json:"address"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// AddError records an error about address.
func (p *Plan) AddError(address, message string) {
	p.Errors = append(p.Errors, Error{Address: address, Message: message})
}

// HasErrors reports whether the plan holds errors: it cannot be applied.
func (p *Plan) HasErrors() bool { return len(p.Errors) > 0 }

// The enforcement levels of a policy (PolicyResult.Enforcement).
const (
	// Advisory violations are warnings.
	Advisory = "advisory"
	// Mandatory violations make plan fail and apply refuse.
	Mandatory = "mandatory"
	// Approval violations make apply without a human (--auto-approve, a
	// saved plan) refuse unless the policy is approved by name.
	Approval = "approval"
)

// SourceAdmission is the PolicyResult.Source of a refusal by the cluster's
// admission chain (a ValidatingAdmissionPolicy, a validating webhook).
const SourceAdmission = "admission"

// PolicyResult is one violation: the change at Address fails Policy.
type PolicyResult struct {
	// Policy is the policy block's name, or for an admission refusal what
	// refused (ValidatingAdmissionPolicy/NAME, webhook/NAME, admission).
	Policy string `json:"policy"`
	// Enforcement is advisory, mandatory or approval; admission refusals
	// are mandatory.
	Enforcement string `json:"enforcement"`
	// Address is the object's or release's address.
	Address string `json:"address"`
	// File is, for a mandatory admission refusal of an object of a
	// kustomization, the file the object comes from, and of a release,
	// the chart's template of the refused object (as Error.File).
	File string `json:"file,omitempty"`
	// Line is the line of File where the object is declared, when known
	// (as Error.Line).
	Line int `json:"line,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Source is empty for a policy block and SourceAdmission for the
	// cluster's admission chain.
	Source string `json:"source,omitempty"`
}

// PolicyViolations returns the policy results of enforcement level e.
func (p *Plan) PolicyViolations(e string) []PolicyResult {
	var out []PolicyResult
	for _, r := range p.PolicyResults {
		if r.Enforcement == e {
			out = append(out, r)
		}
	}
	return out
}

// Unapproved returns the approval policies the plan violates that are not
// among approved, sorted and unique.
func (p *Plan) Unapproved(approved []string) []string {
	var out []string
	for _, r := range p.PolicyViolations(Approval) {
		if !slices.Contains(approved, r.Policy) && !slices.Contains(out, r.Policy) {
			out = append(out, r.Policy)
		}
	}
	slices.Sort(out)
	return out
}

// Variable is an input variable of the stack.
type Variable struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value,omitempty"` // JSON; empty when Sensitive
	Sensitive bool            `json:"sensitive,omitempty"`
}

// Backend locates the state: Type "local" with an absolute Path, or
// "kubernetes" with Namespace and Name (and the kubeconfig and context of
// the backend block, empty for the stack's cluster).
type Backend struct {
	Type       string `json:"type"`
	Path       string `json:"path,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
}

// Cluster names the kubeconfig file and context; empty means the defaults.
type Cluster struct {
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
}

// StateRef identifies a state snapshot.
type StateRef struct {
	Lineage string `json:"lineage,omitempty"` // empty: no state yet
	Serial  uint64 `json:"serial"`
}

// SourceChange is a source's resolved revision, before and after.
type SourceChange struct {
	Address string  `json:"address"` // source.git.platform
	Kind    string  `json:"kind"`    // git, helm, oci
	URL     string  `json:"url,omitempty"`
	Actions Actions `json:"actions"`          // create (new source), update (revision moved), delete, no-op
	Before  string  `json:"before,omitempty"` // revision recorded in state
	After   string  `json:"after,omitempty"`  // revision resolved now
}

// ResourceChange is the planned change of one Kubernetes object.
type ResourceChange struct {
	// Address is block/Kind.group/namespace/name, e.g.
	// kustomization.app/Deployment.apps/demo/web.
	Address    string  `json:"address"`
	Block      string  `json:"block"`
	APIVersion string  `json:"api_version"`
	Kind       string  `json:"kind"`
	Namespace  string  `json:"namespace,omitempty"`
	Name       string  `json:"name"`
	Actions    Actions `json:"actions"`
	// Reason says why, when the action alone does not: "immutable field
	// spec.selector", "no longer rendered by kustomization.app".
	Reason string `json:"reason,omitempty"`
	// Before is the live object (masked), nil for a create.
	Before map[string]any `json:"before,omitempty"`
	// After is the object as it will be (masked), nil for a delete.
	After map[string]any `json:"after,omitempty"`
	// Diff is the field-level difference of Before and After.
	Diff []FieldDiff `json:"diff,omitempty"`
	// LiveResourceVersion is the resourceVersion of the live object the
	// change was computed against; empty when the object did not exist.
	LiveResourceVersion string `json:"live_resource_version,omitempty"`
	// LiveUID is the uid of that live object.
	LiveUID string `json:"live_uid,omitempty"`
	// LiveDigest is a digest of that live object without status and other
	// server bookkeeping (not for Secrets): applying a saved plan accepts
	// an object whose resourceVersion moved but whose digest did not.
	LiveDigest string `json:"live_digest,omitempty"`
	// Unowned is set when the live object exists without this block's
	// ownership labels.
	Unowned bool `json:"unowned,omitempty"`
	// Warning says loudly what the change destroys beyond the object
	// itself, e.g. for a replace: "the StatefulSet is deleted and created
	// again: all its pods are deleted at once".
	Warning string `json:"warning,omitempty"`
	// Adopt is set when the live object exists without strata's labels and
	// the apply takes it over (adopt = true on the block, or apply --adopt,
	// or an object Flux manages): it gets the block's labels and the
	// configuration.
	Adopt bool `json:"adopt,omitempty"`
	// AdoptedFromFlux names the Flux object that managed the adopted object
	// ("Kustomization flux-system/apps", or "field manager
	// kustomize-controller" without Flux's labels). The apply hands the
	// fields of Flux's field managers to strata first, so After shows the
	// object without Flux's labels.
	AdoptedFromFlux string `json:"adopted_from_flux,omitempty"`
	// MovedFrom is the block the object was applied by before a move (a
	// moved block, strata state mv): the change rewrites its
	// strata.dev/block label in place.
	MovedFrom string `json:"moved_from,omitempty"`
	// AfterCRD names the CustomResourceDefinition of the object's kind
	// when the plan creates or changes it first (in this block or in a
	// block this one depends on).
	AfterCRD string `json:"after_crd,omitempty"`
	// SchemaOnly is set when the object could not be dry-run yet (its CRD
	// is AfterCRD) and was checked offline against the CRD's OpenAPI v3
	// schema only; After holds the schema's defaults. Apply dry-runs it
	// once the CRD is Established, before writing.
	SchemaOnly bool `json:"schema_only,omitempty"`
	// AfterNamespace names the namespace the plan creates first, when the
	// object could not be dry-run because its namespace does not exist
	// yet. Apply dry-runs it once the namespace exists, before writing
	// any object of its stage, so that the cluster's admission chain
	// refuses it before anything else of the block is written.
	AfterNamespace string `json:"after_namespace,omitempty"`
	// Refused is set when the cluster's admission chain refused the dry
	// run of the change: the server did not say what the object would
	// become, so for an object that exists After and Diff are left out
	// (Before is the live object); a create keeps the rendered manifest
	// as After. A mandatory policy result on the address makes apply refuse the
	// plan.
	Refused *Refused `json:"refused,omitempty"`
}

// Refused is what refused the dry run of a change, and why.
type Refused struct {
	// By is what refused: ValidatingAdmissionPolicy/NAME, webhook/NAME or
	// policy/NAME.
	By string `json:"by"`
	// Message is the admission chain's message (masked).
	Message string `json:"message"`
}

// FieldDiff is the change of one field. Path uses dots and [i] for list
// items: spec.template.spec.containers[0].image.
type FieldDiff struct {
	Path   string `json:"path"`
	Op     string `json:"op"` // "add", "remove" or "change"
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
	// Sensitive fields carry no values; they render as (sensitive value).
	Sensitive bool `json:"sensitive,omitempty"`
	// ForcesReplace marks the immutable field that makes a replace.
	ForcesReplace bool `json:"forces_replace,omitempty"`
	// Unknown marks a value the API server assigns when the change is
	// applied (a Service's cluster IP, a node port): After is absent and
	// renders as (known after apply).
	Unknown bool `json:"unknown,omitempty"`
}

// The operations of a FieldDiff.
const (
	OpAdd    = "add"
	OpRemove = "remove"
	OpChange = "change"
)

// ReleaseChange is the planned change of one Helm release.
type ReleaseChange struct {
	Address          string  `json:"address"` // release.redis
	Name             string  `json:"name"`
	Namespace        string  `json:"namespace"`
	Actions          Actions `json:"actions"`
	Reason           string  `json:"reason,omitempty"`
	ChartBefore      string  `json:"chart_before,omitempty"`
	ChartAfter       string  `json:"chart_after,omitempty"`
	VersionBefore    string  `json:"version_before,omitempty"`
	VersionAfter     string  `json:"version_after,omitempty"`
	AppVersionBefore string  `json:"app_version_before,omitempty"`
	AppVersionAfter  string  `json:"app_version_after,omitempty"`
	// AdoptedFromFlux names the Flux HelmRelease that installed the
	// release ("HelmRelease flux-system/podinfo"), when strata takes it
	// over: in place, upgraded (never reinstalled) when it differs.
	AdoptedFromFlux string `json:"adopted_from_flux,omitempty"`
	// Changes are the release's objects that the action changes.
	Changes []ResourceChange `json:"changes,omitempty"`
	// Hooks are the chart hooks the action runs, in Helm's order.
	Hooks []Hook `json:"hooks,omitempty"`
}

// Hook is a chart hook (helm.sh/hook) that a release change runs: Helm
// creates the object at the listed events of the action, waits for it and
// deletes it as its delete policies say.
type Hook struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Events are the hook's events the action fires: pre-install,
	// post-install, pre-upgrade, post-upgrade, pre-rollback, post-rollback,
	// pre-delete, post-delete.
	Events []string `json:"events"`
	// Weight orders the hooks of one event.
	Weight int `json:"weight,omitempty"`
	// DeletePolicies are the hook's helm.sh/hook-delete-policy values.
	DeletePolicies []string `json:"delete_policies,omitempty"`
}

// Drift is a difference between the cluster and what the state says strata
// applied, found while planning.
type Drift struct {
	Address string `json:"address"`
	Block   string `json:"block"`
	Kind    string `json:"kind"` // "modified" or "deleted"
	Message string `json:"message"`
}

// The kinds of Drift.
const (
	DriftModified = "modified"
	DriftDeleted  = "deleted"
)

// Block is what apply needs to carry out one block of the plan.
type Block struct {
	Address   string   `json:"address"`
	Kind      string   `json:"kind"` // "source", "kustomization" or "release"
	DependsOn []string `json:"depends_on,omitempty"`
	// Revision is the source revision the block was rendered from.
	Revision string `json:"revision,omitempty"`
	// ConfigDigest is the digest of the block's configuration.
	ConfigDigest string `json:"config_digest,omitempty"`
	// Objects are the rendered objects, unmasked, in apply order.
	Objects []json.RawMessage `json:"objects,omitempty"`
	// Sensitive locates the sensitive values in Objects: applying a saved
	// plan keeps them out of its output (see Plan.Secrets).
	Sensitive []SensitiveField `json:"sensitive,omitempty"`
	// Prune are the objects to delete, in delete order.
	Prune []ObjectRef `json:"prune,omitempty"`
	// Settings are the block's apply settings (wait, timeout, ...) as JSON.
	Settings json.RawMessage `json:"settings,omitempty"`
	// Remove is set when the block leaves the stack (or is destroyed).
	Remove bool `json:"remove,omitempty"`
}

// ObjectRef names a Kubernetes object.
type ObjectRef struct {
	APIVersion string `json:"api_version"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// Summary counts a plan's changes as Terraform does: a replace counts as
// one to add and one to destroy; releases count too (install: add; upgrade
// and rollback: change; uninstall: destroy). A change whose dry run the
// cluster's admission chain refused (ResourceChange.Refused) counts as
// refused only: apply refuses the plan, so it is none of add, change or
// destroy.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	// ReleaseUpgrades counts upgrades and rollbacks of releases, a part of
	// Change shown on its own in the summary line.
	ReleaseUpgrades int `json:"release_upgrades,omitempty"`
	// Forget counts objects that leave the state but stay in the cluster.
	Forget int `json:"forget,omitempty"`
	// Drifted counts drift notes.
	Drifted int `json:"drifted,omitempty"`
	// Sources counts sources whose revision moves.
	Sources int `json:"sources,omitempty"`
	// Refused counts the changes the cluster's admission chain refused:
	// a plan with one violates a mandatory policy and is not applied.
	Refused int `json:"refused,omitempty"`
}

// Summary counts the plan's changes.
func (p *Plan) Summary() Summary {
	var s Summary
	count := func(a Actions) {
		switch {
		case a.IsReplace():
			s.Add++
			s.Destroy++
		case a.Is(Create), a.Is(Install):
			s.Add++
		case a.Is(Update):
			s.Change++
		case a.Is(Upgrade), a.Is(Rollback):
			s.Change++
			s.ReleaseUpgrades++
		case a.Is(Delete), a.Is(Uninstall):
			s.Destroy++
		case a.Is(Forget):
			s.Forget++
		}
	}
	for _, c := range p.Changes {
		if c.Refused != nil && !c.Actions.IsNoOp() {
			s.Refused++
			continue
		}
		count(c.Actions)
	}
	for _, r := range p.Releases {
		count(r.Actions)
	}
	for _, src := range p.Sources {
		if !src.Actions.IsNoOp() {
			s.Sources++
		}
	}
	s.Drifted = len(p.Drift)
	return s
}

// HasChanges reports whether applying the plan would change the cluster.
// Source revision moves alone change nothing in the cluster but are
// recorded in state, so they count as changes too; so do refused changes
// (Summary.Refused): the plan is not "no changes", and apply refuses it.
func (p *Plan) HasChanges() bool {
	s := p.Summary()
	if s.Add+s.Change+s.Destroy+s.Forget+s.Refused+s.Sources+len(p.Record)+len(p.Retry)+len(p.Moves) > 0 {
		return true
	}
	return slices.ContainsFunc(p.Blocks, func(b Block) bool { return b.Remove })
}

// Block returns the block with the given address, or nil.
func (p *Plan) Block(addr string) *Block {
	for i := range p.Blocks {
		if p.Blocks[i].Address == addr {
			return &p.Blocks[i]
		}
	}
	return nil
}
