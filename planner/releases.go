package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// releaseSettings are saved in plan.Block.Settings of a release block.
type releaseSettings struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// ServiceAccount ("namespace/name") is impersonated by every request
	// of the apply; "" is strata's own credentials.
	ServiceAccount string `json:"service_account,omitempty"`
	// Uninstall configures the uninstall of a release that leaves the stack.
	Uninstall helm.UninstallOptions `json:"uninstall,omitempty"`

	// What applying a saved plan needs, for a release that changes: the
	// release plan (without its per-object changes), the values as planned
	// (merged, unmasked: the plan file is 0600 and no renderer prints
	// blocks) and the planned chart as an archive, so that apply uses
	// exactly the chart that was planned, wherever it came from.
	Plan   *helm.ReleasePlan `json:"plan,omitempty"`
	Values map[string]any    `json:"values,omitempty"`
	Chart  []byte            `json:"chart,omitempty"`
	// Sensitive locates the sensitive values in Values (Object unused),
	// which applying the saved plan keeps out of its output.
	Sensitive []plan.SensitiveField `json:"sensitive,omitempty"`
	// ValuesFrom records the values_from references and a digest of what
	// they held, so that applying the saved plan refuses it when that
	// changed.
	ValuesFrom *valuesFromCheck `json:"values_from,omitempty"`
}

// recorded returns rel with the settings an uninstall after the block left
// the stack needs.
func (s *releaseSettings) recorded(rel state.Release) state.Release {
	u := s.Uninstall
	rel.ServiceAccount = s.ServiceAccount
	rel.Uninstall = &state.ReleaseUninstall{KeepHistory: u.KeepHistory, DisableHooks: u.DisableHooks, Timeout: u.Timeout}
	return rel
}

// savedRelease fills in the settings a saved plan needs to apply rp.
func (s *releaseSettings) savedRelease(rp *helm.ReleasePlan, secrets *plan.Secrets) error {
	if !rp.HasChanges() {
		return nil
	}
	saved := *rp
	saved.Changes = nil
	saved.Spec.Chart, saved.Spec.ChartPath, saved.Spec.ValuesFiles, saved.Spec.Values = nil, "", nil, nil
	saved.Reason = secrets.Scrub(saved.Reason)
	s.Plan, s.Values = &saved, rp.Values()
	if !secrets.Empty() {
		// Locate in the values as the plan file holds them (plain JSON).
		var values any
		if b, err := json.Marshal(s.Values); err == nil && json.Unmarshal(b, &values) == nil {
			s.Sensitive = secrets.Locate(0, values)
		}
	}
	if rp.Action != helm.ActionInstall && rp.Action != helm.ActionUpgrade {
		return nil // rollbacks and uninstalls need no chart
	}
	b, err := helm.ChartArchive(rp.Spec.Chart)
	if err != nil {
		return err
	}
	s.Chart = b
	return nil
}

// releasePlan returns the release plan a saved plan carries, with its chart
// and values restored, or nil when the block has nothing to apply.
func (s *releaseSettings) releasePlan() (*helm.ReleasePlan, error) {
	if s.Plan == nil {
		return nil, nil
	}
	rp := *s.Plan
	rp.Spec.Values, rp.Spec.ValuesFiles, rp.Spec.ChartPath = s.Values, nil, ""
	if len(s.Chart) > 0 {
		ch, err := helm.LoadChartArchive(s.Chart)
		if err != nil {
			return nil, err
		}
		rp.Spec.Chart = ch
	}
	return &rp, nil
}

// uninstallOptions are the uninstall settings of a release block; the
// timeout defaults to the release's (Flux's uninstall.timeout).
func uninstallOptions(r *config.Release) helm.UninstallOptions {
	o := helm.UninstallOptions{KeepHistory: r.Uninstall.KeepHistory, DisableHooks: r.Uninstall.DisableHooks, Timeout: r.Uninstall.Timeout}
	if o.Timeout == 0 {
		o.Timeout = r.Timeout
	}
	return o
}

