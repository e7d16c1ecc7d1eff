package helm

import (
	"time"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/strata-gitops/strata/providers/kube"
)

// Action is what a plan does to a release.
type Action string

// The actions of a ReleasePlan.
const (
	ActionNoop      Action = "noop"
	ActionInstall   Action = "install"
	ActionUpgrade   Action = "upgrade"
	ActionRollback  Action = "rollback"
	ActionUninstall Action = "uninstall"
)

// CRDPolicy says what happens to the CustomResourceDefinitions of a chart's
// crds/ directory.
type CRDPolicy string

// The CRD policies.
const (
	// CRDsCreate creates the chart's CRDs that do not exist yet, on install
	// and on upgrade, and never changes existing ones (the default).
	CRDsCreate CRDPolicy = "create"
	// CRDsCreateReplace creates missing CRDs and replaces existing ones with
	// the chart's version, on install and on upgrade.
	CRDsCreateReplace CRDPolicy = "create_replace"
	// CRDsSkip leaves CRDs alone.
	CRDsSkip CRDPolicy = "skip"
)

// Remediation says what to do when an install or upgrade fails.
type Remediation string

// The remediation strategies.
const (
	// RemediateRollback rolls a failed upgrade back to the last deployed
	// revision (the default for upgrades).
	RemediateRollback Remediation = "rollback"
	// RemediateUninstall uninstalls a failed release (the only strategy for
	// installs).
	RemediateUninstall Remediation = "uninstall"
	// RemediateNone leaves a failed release as it is.
	RemediateNone Remediation = "none"
)

// ReleaseSpec is the desired state of one release.
type ReleaseSpec struct {
	// Name and Namespace identify the release (required).
	Name      string `json:"name"`
	Namespace string `json:"namespace"`

	// Chart is the loaded chart; when nil, ChartPath names a chart directory
	// or .tgz archive to load.
	Chart     *chart.Chart `json:"-"`
	ChartPath string       `json:"chart_path,omitempty"`

	// ValuesFiles are YAML files merged in order over the chart's defaults,
	// then Values is merged over them: Helm's order for -f files and --set.
	ValuesFiles []string `json:"values_files,omitempty"`
	// ValuesFrom are values read from the cluster (Flux's valuesFrom),
	// merged in order after ValuesFiles and before Values.
	ValuesFrom []ValuesLayer  `json:"-"`
	Values     map[string]any `json:"-"`

	// CreateNamespace creates Namespace on install when it does not exist.
	CreateNamespace bool `json:"create_namespace,omitempty"`
	// CRDs is the policy for the chart's crds/ directory on install
	// (default create).
	CRDs CRDPolicy `json:"crds,omitempty"`
	// UpgradeCRDs is the policy for the chart's crds/ directory on upgrade
	// (default skip, as Flux's upgrade.crds): Helm itself never touches
	// CRDs on upgrade.
	UpgradeCRDs CRDPolicy `json:"upgrade_crds,omitempty"`
	// UpstreamCRDs are CRDs that blocks applied before the release create
	// or change in the same plan. Plan checks the rendered objects of their
	// kinds that the cluster does not serve yet against them offline, as it
	// does for the kinds of the chart's crds/ directory (Change.SchemaOnly).
	UpstreamCRDs []kube.PlannedCRD `json:"-"`
	// Owner is the strata block planning the release: an existing object
	// that Helm would refuse to install over (see Change.Unowned) is
	// described relative to it (Change.Owner, OtherStack, OwnerBlock).
	Owner kube.Owner `json:"-"`
	// TakeOwnership installs or upgrades over existing objects that carry
	// no Helm release's metadata (Helm's --take-ownership): the adoption the
	// plan showed. Objects of another release are plan errors, never taken.
	TakeOwnership bool `json:"take_ownership,omitempty"`
	// Adopted are the objects the plan adopts, with who claimed them when
	// planned: Apply refuses to take ownership (ErrStalePlan) once one was
	// replaced or claimed by someone else.
	Adopted []AdoptedObject `json:"adopted,omitempty"`
	// DisableWait skips waiting for the release's objects to be Current.
	DisableWait bool `json:"disable_wait,omitempty"`
	// Timeout bounds each Helm operation and its wait (default 5m).
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxHistory caps the revisions Helm keeps (default 10; < 0: unlimited).
	MaxHistory int `json:"max_history,omitempty"`
	// Force replaces objects instead of patching them on upgrade.
	Force bool `json:"force,omitempty"`
	// DriftDetection says what a plan does when objects of the deployed
	// release were changed in the cluster and nothing else changed:
	// DriftEnabled ("", the default) upgrades to correct them, DriftWarn
	// reports them without correcting, DriftDisabled ignores them.
	DriftDetection DriftMode `json:"drift_detection,omitempty"`
	// DisableHooks skips the chart's hooks on install, UpgradeDisableHooks
	// on upgrade.
	DisableHooks        bool `json:"disable_hooks,omitempty"`
	UpgradeDisableHooks bool `json:"upgrade_disable_hooks,omitempty"`

	// Install configures remediation of a failed install.
	Install InstallRemediation `json:"install,omitempty"`
	// Upgrade configures remediation of a failed upgrade.
	Upgrade UpgradeRemediation `json:"upgrade,omitempty"`
	// CleanupOnFail deletes the objects a failed upgrade created.
	CleanupOnFail bool `json:"cleanup_on_fail,omitempty"`
	// Rollback configures rollbacks: a planned rollback and the rollback
	// that remediates a failed upgrade.
	Rollback RollbackOptions `json:"rollback,omitempty"`
	// Uninstall configures uninstalls: a planned uninstall and the
	// uninstall that remediates a failed install or upgrade.
	Uninstall UninstallOptions `json:"uninstall,omitempty"`
	// Labels are set on the release's records in Helm's storage by
	// installs and upgrades (strata's ownership labels); Helm refuses its
	// own label names (name, owner, status, version, ...).
	Labels map[string]string `json:"labels,omitempty"`
}

