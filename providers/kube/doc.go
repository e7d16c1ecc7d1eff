// Package kube talks to a Kubernetes cluster on behalf of one strata block:
// discovery and REST mapping, a server-side diff, a staged server-side apply,
// ownership-checked pruning and a kstatus based wait.
//
// All requests use server-side apply with the field manager "strata"
// (FieldManager). Every object strata applies carries the ownership labels
// LabelStack (a readable name), LabelStackID (the stack's unique identity)
// and LabelBlock; strata never changes or deletes an object that does not
// carry the labels of the block at hand unless adoption is asked for, and
// Diff marks an object of another stack (Change.OtherStack). A block's
// object that is no longer rendered but kept (AnnotationPrune, or owned by
// someone else by now) is a forget (ActionForget): left in the cluster and
// dropped from the block.
//
// The flow for one block is:
//
//	m, _ := kube.NewManager(restConfig, kube.Options{})
//	m, _ = m.Impersonate("team-a/deployer")          // optional: service_account
//	cs, _ := m.Diff(ctx, objs, kube.DiffOptions{Stack: "prod", StackID: lineage, Block: "kustomization.app", Previous: refsFromState})
//	res, _ := m.Apply(ctx, cs, kube.ApplyOptions{Stack: "prod", StackID: lineage, Block: "kustomization.app", Wait: true}, events)
//
// Diff sends a server-side apply dry run for every object (in parallel) and
// compares the answer with the very live version the dry run was computed
// on, so defaulting, admission and conversion are included and a diff right
// after an apply is empty. The live objects owned by the block are fetched
// with one list request per resource and namespace; the rest with single
// gets. An object whose live version carries the digest of the same
// configuration (AnnotationDigest, written at apply) and already holds every
// value of it is a no-op without a dry run, which makes the plan of an
// unchanged block cost a few list requests; Options.ExactDiff turns this off.
// Namespaced objects without a namespace go to "default". Changes are plain data (Change):
// an action, a reason, the masked before and after objects, a field-level
// diff and the live resourceVersion the change was computed against. A change
// to an immutable field is a replace; an object in a namespace that the
// same change set (or, DiffOptions.Namespaces, an upstream block) creates
// is a create "after Namespace …". An object of a kind whose CRD the change
// set, or an upstream block (DiffOptions.CRDs), creates or changes is not
// dry-run against the live CRD: it is checked offline against the planned
// CRD's OpenAPI v3 schema with the API server's own structural pruning
// (unknown fields are errors), defaulting and validation packages, and
// marked Change.SchemaOnly; Apply waits for the CRD to be Established and
// dry-runs it for real before writing. An object that applying would fail
// on (the admission chain or the API server refuses its dry run, or the
// planned schema refuses it) is not a failed Diff: its change carries the
// Refusal (Change.Refusal), and Apply refuses a change set holding one.
// Secret values are masked (Masked) in everything a ChangeSet exposes except
// the Desired objects, which are what Apply sends and must not be printed.
//
// Apply works in stages: CustomResourceDefinitions, Namespaces, ClusterRoles
// and *Class kinds first, then waits until the CRDs are Established, then all
// other objects; objects of one stage are applied in parallel. Deletes in the
// change set (prunes) run last, in reverse order: custom resources before
// their definitions, namespaces last. Progress is reported as typed Events on
// a channel the caller reads; a nil channel discards them.
//
// For a drift check, ScanMetadata reads the metadata of a block's objects
// (one list request per resource and namespace, metadata only, or the
// lists that all the blocks of a check share: SharedScan, PrefetchScan) and
// FieldSets and OwnsAll tell from the managed fields whether anyone else
// changed a field strata applied, so that only the remaining objects need a
// dry run.
//
// # Files
//
// One file per verb, as in fluxcd/pkg/ssa: manager.go (the Manager and its
// options), prepare.go (REST mapping and ownership labels of rendered
// objects), diff.go (Diff and the dry run of one object), live.go (the list
// of a block's live objects a Diff starts with), diff_prune.go (what Diff
// says of objects no longer rendered), replace.go (immutable-field
// replaces), schemaonly.go and schema.go (offline checks against a planned
// CRD), apply.go (Apply), prune.go (Prune), wait.go (Wait), scan.go and
// scan_shared.go (ScanMetadata, SharedScan). The helpers they share:
// owner.go (ownership labels and who owns a live object), digest.go
// (configuration digests), normalize.go, allocated.go and compare.go (what
// a plan shows of an object), fields.go (managed-fields ownership),
// order.go (stages) and types.go (the plain data of a ChangeSet). Object addresses are formatted by internal/addrs.
//
// This package uses client-go directly rather than github.com/fluxcd/pkg/ssa:
// ssa's ResourceManager diffs one object at a time with a get and a dry run
// each, reports no field-level diff nor immutable-field replaces, masks only
// Secret data, and its wait reports no progress. The readiness rules are the
// ones of kstatus (sigs.k8s.io/cli-utils/pkg/kstatus), and the stage order and
// normalisation follow ssa's.
package kube
