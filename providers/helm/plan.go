package helm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	strkube "github.com/strata-gitops/strata/providers/kube"
)

func validate(spec ReleaseSpec) error {
	if spec.Name == "" || spec.Namespace == "" {
		return errors.New("release name and namespace are required")
	}
	for _, policy := range []CRDPolicy{spec.CRDs, spec.UpgradeCRDs} {
		switch policy {
		case "", CRDsCreate, CRDsCreateReplace, CRDsSkip:
		default:
			return fmt.Errorf("release %s/%s: unknown CRD policy %q (want skip, create or create_replace)", spec.Namespace, spec.Name, policy)
		}
	}
	switch spec.Upgrade.Strategy {
	case "", RemediateRollback, RemediateUninstall, RemediateNone:
	default:
		return fmt.Errorf("release %s/%s: unknown remediation strategy %q (want rollback, uninstall or none)", spec.Namespace, spec.Name, spec.Upgrade.Strategy)
	}
	return nil
}

// releases returns the latest revision of a release and its latest deployed
// revision; either is nil when there is none.
func releases(cfg *action.Configuration, name string) (last, deployed *release.Release, err error) {
	last, err = cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read release %s: %w", name, err)
	}
	if last.Info.Status == release.StatusDeployed {
		return last, last, nil
	}
	deployed, err = cfg.Releases.Deployed(name)
	if errors.Is(err, driver.ErrNoDeployedReleases) || errors.Is(err, driver.ErrReleaseNotFound) {
		return last, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read release %s: %w", name, err)
	}
	return last, deployed, nil
}

func chartName(ch *chart.Chart) string {
	if ch == nil || ch.Metadata == nil {
		return ""
	}
	return ch.Metadata.Name
}

func chartVersion(ch *chart.Chart) (string, string) {
	if ch == nil || ch.Metadata == nil {
		return "", ""
	}
	return ch.Metadata.Version, ch.Metadata.AppVersion
}