// releaseSpec turns a release block into the provider's spec.
func (e *Engine) releaseSpec(ctx context.Context, r *config.Release) (helm.ReleaseSpec, string, error) {
	revision := ""
	spec := helm.ReleaseSpec{
		Name: r.Name, Namespace: r.Namespace, Values: r.Values,
		CreateNamespace: r.Install.CreateNamespace, DisableWait: !r.Wait, Timeout: r.Timeout, MaxHistory: r.MaxHistory,
		Force: r.Upgrade.Force, DisableHooks: r.Install.DisableHooks, UpgradeDisableHooks: r.Upgrade.DisableHooks,
		DriftDetection: helm.DriftMode(r.DriftDetection.Mode),
		CRDs:           helm.CRDPolicy(r.Install.CRDs),
		UpgradeCRDs:    helm.CRDPolicy(r.Upgrade.CRDs),
		CleanupOnFail:  r.Upgrade.CleanupOnFail,
		Install: helm.InstallRemediation{Retries: r.Install.Remediation.Retries,
			KeepLastFailure: !r.Install.Remediation.RemediateLastFailure},
		Upgrade: helm.UpgradeRemediation{Retries: r.Upgrade.Remediation.Retries,
			Strategy:        helm.Remediation(r.Upgrade.Remediation.Strategy),
			KeepLastFailure: !r.Upgrade.Remediation.RemediateLastFailure},
		Rollback: helm.RollbackOptions{Force: r.Rollback.Force, Recreate: r.Rollback.Recreate,
			DisableHooks: r.Rollback.DisableHooks, CleanupOnFail: r.Rollback.CleanupOnFail, Timeout: r.Rollback.Timeout},
		Uninstall: uninstallOptions(r),
	}
	files, err := valuesFiles(e.dir, r)
	if err != nil {
		return spec, "", at(r, "values_files", "Invalid values file", "List files that exist inside the stack directory.", err)
	}
	spec.ValuesFiles = files
	if vf := e.valuesFrom[r.Address().String()]; vf != nil {
		spec.ValuesFrom = vf.layers
	}
	if err := e.decryptValues(r, &spec); err != nil {
		return spec, "", err
	}
	switch {
	case r.Source == nil:
		p, err := chartDir(e.dir, r.Chart)
		if err != nil {
			return spec, "", at(r, "chart", "Invalid chart path", "Set chart to a chart directory inside the stack directory.", err)
		}
		spec.ChartPath = p
	case r.Source.Addr.Kind == config.KindSource && r.Source.Addr.Type == config.SourceGit:
		art, err := e.artifact(r.Source)
		if err != nil {
			return spec, "", err
		}
		p, err := chartDir(art.Dir, r.Chart)
		if err != nil {
			return spec, "", at(r, "chart", "Invalid chart path", "Set chart to a chart directory inside the source's tree.", fmt.Errorf("%s: %w", r.Source.Addr, err))
		}
		spec.ChartPath = p
		revision = art.Revision
	default:
		path, rev, err := e.pullChart(ctx, r)
		if err != nil {
			return spec, "", err
		}
		spec.ChartPath, revision = path, rev
	}
	return spec, revision, nil
}

