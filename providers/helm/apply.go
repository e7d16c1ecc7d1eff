package helm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

func (m *Manager) emit(ctx context.Context, events chan<- Event, e Event) {
	if events == nil {
		return
	}
	select {
	case events <- e:
	case <-ctx.Done():
	}
}

func (m *Manager) timeout(spec ReleaseSpec) time.Duration {
	if spec.Timeout > 0 {
		return spec.Timeout
	}
	return m.opts.DefaultTimeout
}

func (m *Manager) maxHistory(spec ReleaseSpec) int {
	switch {
	case spec.MaxHistory < 0:
		return 0 // Helm: 0 is unlimited
	case spec.MaxHistory == 0:
		return m.opts.DefaultMaxHistory
	}
	return spec.MaxHistory
}

// resultOf describes a release as state records it.
func resultOf(rel *release.Release, a Action) *Result {
	r := &Result{Name: rel.Name, Namespace: rel.Namespace, Action: a, Revision: rel.Version, ValuesDigest: ValuesDigest(rel.Config)}
	if rel.Info != nil {
		r.Status = rel.Info.Status.String()
	}
	r.Chart = chartName(rel.Chart)
	r.ChartVersion, r.AppVersion = chartVersion(rel.Chart)
	return r
}

// Apply carries out a plan and reports progress on events (nil discards
// them). It refuses, with ErrStalePlan, a plan whose release got another
// revision since it was made. The Result is filled even when an error is
// returned, describing what the release was left as.
func (m *Manager) Apply(ctx context.Context, p *ReleasePlan, events chan<- Event) (*Result, error) {
	if p == nil {
		return nil, errors.New("helm: nil plan")
	}
	spec := p.Spec
	defer m.forgetCapabilities()
	// Blocks applied before this one may have created CRDs that the
	// release's objects use: the cached discovery would not know their
	// kinds, and the deferred mapper does not refresh a fresh cache.
	m.refreshDiscovery()
	cfg, err := m.actionConfig(ctx, p.Namespace)
	if err != nil {
		return nil, err
	}
	last, _, err := releases(cfg, p.Name)
	if err != nil {
		return nil, err
	}
	rev := 0
	if last != nil {
		rev = last.Version
	}
	if rev != p.Revision {
		return nil, fmt.Errorf("release %s/%s: revision %d, planned at %d: %w", p.Namespace, p.Name, rev, p.Revision, ErrStalePlan)
	}
	switch p.Action {
	case ActionNoop:
		if last == nil {
			return &Result{Name: p.Name, Namespace: p.Namespace, Action: ActionNoop}, nil
		}
		return resultOf(last, ActionNoop), nil
	case ActionUninstall:
		return m.Uninstall(ctx, p.Name, p.Namespace, spec.Uninstall, events)
	case ActionRollback:
		return m.rollback(ctx, cfg, p, events)
	case ActionInstall, ActionUpgrade:
	default:
		return nil, fmt.Errorf("release %s/%s: unknown action %q", p.Namespace, p.Name, p.Action)
	}
	if err := m.checkAdopted(ctx, p); err != nil {
		return nil, err
	}
	ch, err := loadChart(spec)
	if err != nil {
		return nil, err
	}
	vals := p.values
	if vals == nil {
		if vals, err = MergeValues(spec.ValuesFiles, spec.ValuesFrom, spec.Values); err != nil {
			return nil, fmt.Errorf("release %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	// A plan read back from a file carries neither chart nor values: the
	// caller supplies them again, and they must be what was planned.
	if err := checkSpec(p, ch, vals); err != nil {
		return nil, err
	}
	if last != nil && last.Info.Status.IsPending() {
		// A process died mid-operation; Helm refuses to go on until the
		// revision is marked failed.
		last.SetStatus(release.StatusFailed, "marked failed by strata: stuck in "+last.Info.Status.String())
		if err := cfg.Releases.Update(last); err != nil {
			return nil, fmt.Errorf("release %s/%s: unlock pending revision: %w", p.Namespace, p.Name, err)
		}
	}

	var (
		res      *Result
		lastErr  error
		attempts int
	)
	for attempt := 1; ; attempt++ {
		attempts = attempt
		if err := ctx.Err(); err != nil {
			return res, err
		}
		cur, deployed, err := releases(cfg, p.Name)
		if err != nil {
			return res, err
		}
		install := cur == nil || cur.Info.Status == release.StatusUninstalled
		act := ActionUpgrade
		if install {
			act = ActionInstall
		}
		// strata writes the chart's CRDs itself, before the operation, and
		// waits until the cluster serves their kinds: Helm's own install
		// stops waiting at Established, a moment before discovery lists
		// the kinds the release's objects use.
		crdPolicy := upgradeCRDs(spec)
		if install {
			crdPolicy = installCRDs(spec)
		}
		if crdPolicy == CRDsCreateReplace || crdPolicy == CRDsCreate {
			n, err := m.applyCRDs(ctx, cfg, ch, crdPolicy == CRDsCreateReplace)
			if err != nil {
				return res, fmt.Errorf("release %s/%s: %w", p.Namespace, p.Name, err)
			}
			if n > 0 {
				m.emit(ctx, events, Event{Type: EventCRDs, Name: p.Name, Namespace: p.Namespace, Action: act, Message: fmt.Sprintf("%d CRD(s) written", n)})
			}
		}
		m.emit(ctx, events, Event{Type: EventStarted, Name: p.Name, Namespace: p.Namespace, Action: act, Attempt: attempt})
		var rel *release.Release
		if install {
			in := action.NewInstall(cfg)
			in.ReleaseName, in.Namespace = p.Name, p.Namespace
			in.CreateNamespace = spec.CreateNamespace
			in.SkipCRDs = true // handled above, as the policy says
			in.Wait, in.WaitForJobs = !spec.DisableWait, !spec.DisableWait
			in.Timeout = m.timeout(spec)
			in.DisableHooks = spec.DisableHooks
			in.Replace = cur != nil // reuse the name of an uninstalled release
			in.TakeOwnership = spec.TakeOwnership
			in.Labels = spec.Labels
			rel, err = in.RunWithContext(ctx, ch, vals)
		} else {
			up := action.NewUpgrade(cfg)
			up.Namespace = p.Namespace
			up.SkipCRDs = true // handled above, as the policy says
			up.Wait, up.WaitForJobs = !spec.DisableWait, !spec.DisableWait
			up.Timeout = m.timeout(spec)
			up.MaxHistory = m.maxHistory(spec)
			up.ResetValues = true // the spec's values are the whole truth
			up.Force = spec.Force
			up.CleanupOnFail = spec.CleanupOnFail
			up.DisableHooks = spec.UpgradeDisableHooks
			up.TakeOwnership = spec.TakeOwnership
			up.Labels = spec.Labels
			rel, err = up.RunWithContext(ctx, p.Name, ch, vals)
		}
		if err == nil {
			res = resultOf(rel, p.Action)
			res.Attempts = attempts
			m.emit(ctx, events, Event{Type: EventDone, Name: p.Name, Namespace: p.Namespace, Action: act, Attempt: attempt, Message: res.Status})
			return res, nil
		}
		lastErr = fmt.Errorf("release %s/%s: %s failed: %w", p.Namespace, p.Name, act, err)
		m.emit(ctx, events, Event{Type: EventFailed, Name: p.Name, Namespace: p.Namespace, Action: act, Attempt: attempt, Err: err})

		retries, keepLast, strategy := spec.Upgrade.Retries, spec.Upgrade.KeepLastFailure, spec.Upgrade.Strategy
		if install {
			retries, keepLast, strategy = spec.Install.Retries, spec.Install.KeepLastFailure, RemediateUninstall
		}
		if strategy == "" {
			strategy = RemediateRollback
		}
		final := attempt > retries
		if !(final && keepLast) && strategy != RemediateNone {
			remediated, rerr := m.remediate(ctx, cfg, p, spec, strategy, deployed, events)
			if rerr != nil {
				lastErr = fmt.Errorf("%w; remediation (%s) failed: %v", lastErr, strategy, rerr)
			} else if remediated != "" {
				if res == nil {
					res = &Result{Name: p.Name, Namespace: p.Namespace}
				}
				res.Remediated = remediated
			}
		}
		if final {
			break
		}
		m.emit(ctx, events, Event{Type: EventRetry, Name: p.Name, Namespace: p.Namespace, Action: act, Attempt: attempt + 1})
	}
	res = m.resultNow(cfg, p, res)
	res.Attempts = attempts
	return res, lastErr
}

// resultNow reads what the release is after a failed apply.
func (m *Manager) resultNow(cfg *action.Configuration, p *ReleasePlan, prev *Result) *Result {
	out := &Result{Name: p.Name, Namespace: p.Namespace, Action: p.Action}
	if last, _, err := releases(cfg, p.Name); err == nil && last != nil {
		out = resultOf(last, p.Action)
	}
	if prev != nil {
		out.Remediated = prev.Remediated
	}
	return out
}

// remediate rolls a failed upgrade back to the revision deployed before it
// or uninstalls the failed release.
func (m *Manager) remediate(ctx context.Context, cfg *action.Configuration, p *ReleasePlan, spec ReleaseSpec, strategy Remediation, deployed *release.Release, events chan<- Event) (Remediation, error) {
	switch strategy {
	case RemediateRollback:
		if deployed == nil {
			return "", nil // nothing to roll back to
		}
		rb := m.newRollback(cfg, spec, deployed.Version)
		if err := rb.Run(p.Name); err != nil {
			return "", err
		}
		m.emit(ctx, events, Event{Type: EventRemediated, Name: p.Name, Namespace: p.Namespace, Action: ActionRollback,
			Message: fmt.Sprintf("rolled back to revision %d", deployed.Version)})
		return RemediateRollback, nil
	case RemediateUninstall:
		un := action.NewUninstall(cfg)
		un.Wait = !spec.DisableWait
		un.Timeout = m.timeout(spec)
		if spec.Uninstall.Timeout > 0 {
			un.Timeout = spec.Uninstall.Timeout
		}
		un.DisableHooks = spec.Uninstall.DisableHooks
		un.IgnoreNotFound = true
		if _, err := un.Run(p.Name); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
			return "", err
		}
		m.emit(ctx, events, Event{Type: EventRemediated, Name: p.Name, Namespace: p.Namespace, Action: ActionUninstall, Message: "uninstalled"})
		return RemediateUninstall, nil
	}
	return "", nil
}

// newRollback returns Helm's rollback to version, configured by the spec's
// rollback options (Flux's spec.rollback); its timeout defaults to the
// spec's.
func (m *Manager) newRollback(cfg *action.Configuration, spec ReleaseSpec, version int) *action.Rollback {
	o := spec.Rollback
	rb := action.NewRollback(cfg)
	rb.Version = version
	rb.Wait, rb.WaitForJobs = !spec.DisableWait, !spec.DisableWait
	rb.Timeout = m.timeout(spec)
	if o.Timeout > 0 {
		rb.Timeout = o.Timeout
	}
	rb.CleanupOnFail = o.CleanupOnFail
	rb.MaxHistory = m.maxHistory(spec)
	rb.DisableHooks = o.DisableHooks
	rb.Force = o.Force
	rb.Recreate = o.Recreate
	return rb
}

// rollback returns a failed release to the revision the plan names.
func (m *Manager) rollback(ctx context.Context, cfg *action.Configuration, p *ReleasePlan, events chan<- Event) (*Result, error) {
	spec := p.Spec
	m.emit(ctx, events, Event{Type: EventStarted, Name: p.Name, Namespace: p.Namespace, Action: ActionRollback, Attempt: 1})
	err := m.newRollback(cfg, spec, p.RollbackTo).Run(p.Name)
	res := m.resultNow(cfg, p, nil)
	res.Attempts = 1
	if err != nil {
		m.emit(ctx, events, Event{Type: EventFailed, Name: p.Name, Namespace: p.Namespace, Action: ActionRollback, Attempt: 1, Err: err})
		return res, fmt.Errorf("release %s/%s: rollback to revision %d failed: %w", p.Namespace, p.Name, p.RollbackTo, err)
	}
	m.emit(ctx, events, Event{Type: EventDone, Name: p.Name, Namespace: p.Namespace, Action: ActionRollback, Attempt: 1, Message: res.Status})
	return res, nil
}

// Uninstall removes a release and its objects, waiting until they are gone,
// as opts say: KeepHistory keeps its revisions in Helm's storage (status
// uninstalled), DisableHooks skips its delete hooks, Timeout bounds it
// (default: the manager's DefaultTimeout). A release that does not exist is
// not an error.
func (m *Manager) Uninstall(ctx context.Context, name, namespace string, opts UninstallOptions, events chan<- Event) (*Result, error) {
	keepHistory := opts.KeepHistory
	cfg, err := m.actionConfig(ctx, namespace)
	if err != nil {
		return nil, err
	}
	defer m.forgetCapabilities()
	res := &Result{Name: name, Namespace: namespace, Action: ActionUninstall}
	last, _, err := releases(cfg, name)
	if err != nil {
		return nil, err
	}
	if last == nil || (last.Info.Status == release.StatusUninstalled && keepHistory) {
		return res, nil
	}
	m.emit(ctx, events, Event{Type: EventStarted, Name: name, Namespace: namespace, Action: ActionUninstall, Attempt: 1})
	un := action.NewUninstall(cfg)
	un.KeepHistory = keepHistory
	un.Wait = true
	un.Timeout = m.opts.DefaultTimeout
	if opts.Timeout > 0 {
		un.Timeout = opts.Timeout
	}
	un.DisableHooks = opts.DisableHooks
	un.IgnoreNotFound = true
	ur, err := un.Run(name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		m.emit(ctx, events, Event{Type: EventFailed, Name: name, Namespace: namespace, Action: ActionUninstall, Attempt: 1, Err: err})
		return res, fmt.Errorf("release %s/%s: uninstall: %w", namespace, name, err)
	}
	if keepHistory && ur != nil && ur.Release != nil {
		res = resultOf(ur.Release, ActionUninstall)
	}
	m.emit(ctx, events, Event{Type: EventDone, Name: name, Namespace: namespace, Action: ActionUninstall, Attempt: 1, Message: "uninstalled"})
	return res, nil
}
