// Package helm installs, upgrades, rolls back and uninstalls Helm releases
// through the Helm SDK (helm.sh/helm/v3/pkg/action), and plans those
// operations as reviewable, field-level diffs.
//
// A Manager talks to one cluster, given as a *rest.Config: no kubeconfig file
// is needed. Releases are stored as Helm stores them (storage driver
// "secret", one Secret per revision in the release namespace), so the Helm
// CLI sees strata's work (`helm list`, `helm history`, `helm get values`)
// and a release installed with the Helm CLI is adopted by a spec of the same
// name and namespace.
//
// The flow for one release is:
//
//	m, _ := helm.NewManager(restConfig, helm.Options{})
//	p, _ := m.Plan(ctx, helm.ReleaseSpec{Name: "web", Namespace: "apps", Chart: ch, Values: vals})
//	// show p: p.Action, p.Reason, p.ChartVersion, p.AppVersion, p.Changes
//	res, err := m.Apply(ctx, p, events)
//	// record res (a Result) in state
//
// Plan renders the chart with the cluster's real capabilities (kube version
// and the API versions discovery reports), reads the release from Helm's
// storage and decides: install (no release), upgrade (chart version, values
// digest or rendered manifest changed, the last revision failed, or objects
// of the release were edited or deleted in the cluster: drift), rollback
// (the last revision failed and the spec is that of the last deployed one)
// or no-op. The per-object changes come from the API server: for every
// rendered object Plan sends the very patch Helm's upgrade would send
// (Helm's three-way merge of the old manifest, the new manifest and the live
// object) as a dry run, and compares the answer with the live object, so
// defaulting, admission and edits made behind strata's back show. Secret
// values are masked in everything a plan exposes.
//
// Apply carries a plan out: CRDs first as the CRD policy of the operation
// says (install: create by default; upgrade: skip by default, as Flux's
// upgrade.crds), then install or upgrade, waiting until every object is
// Current by kstatus rules within the timeout. On failure it remediates as
// configured: retries, then rollback to the last deployed revision (with
// the spec's RollbackOptions) or uninstall (UninstallOptions); the last
// failure is kept when KeepLastFailure says so. History is capped at
// MaxHistory revisions. Uninstall removes a release that left the stack, as
// its UninstallOptions say.
//
// For a drift check, History reads a release's revisions from Helm's storage
// (one list request) and Drift compares the objects of its deployed revision
// with the cluster.
//
// Impersonate returns a Manager whose every request (Helm's storage
// included) impersonates a service account, so that RBAC limits what a
// release can change.
//
// A plan can be saved and applied later, by another process: its JSON form
// leaves out the chart and the values, which the caller keeps beside it
// (ChartArchive packs the planned chart, ReleasePlan.Values returns the
// merged values) and sets again in Spec before Apply. Check (and Apply)
// refuse such a plan with ErrStalePlan when the release got another revision
// since, or when the chart or values are not the planned ones.
//
// Charts come as a loaded *chart.Chart (from providers/helmrepo) or as a
// path to a chart directory or archive (a chart in a source checkout).
package helm