// Plan renders spec and compares it with the deployed release and the live
// cluster. It changes nothing. A release installed with the Helm CLI under
// the same name and namespace is planned as an upgrade or a no-op; its
// Owner (nil) and Flux tell the caller whose it is (the planner takes one
// nobody claims only when it is adopted).
func (m *Manager) Plan(ctx context.Context, spec ReleaseSpec) (*ReleasePlan, error) {
	if err := validate(spec); err != nil {
		return nil, err
	}
	ch, err := loadChart(spec)
	if err != nil {
		return nil, err
	}
	spec.Chart = ch
	vals, err := MergeValues(spec.ValuesFiles, spec.ValuesFrom, spec.Values)
	if err != nil {
		return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	cfg, err := m.readConfig(ctx, spec.Namespace)
	if err != nil {
		return nil, err
	}
	last, deployed, err := releases(cfg, spec.Name)
	if err != nil {
		return nil, err
	}
	caps, err := m.capabilities(ctx)
	if err != nil {
		return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	p := &ReleasePlan{Name: spec.Name, Namespace: spec.Namespace, Spec: spec, values: vals}
	p.Chart.New = chartName(ch)
	p.ChartVersion.New, p.AppVersion.New = chartVersion(ch)
	p.ValuesDigest.New = ValuesDigest(vals)
	ro := renderOptions{name: spec.Name, namespace: spec.Namespace, revision: 1}
	if last != nil {
		p.Revision, p.Status = last.Version, last.Info.Status.String()
		p.Flux = fluxOwnerOf(last)
		if p.Owner, err = ownerOfRelease(cfg, last); err != nil {
			return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
		}
		ro.revision, ro.upgrade = last.Version+1, last.Info.Status != release.StatusUninstalled
	}
	manifest, hooks, err := m.render(ch, vals, ro, caps)
	if err != nil {
		return nil, &ChartError{Err: fmt.Errorf("release %s/%s: render: %w", spec.Namespace, spec.Name, err)}
	}

	if last == nil || last.Info.Status == release.StatusUninstalled {
		p.Action, p.Reason = ActionInstall, "not installed"
		if last != nil {
			p.Reason = "uninstalled (history kept)"
		}
		p.Changes, _, err = m.diffRelease(ctx, cfg.KubeClient, spec.Name, spec.Namespace, "", manifest, false, plannedCRDs(spec, ch, installCRDs(spec)), spec.Owner)
		if err != nil {
			return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
		}
		p.Changes = append(crdChanges(ch, installCRDs(spec)), p.Changes...)
		if err := unnamedHook(hooks, ActionInstall, spec.DisableHooks); err != nil {
			return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
		}
		if err := unnamedRemediationHook(spec, ActionInstall, hooks, nil); err != nil {
			return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
		}
		p.Hooks = hooksRun(hooks, ActionInstall, spec.DisableHooks)
		if spec.CreateNamespace {
			nc, err := m.namespaceChange(ctx, spec.Namespace)
			if err != nil {
				return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
			}
			if nc != nil {
				p.Changes = append([]strkube.Change{*nc}, p.Changes...)
			}
		}
		return p, nil
	}

	base := deployed
	if base == nil {
		base = last
	}
	p.Chart.Old = chartName(base.Chart)
	p.ChartVersion.Old, p.AppVersion.Old = chartVersion(base.Chart)
	p.ValuesDigest.Old = ValuesDigest(base.Config)
	changes, drifted, err := m.diffRelease(ctx, cfg.KubeClient, spec.Name, spec.Namespace, base.Manifest, manifest, spec.Force, plannedCRDs(spec, ch, upgradeCRDs(spec)), spec.Owner)
	if err != nil {
		return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	p.Changes = changes
	sameSpec := !p.Chart.Changed() && !p.ChartVersion.Changed() && !p.ValuesDigest.Changed()
	p.Action = ActionUpgrade
	switch status := last.Info.Status; {
	case status.IsPending():
		p.Reason = fmt.Sprintf("revision %d is stuck in %s", last.Version, status)
	case status == release.StatusFailed && deployed != nil && sameSpec && manifest == deployed.Manifest:
		p.Action, p.RollbackTo = ActionRollback, deployed.Version
		p.Reason = fmt.Sprintf("revision %d failed; the spec is that of revision %d", last.Version, deployed.Version)
	case status == release.StatusFailed:
		p.Reason = fmt.Sprintf("revision %d failed", last.Version)
	case p.Chart.Changed():
		p.Reason = fmt.Sprintf("chart %s -> %s", p.Chart.Old, p.Chart.New)
	case p.ChartVersion.Changed():
		p.Reason = fmt.Sprintf("chart version %s -> %s", p.ChartVersion.Old, p.ChartVersion.New)
	case p.ValuesDigest.Changed():
		p.Reason = "values changed"
	case manifest != base.Manifest:
		p.Reason = "rendered manifests changed"
	case len(changes) > 0 && drifted > 0 && spec.DriftDetection == DriftDisabled:
		p.Action, p.Changes = ActionNoop, nil
	case len(changes) > 0 && drifted > 0 && spec.DriftDetection == DriftWarn:
		p.Action, p.Changes, p.Drift, p.Drifted = ActionNoop, nil, true, drifted
		p.Reason = fmt.Sprintf("drift: %d object(s) changed in the cluster; not corrected (drift_detection = warn)", drifted)
	case len(changes) > 0:
		p.Drift = true
		p.Reason = fmt.Sprintf("drift: %d object(s) changed in the cluster", drifted)
		if drifted == 0 {
			p.Reason = "objects differ in the cluster"
		}
	default:
		p.Action = ActionNoop
		p.Changes = nil
	}
	// CRDs are not part of the manifest: show the ones apply creates or
	// replaces.
	if crds := m.missingCRDs(ctx, ch, upgradeCRDs(spec)); len(crds) > 0 {
		if p.Action == ActionNoop {
			p.Action, p.Reason = ActionUpgrade, "CRDs of the chart missing or changed"
		}
		p.Changes = append(crds, p.Changes...)
	}
	if p.Action != ActionNoop && drifted > 0 {
		p.Drift, p.Drifted = true, drifted
	}
	var run []*release.Hook
	disabled := false
	switch p.Action {
	case ActionUpgrade:
		run, disabled = hooks, spec.UpgradeDisableHooks
	case ActionRollback:
		run, disabled = deployed.Hooks, spec.Rollback.DisableHooks
	}
	if err := unnamedHook(run, p.Action, disabled); err != nil {
		return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	if p.Action == ActionUpgrade {
		if err := unnamedRemediationHook(spec, ActionUpgrade, hooks, deployed); err != nil {
			return nil, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.Name, err)
		}
	}
	p.Hooks = hooksRun(run, p.Action, disabled)
	return p, nil
}

// installCRDs is the CRD policy of an install (default create).
func installCRDs(spec ReleaseSpec) CRDPolicy {
	if spec.CRDs == "" {
		return CRDsCreate
	}
	return spec.CRDs
}

// upgradeCRDs is the CRD policy of an upgrade (default skip).
func upgradeCRDs(spec ReleaseSpec) CRDPolicy {
	if spec.UpgradeCRDs == "" {
		return CRDsSkip
	}
	return spec.UpgradeCRDs
}

// plannedCRDs returns the checker of the CRDs that the objects of a
// release may use before the cluster serves their kinds: those of blocks
// applied first, and those of the chart's crds/ directory unless policy
// (the install's or the upgrade's) skips them.
func plannedCRDs(spec ReleaseSpec, ch *chart.Chart, policy CRDPolicy) *strkube.CRDSchemas {
	crds := slices.Clone(spec.UpstreamCRDs)
	if policy != CRDsSkip {
		for _, u := range chartCRDs(ch) {
			crds = append(crds, strkube.PlannedCRD{Object: u, By: "crds/ of chart " + chartName(ch)})
		}
	}
	return strkube.NewCRDSchemas(crds)
}

// namespaceChange is the create of the release's namespace that an install
// with CreateNamespace makes, or nil when the namespace exists (or the
// release's service account may not read it).
func (m *Manager) namespaceChange(ctx context.Context, namespace string) (*strkube.Change, error) {
	_, err := m.dyn.Resource(namespaceResource).Get(ctx, namespace, getOptions)
	if err == nil {
		return nil, nil
	}
	if apierrors.IsForbidden(err) {
		return nil, nil // a service account that may not read namespaces: the install tells
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("namespace %s: %w", namespace, err)
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(namespace)
	c := strkube.Change{Ref: strkube.RefOf(u), Action: strkube.ActionCreate, Reason: reasonCreateNamespace, Desired: u}
	_, c.After, _ = strkube.Compare(nil, u, nil)
	return &c, nil
}

// crdChanges lists the chart's CRDs as creates for an install.
func crdChanges(ch *chart.Chart, policy CRDPolicy) []strkube.Change {
	if policy == CRDsSkip {
		return nil
	}
	var out []strkube.Change
	for _, u := range chartCRDs(ch) {
		c := strkube.Change{Ref: strkube.RefOf(u), Action: strkube.ActionCreate, Desired: u}
		_, c.After, _ = strkube.Compare(nil, u, nil)
		out = append(out, c)
	}
	return out
}

// missingCRDs lists the chart's CRDs an upgrade creates (or, with
// create_replace, replaces when they differ).
func (m *Manager) missingCRDs(ctx context.Context, ch *chart.Chart, policy CRDPolicy) []strkube.Change {
	if policy == CRDsSkip {
		return nil
	}
	var out []strkube.Change
	for _, u := range chartCRDs(ch) {
		live, err := m.dyn.Resource(crdResource).Get(ctx, u.GetName(), getOptions)
		if err != nil {
			c := strkube.Change{Ref: strkube.RefOf(u), Action: strkube.ActionCreate, Desired: u}
			_, c.After, _ = strkube.Compare(nil, u, nil)
			out = append(out, c)
			continue
		}
		if policy != CRDsCreateReplace {
			continue
		}
		// What the replace would store, defaults included: a dry run.
		want := u.DeepCopy()
		want.SetResourceVersion(live.GetResourceVersion())
		after, err := m.dyn.Resource(crdResource).Update(ctx, want, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			after = want
		}
		c := strkube.Change{Ref: strkube.RefOf(u), Action: strkube.ActionUpdate, Reason: "CRD replaced (create_replace)", Desired: u}
		c.Before, c.After, c.Fields = strkube.Compare(live, after, u)
		c.Fields = specFields(c.Fields)
		if len(c.Fields) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// UninstallHooks lists the hooks an uninstall of the release runs: the
// pre-delete and post-delete hooks of its latest revision, none when
// disabled. A release that does not exist (or was uninstalled) has none.
// A hook it would run without a name is an *UnnamedHookError.
func (m *Manager) UninstallHooks(ctx context.Context, name, namespace string, disabled bool) ([]Hook, error) {
	cfg, err := m.actionConfig(ctx, namespace)
	if err != nil {
		return nil, err
	}
	last, _, err := releases(cfg, name)
	if err != nil || last == nil || last.Info.Status == release.StatusUninstalled {
		return nil, err
	}
	if err := unnamedHook(last.Hooks, ActionUninstall, disabled); err != nil {
		return nil, fmt.Errorf("release %s/%s: %w", namespace, name, err)
	}
	return hooksRun(last.Hooks, ActionUninstall, disabled), nil
}

// PlanUninstall plans the removal of a release that left the stack: its
// objects become deletes. A release that does not exist (or was uninstalled
// with its history kept) plans a no-op.
func (m *Manager) PlanUninstall(ctx context.Context, name, namespace string) (*ReleasePlan, error) {
	if name == "" || namespace == "" {
		return nil, errors.New("release name and namespace are required")
	}
	cfg, err := m.readConfig(ctx, namespace)
	if err != nil {
		return nil, err
	}
	last, _, err := releases(cfg, name)
	if err != nil {
		return nil, err
	}
	p := &ReleasePlan{Name: name, Namespace: namespace, Action: ActionNoop, Spec: ReleaseSpec{Name: name, Namespace: namespace}}
	if last == nil || last.Info.Status == release.StatusUninstalled {
		return p, nil
	}
	p.Action, p.Reason = ActionUninstall, "release left the stack"
	p.Revision, p.Status = last.Version, last.Info.Status.String()
	p.Chart.Old = chartName(last.Chart)
	p.ChartVersion.Old, p.AppVersion.Old = chartVersion(last.Chart)
	p.ValuesDigest.Old = ValuesDigest(last.Config)
	p.Hooks = hooksRun(last.Hooks, ActionUninstall, false)
	objs, err := buildManifest(cfg.KubeClient, last.Manifest)
	if err != nil {
		return nil, fmt.Errorf("release %s/%s: build manifest: %w", namespace, name, err)
	}
	for i := len(objs) - 1; i >= 0; i-- {
		if objs[i].info == nil {
			continue
		}
		c, err := diffDelete(objs[i])
		if err != nil {
			return nil, err
		}
		if c.Action == strkube.ActionDelete {
			p.Changes = append(p.Changes, c)
		}
	}
	return p, nil
}