// RollbackOptions configure Helm's rollback action (Flux's spec.rollback).
type RollbackOptions struct {
	// Force replaces objects instead of patching them.
	Force bool `json:"force,omitempty"`
	// Recreate restarts the pods of the rolled back workloads.
	Recreate bool `json:"recreate,omitempty"`
	// DisableHooks skips the chart's rollback hooks.
	DisableHooks bool `json:"disable_hooks,omitempty"`
	// CleanupOnFail deletes the objects a failed rollback created.
	CleanupOnFail bool `json:"cleanup_on_fail,omitempty"`
	// Timeout bounds the rollback and its wait (default: the spec's).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// UninstallOptions configure Helm's uninstall action (Flux's
// spec.uninstall).
type UninstallOptions struct {
	// KeepHistory keeps the release's revisions in Helm's storage (status
	// uninstalled). A remediation never keeps them.
	KeepHistory bool `json:"keep_history,omitempty"`
	// DisableHooks skips the chart's delete hooks.
	DisableHooks bool `json:"disable_hooks,omitempty"`
	// Timeout bounds the uninstall and its wait (default: the spec's
	// timeout, or the manager's default for Uninstall).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// DriftMode is the drift detection mode of a release (Flux's
// spec.driftDetection.mode).
type DriftMode string

// The drift detection modes.
const (
	DriftEnabled  DriftMode = "enabled"
	DriftWarn     DriftMode = "warn"
	DriftDisabled DriftMode = "disabled"
)

// InstallRemediation configures what happens when an install fails: the
// failed release is uninstalled and the install tried again, up to Retries
// times. After the last failure the release is uninstalled unless
// KeepLastFailure is set.
type InstallRemediation struct {
	Retries         int  `json:"retries,omitempty"`
	KeepLastFailure bool `json:"keep_last_failure,omitempty"`
}

// UpgradeRemediation configures what happens when an upgrade fails: the
// release is remediated by Strategy (default rollback) and the upgrade tried
// again, up to Retries times. The last failure is remediated too unless
// KeepLastFailure is set.
type UpgradeRemediation struct {
	Retries         int         `json:"retries,omitempty"`
	Strategy        Remediation `json:"strategy,omitempty"`
	KeepLastFailure bool        `json:"keep_last_failure,omitempty"`
}

// Change is an old and a new value of a release attribute; Old is empty when
// there is no release yet, New is empty for an uninstall.
type Change struct {
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// Changed reports whether Old and New differ.
func (c Change) Changed() bool { return c.Old != c.New }

// ReleasePlan is the planned change of one release. It is plain data and can
// be rendered without a cluster; Apply carries it out.
type ReleasePlan struct {
	// Name and Namespace identify the release.
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Action is what Apply will do, Reason why in a sentence fragment
	// ("values changed", "chart version 1.0.0 -> 1.1.0", "drift: 1 object
	// edited in the cluster", "not installed").
	Action Action `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Drift is set when objects of the deployed release differ from its
	// manifest in the cluster (edited or deleted behind strata's back).
	// With DriftWarn the action stays a no-op and Drifted counts them.
	Drift   bool `json:"drift,omitempty"`
	Drifted int  `json:"drifted,omitempty"`
	// Chart is the chart name, ChartVersion and AppVersion the versions of
	// the deployed release (Old) and of the spec (New).
	Chart        Change `json:"chart"`
	ChartVersion Change `json:"chart_version"`
	AppVersion   Change `json:"app_version"`
	// ValuesDigest is the digest of the user-supplied values.
	ValuesDigest Change `json:"values_digest"`
	// Revision is the latest revision in Helm's storage when planned (0: no
	// release); Apply refuses a plan whose release moved since (ErrStalePlan).
	// Status is that revision's status ("deployed", "failed", ...).
	Revision int    `json:"revision,omitempty"`
	Status   string `json:"status,omitempty"`
	// Flux names the Flux HelmRelease that installed the release (from
	// helm-controller's labels), nil when Flux did not: strata adopts the
	// release in place, upgrading it (never reinstalling) when its spec
	// differs.
	Flux *kube.FluxOwner `json:"flux,omitempty"`
	// Owner is the owner that strata's labels on the latest record that
	// carries them name (kube.Owner, see OwnerOfHistory), nil when no
	// record does.
	Owner *kube.Owner `json:"owner,omitempty"`
	// RollbackTo is the revision an ActionRollback returns to.
	RollbackTo int `json:"rollback_to,omitempty"`
	// Changes are the per-object changes, in apply order, no-ops left out:
	// the namespace an install creates (CreateNamespace, when it does not
	// exist), the CRDs of the chart's crds/ directory that are created or
	// replaced, then the manifest's objects. Before and After are masked;
	// Desired holds the rendered object.
	Changes []kube.Change `json:"changes,omitempty"`
	// Hooks are the chart hooks the action runs (none when hooks are
	// disabled): for an install or upgrade the planned chart's, for a
	// rollback those of the revision rolled back to, for an uninstall those
	// of the installed revision.
	Hooks []Hook `json:"hooks,omitempty"`

	// Spec is the spec the plan was made for, with its chart loaded. Its
	// JSON form leaves out Chart and Values (they may hold secrets): to
	// apply a plan read back from a file, set Spec.Chart (or ChartPath) and
	// Spec.Values again; Apply refuses them with ErrStalePlan unless their
	// chart version and values digest are the planned ones.
	Spec ReleaseSpec `json:"spec"`

	values map[string]any // merged user values
}

// HasChanges reports whether applying the plan changes anything.
func (p *ReleasePlan) HasChanges() bool { return p.Action != ActionNoop }

// Result is what a finished operation left in the cluster, as state records
// it per release. It never holds values, only their digest.
type Result struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Chart        string `json:"chart,omitempty"`
	ChartVersion string `json:"chart_version,omitempty"`
	AppVersion   string `json:"app_version,omitempty"`
	// ValuesDigest is "sha256:<hex>" of the user-supplied values.
	ValuesDigest string `json:"values_digest,omitempty"`
	// Revision is the Helm revision of the release after the operation, and
	// Status its Helm status ("deployed", "failed", "uninstalled", ...).
	// Both are zero after an uninstall without history.
	Revision int    `json:"revision,omitempty"`
	Status   string `json:"status,omitempty"`
	// Action is what was done; Attempts how many install or upgrade tries it
	// took; Remediated names a remediation that ran (rollback, uninstall).
	Action     Action      `json:"action"`
	Attempts   int         `json:"attempts,omitempty"`
	Remediated Remediation `json:"remediated,omitempty"`
}

// EventType is the kind of an Event.
type EventType string

// The event types.
const (
	EventStarted    EventType = "started"    // an install, upgrade, rollback or uninstall began
	EventCRDs       EventType = "crds"       // the chart's CRDs were created or replaced
	EventFailed     EventType = "failed"     // an attempt failed (Err)
	EventRemediated EventType = "remediated" // a failed attempt was rolled back or uninstalled
	EventRetry      EventType = "retry"      // another attempt begins
	EventDone       EventType = "done"       // the operation finished (Message: status)
)

// Event reports progress of Apply and Uninstall.
type Event struct {
	Type      EventType
	Name      string
	Namespace string
	Action    Action
	Attempt   int
	Message   string
	Err       error
}