// valuesFiles returns the real paths of the values files of r, refusing a
// file outside the stack directory dir.
func valuesFiles(dir string, r *config.Release) ([]string, error) {
	var out []string
	for _, f := range r.ValuesFiles {
		p, err := confine.Resolve(dir, f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// chartDir returns the real path of the chart directory name inside root
// (the stack directory or a source tree), refusing a path, or a symbolic
// link in the chart, that leads outside root.
func chartDir(root, name string) (string, error) {
	p, err := confine.Resolve(root, name)
	if err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	if err := confine.Tree(root, p); err != nil {
		return "", fmt.Errorf("chart %s: %w", name, err)
	}
	return p, nil
}

func releaseActions(a helm.Action) plan.Actions {
	switch a {
	case helm.ActionInstall:
		return plan.Actions{plan.Install}
	case helm.ActionUpgrade:
		return plan.Actions{plan.Upgrade}
	case helm.ActionRollback:
		return plan.Actions{plan.Rollback}
	case helm.ActionUninstall:
		return plan.Actions{plan.Uninstall}
	}
	return plan.Actions{plan.NoOp}
}

func (e *Engine) planRelease(ctx context.Context, p *plan.Plan, snap *state.Snapshot, r *config.Release, up *upcoming) error {
	addr := r.Address().String()
	if r.Suspend {
		return nil
	}
	spec, revision, err := e.releaseSpec(ctx, r)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	if msg := renamedRelease(snap, addr, spec.Name, spec.Namespace); msg != "" {
		p.AddError(addr, msg)
		return nil
	}
	spec.UpstreamCRDs, _ = up.upstream(r.Address())
	spec.Owner = e.owner(addr)
	spec.Labels = map[string]string{kube.LabelStack: e.name, kube.LabelBlock: addr}
	if e.stackID != "" {
		spec.Labels[kube.LabelStackID] = e.stackID
	}
	hm, err := e.helmAs(r.ServiceAccount)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	rp, err := hm.Plan(ctx, spec)
	if rf := kube.RefusalOf(err); rf != nil {
		// The rest of the plan is still shown; the error (or the verdict)
		// refuses it. An admission verdict is the release's, naming the
		// refused object.
		address := rf.Ref.Address(addr)
		if rf.Kind == kube.RefusedByAdmission {
			address, rf.Message = addr, rf.Message+" ("+admissionSubject(err)+")"
		}
		n, m := len(p.Errors), len(p.PolicyResults)
		e.planRefusal(p, address, rf, false)
		inTemplate(p, n, m, r, err)
		return nil
	}
	var uh *helm.UnnamedHookError
	if errors.As(err, &uh) {
		// The rest of the plan is still shown; the error refuses it.
		p.AddError(addr, e.secrets.Scrub(capitalized(uh.Error())+"."))
		return nil
	}
	if ir := kube.ImmutableRefusalOf(err); ir != nil {
		// The rest of the plan is still shown; the error refuses it.
		n := len(p.Errors)
		p.AddError(ir.Ref.Address(addr), e.secrets.Scrub(releaseImmutable(addr, ir)))
		inTemplate(p, n, len(p.PolicyResults), r, err)
		return nil
	}
	if m := releaseInputError(r, err); m != nil {
		return fmt.Errorf("%s: %w", addr, m)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	if perr := e.releaseOwnerError(addr, rp.Owner, false); perr != nil {
		p.Errors = append(p.Errors, *perr)
	}
	e.mu.Lock()
	e.releases[addr] = rp
	e.mu.Unlock()
	up.record(addr, rp.Changes)
	rc := plan.ReleaseChange{
		Address: addr, Name: rp.Name, Namespace: rp.Namespace, Actions: releaseActions(rp.Action), Reason: rp.Reason,
		ChartBefore: rp.Chart.Old, ChartAfter: rp.Chart.New,
		VersionBefore: rp.ChartVersion.Old, VersionAfter: rp.ChartVersion.New,
		AppVersionBefore: rp.AppVersion.Old, AppVersionAfter: rp.AppVersion.New,
	}
	b := owning{addr: addr, adopt: r.Adopt, release: rp.Namespace + "/" + rp.Name}
	for _, c := range rp.Changes {
		orc := e.resourceChange(addr, c)
		if !createdNamespace(rp, c) {
			if perr := e.ownershipError(b, c, &orc, up); perr != nil {
				p.Errors = append(p.Errors, *perr)
				continue
			}
		}
		// Helm installs over the objects the plan adopts only when it
		// takes ownership; any other object it would have to take is a
		// plan error above.
		if orc.Adopt {
			rp.Spec.TakeOwnership = true
			rp.Spec.Adopted = append(rp.Spec.Adopted, helm.AdoptedObject{Ref: c.Ref, UID: c.LiveUID, Claim: helm.ClaimOf(c.Before)})
		}
		rc.Changes = append(rc.Changes, orc)
	}
	rc.Hooks = toHooks(rp.Hooks)
	if _, ours := snap.Release(addr); rp.Flux != nil && !ours {
		rc.AdoptedFromFlux = rp.Flux.String()
		rc.Reason = joinReason("installed by Flux ("+rp.Flux.String()+"): adopted in place", rc.Reason)
		e.adoptFromFlux(rp.Flux, addr)
		if rp.Action == helm.ActionNoop {
			p.Record = append(p.Record, addr) // the apply records it in the state
		}
	}
	if _, ours := snap.Release(addr); !ours && unclaimedRelease(rp) {
		if !e.adopts(owning{addr: addr, adopt: r.Adopt}, addr) {
			p.AddError(addr, unclaimedReleaseError(addr, rp))
		} else {
			rc.Reason = joinReason("installed outside strata: adopted", rc.Reason)
			if rp.Action == helm.ActionNoop {
				p.Record = append(p.Record, addr) // the apply records it in the state
			}
		}
	}
	if rp.Drift {
		msg := "objects of the release were changed in the cluster outside strata"
		if rp.Action == helm.ActionNoop {
			msg = fmt.Sprintf("%d object(s) of the release were changed in the cluster outside strata; not corrected (drift_detection = warn)", rp.Drifted)
		}
		p.Drift = append(p.Drift, plan.Drift{Address: addr, Block: addr, Kind: plan.DriftModified, Message: msg})
	}
	p.Releases = append(p.Releases, rc)
	rs := releaseSettings{Name: rp.Name, Namespace: rp.Namespace, ServiceAccount: r.ServiceAccount, Uninstall: uninstallOptions(r)}
	if vf := e.valuesFrom[addr]; vf != nil {
		rs.ValuesFrom = vf.check
	}
	if err := rs.savedRelease(rp, e.secrets); err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	settings, err := json.Marshal(rs)
	if err != nil {
		return fmt.Errorf("%s: settings: %w", addr, err)
	}
	p.Blocks = append(p.Blocks, plan.Block{Address: addr, Kind: string(config.KindRelease), DependsOn: dependsOn(r),
		Revision: revision, ConfigDigest: r.Digest(), Settings: settings})
	return nil
}

// releaseImmutable explains why a release's object cannot be upgraded
// and the way out: Helm updates objects in place (upgrade.force sends a
// replace, which the API server refuses just the same), so the object
// must go before the upgrade can create it again.
func releaseImmutable(block string, r *kube.ImmutableRefusal) string {
	msg := capitalized(r.Message)
	return msg + ". Helm cannot upgrade " + block + ": it updates objects in place, and upgrade.force only makes it send a replace, " +
		"which the API server refuses too. Delete the object by hand (for a workload, kubectl delete --cascade=orphan keeps its pods running; " +
		"a StatefulSet's PersistentVolumeClaims are kept) and plan again: the upgrade then creates it."
}

// capitalized returns s with its first letter upper case, to start a
// sentence of a plan error.
func capitalized(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// createdNamespace reports whether c is the namespace that the install of
// rp creates (create_namespace): Helm creates it outside the release, so it
// is no object of the release to own.
func createdNamespace(rp *helm.ReleasePlan, c kube.Change) bool {
	return rp.Spec.CreateNamespace && c.Ref.Group == "" && c.Ref.Kind == "Namespace" && c.Ref.Name == rp.Namespace
}

// renamedRelease explains why release block addr cannot install the Helm
// release namespace/name when the state records the block as another Helm
// release (a moved block or state mv of a release without name, or a
// changed name or namespace): installing it would leave the recorded one
// installed and unmanaged. "" when the names agree.
func renamedRelease(snap *state.Snapshot, addr, name, namespace string) string {
	sr, ok := snap.Release(addr)
	if !ok || (sr.Name == name && sr.Namespace == namespace) {
		return ""
	}
	return fmt.Sprintf("%s would install Helm release %s/%s, but the state records it as Helm release %s/%s "+
		"(moved from another block, or its name or namespace changed): strata does not rename Helm releases, "+
		"and installing the new one would leave %s/%s installed and unmanaged. "+
		"To keep it, set name = %q and namespace = %q in %s; to replace it, remove the block (and its moved block) "+
		"and apply, which uninstalls %s/%s, then add it back",
		addr, namespace, name, sr.Namespace, sr.Name, sr.Namespace, sr.Name, sr.Name, sr.Namespace, addr, sr.Namespace, sr.Name)
}

// releasePendingInstall is the status of a release that the state records
// before installing it (see recordInstall).
const releasePendingInstall = "pending-install"

// recordInstall writes to the state, before release block b installs a
// release the state does not list, the release with revision 0 and status
// pending-install (and a block applied for the first time as failed), so
// that an apply killed during the install leaves a trace: removing the
// block then uninstalls what the install created, and drift reports it.
// The apply records the outcome over it.
func (a *applier) recordInstall(b *plan.Block, rp *helm.ReleasePlan, settings releaseSettings) error {
	a.mu.Lock()
	_, known := a.snap.Release(b.Address)
	a.mu.Unlock()
	if known || rp.Action != helm.ActionInstall {
		return nil
	}
	return a.record(func(s *state.Snapshot) {
		s.PutRelease(settings.recorded(state.Release{Address: b.Address, Name: rp.Name, Namespace: rp.Namespace,
			Chart: rp.Chart.New, Version: rp.ChartVersion.New, Status: releasePendingInstall}))
		if _, ok := s.Block(b.Address); !ok {
			s.PutBlock(state.Block{Address: b.Address, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
				AppliedAt: a.e.opts.Now().UTC(), Status: state.StatusFailed, DependsOn: b.DependsOn})
		}
	})
}

// unclaimedRelease reports whether the release rp plans exists in the
// cluster and no record of it names an owner: neither a strata stack (its
// labels, see helm.OwnerOfHistory) nor Flux. Such a release may be another
// stack's (installed by an older strata, or relabelled by hand), so a
// stack whose state does not list it takes it only when asked to adopt it,
// as it does objects.
func unclaimedRelease(rp *helm.ReleasePlan) bool {
	return rp.Revision > 0 && rp.Action != helm.ActionInstall && rp.Owner == nil && rp.Flux == nil
}

// unclaimedReleaseError is the plan error for an unclaimedRelease that the
// plan does not adopt.
func unclaimedReleaseError(addr string, rp *helm.ReleasePlan) string {
	return fmt.Sprintf("Helm release %s/%s exists in the cluster (revision %d) but is not in this stack's state, and none of its records "+
		"carries a strata stack's labels: it was installed with the Helm CLI, by another tool or by an older strata, possibly for another stack. "+
		"To take it over, set adopt = true in %s or run strata apply --adopt %s; otherwise give the release another name or namespace",
		rp.Namespace, rp.Name, rp.Revision, addr, addr)
}

// releaseOwnerError returns a plan error for release block addr when the
// release's records name another stack as their owner (o, from strata's
// labels on Helm's storage): strata never installs over, upgrades or
// uninstalls (uninstall) another stack's release. A release without
// strata's labels (installed by Helm, or by a strata before release
// labels) is refused unless adopted (see unclaimedRelease).
func (e *Engine) releaseOwnerError(addr string, o *kube.Owner, uninstall bool) *plan.Error {
	if o == nil || o.StackID == "" || e.stackID == "" || o.StackID == e.stackID {
		return nil
	}
	who := fmt.Sprintf("%s/%s (stack id %s)", o.Stack, o.Block, o.StackID)
	msg := "the release belongs to another stack, " + who + ": strata does not change releases of another stack. " +
		"Give the release another name or namespace, or remove it from one of the two stacks; if that stack no longer exists, " +
		"remove the strata.dev labels from the release's records in Helm's storage and adopt it"
	if uninstall {
		msg = "the release belongs to another stack, " + who + ": strata does not uninstall releases of another stack. " +
			"Run strata state rm " + addr + " to forget it"
	}
	return &plan.Error{Address: addr, Message: msg}
}

// removedReleaseOwner returns the owner strata's labels name on the
// latest record of the release rs names that carries them, nil when none
// does.
func (e *Engine) removedReleaseOwner(ctx context.Context, rs releaseSettings) (*kube.Owner, error) {
	hm, err := e.helmAs(rs.ServiceAccount)
	if err != nil {
		return nil, err
	}
	hist, err := hm.History(ctx, rs.Name, rs.Namespace)
	if err != nil || len(hist) == 0 {
		return nil, err
	}
	return helm.OwnerOfHistory(hist), nil
}

// uninstallHooks lists the hooks an uninstall of the release runs.
func (e *Engine) uninstallHooks(ctx context.Context, rs releaseSettings) ([]plan.Hook, error) {
	hm, err := e.helmAs(rs.ServiceAccount)
	if err != nil {
		return nil, err
	}
	hooks, err := hm.UninstallHooks(ctx, rs.Name, rs.Namespace, rs.Uninstall.DisableHooks)
	return toHooks(hooks), err
}

// toHooks converts the provider's hooks to the plan model.
func toHooks(hooks []helm.Hook) []plan.Hook {
	var out []plan.Hook
	for _, h := range hooks {
		out = append(out, plan.Hook{Kind: h.Kind, Name: h.Name, Events: h.Events, Weight: h.Weight, DeletePolicies: h.DeletePolicies})
	}
	return out
}

// helmEvents forwards the provider's events as messages of the block.
func (a *applier) helmEvents(addr string) (chan<- helm.Event, func()) {
	ch := make(chan helm.Event, 16)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		for ev := range ch {
			msg := string(ev.Type) + " " + string(ev.Action)
			if ev.Message != "" {
				msg += ": " + ev.Message
			}
			if ev.Err != nil {
				msg += ": " + ev.Err.Error()
			}
			a.e.emit(Event{Type: ReleaseEvent, Block: addr, Message: msg, Elapsed: time.Since(start)})
		}
	})
	return ch, func() { close(ch); wg.Wait() }
}

func (a *applier) applyRelease(ctx context.Context, b *plan.Block) (added, changed, destroyed int, err error) {
	var settings releaseSettings
	if len(b.Settings) > 0 {
		if err := json.Unmarshal(b.Settings, &settings); err != nil {
			return 0, 0, 0, fmt.Errorf("settings: %w", err)
		}
	}
	hm, err := a.prov.Helm(settings.ServiceAccount)
	if err != nil {
		return 0, 0, 0, err
	}
	if b.Remove {
		if settings.Name == "" {
			a.mu.Lock()
			rel, ok := a.snap.Release(b.Address)
			a.mu.Unlock()
			if !ok {
				return 0, 0, 0, a.record(func(s *state.Snapshot) { s.Remove(b.Address) })
			}
			settings.Name, settings.Namespace = rel.Name, rel.Namespace
		}
		events, done := a.helmEvents(b.Address)
		_, err := hm.Uninstall(ctx, settings.Name, settings.Namespace, settings.Uninstall, events)
		done()
		if err != nil {
			return 0, 0, 0, err
		}
		return 0, 0, 1, a.record(func(s *state.Snapshot) { s.Remove(b.Address) })
	}
	a.e.mu.Lock()
	rp := a.e.releases[b.Address]
	a.e.mu.Unlock()
	if rp == nil {
		// Apply restores the release plans of a saved plan before the walk
		// (checkReleases); a change without one cannot be carried out.
		for _, rc := range a.p.Releases {
			if rc.Address == b.Address && !rc.Actions.IsNoOp() {
				return 0, 0, 0, errors.New("the saved plan holds no chart and values for this release: run strata plan again")
			}
		}
	}
	if rp == nil || !rp.HasChanges() {
		return 0, 0, 0, a.record(func(s *state.Snapshot) {
			if rel, ok := s.Release(b.Address); ok {
				s.PutRelease(settings.recorded(rel))
			} else if rp != nil && rp.Flux != nil && rp.Revision > 0 {
				// Adopted from Flux as it is: from now on strata's, so
				// that removing the block uninstalls it.
				s.PutRelease(settings.recorded(state.Release{Address: b.Address, Name: rp.Name, Namespace: rp.Namespace,
					Chart: rp.Chart.New, Version: rp.ChartVersion.New, ValuesDigest: rp.ValuesDigest.New, Revision: rp.Revision, Status: rp.Status}))
			}
			s.PutBlock(state.Block{Address: b.Address, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
				AppliedAt: a.e.opts.Now().UTC(), Status: state.StatusApplied, DependsOn: b.DependsOn})
		})
	}
	if err := a.recordInstall(b, rp, settings); err != nil {
		return 0, 0, 0, err
	}
	events, done := a.helmEvents(b.Address)
	res, err := hm.Apply(ctx, rp, events)
	done()
	status := state.StatusApplied
	if err != nil {
		status = state.StatusFailed
	}
	if res != nil {
		switch res.Action {
		case helm.ActionInstall:
			added = 1
		case helm.ActionUpgrade, helm.ActionRollback:
			changed = 1
		}
	}
	rerr := a.record(func(s *state.Snapshot) {
		if res != nil {
			s.PutRelease(settings.recorded(state.Release{Address: b.Address, Name: res.Name, Namespace: res.Namespace, Chart: res.Chart,
				Version: res.ChartVersion, ValuesDigest: res.ValuesDigest, Revision: res.Revision, Status: res.Status}))
		}
		s.PutBlock(state.Block{Address: b.Address, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
			AppliedAt: a.e.opts.Now().UTC(), Status: status, DependsOn: b.DependsOn})
	})
	return added, changed, destroyed, errors.Join(err, rerr)
}
