package helm

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/release"
)

// Hook is a chart hook (an object annotated helm.sh/hook) that an
// operation runs: Helm creates it at the hook's events, waits for it (a Job
// until it completes) and deletes it as its delete policies say.
type Hook struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Events are the hook's events that the operation fires, in order:
	// "pre-install", "post-install", ...
	Events []string `json:"events"`
	// Weight orders the hooks of one event (helm.sh/hook-weight).
	Weight int `json:"weight,omitempty"`
	// DeletePolicies are the helm.sh/hook-delete-policy values.
	DeletePolicies []string `json:"delete_policies,omitempty"`
}

// hookEvents are the events each action fires, in the order it fires them.
var hookEvents = map[Action][]release.HookEvent{
	ActionInstall:   {release.HookPreInstall, release.HookPostInstall},
	ActionUpgrade:   {release.HookPreUpgrade, release.HookPostUpgrade},
	ActionRollback:  {release.HookPreRollback, release.HookPostRollback},
	ActionUninstall: {release.HookPreDelete, release.HookPostDelete},
}

// hooksRun lists the hooks that action runs, in Helm's order (weight, then
// name), or none when hooks are disabled.
func hooksRun(hooks []*release.Hook, action Action, disabled bool) []Hook {
	if disabled {
		return nil
	}
	events := hookEvents[action]
	var out []Hook
	for _, h := range hooks {
		hk := Hook{Kind: h.Kind, Name: h.Name, Weight: h.Weight}
		for _, ev := range events {
			if slices.Contains(h.Events, ev) {
				hk.Events = append(hk.Events, string(ev))
			}
		}
		if len(hk.Events) == 0 {
			continue
		}
		for _, p := range h.DeletePolicies {
			hk.DeletePolicies = append(hk.DeletePolicies, string(p))
		}
		out = append(out, hk)
	}
	slices.SortStableFunc(out, func(a, b Hook) int {
		if a.Weight != b.Weight {
			return a.Weight - b.Weight
		}
		return strings.Compare(a.Kind+"/"+a.Name, b.Kind+"/"+b.Name)
	})
	return out
}

// disableHooksSetting names the setting that skips the hooks of an action.
var disableHooksSetting = map[Action]string{
	ActionInstall: "install.disable_hooks", ActionUpgrade: "upgrade.disable_hooks",
	ActionRollback: "rollback.disable_hooks", ActionUninstall: "uninstall.disable_hooks",
}

// UnnamedHookError is a hook that an action runs without a metadata.name
// (a generateName only): Helm creates such a hook and then fails the
// action looking it up by its empty name ("resource name may not be
// empty"), so a plan that lists it would fail at apply.
type UnnamedHookError struct {
	Action Action
	// Kind, Path and Events describe the hook: its kind, its template and
	// the events of Action it runs at.
	Kind, Path string
	Events     []string
	// Remediates, when set, says that the hook is not one of the planned
	// action's but one that the remediation of a failed Remediates
	// (install or upgrade) runs: the rollback to revision RollbackTo, the
	// deployed revision (Helm runs the hooks of the revision it rolls back
	// to), or, when RollbackTo is 0, the uninstall of the failed revision.
	Remediates Action
	RollbackTo int
}

func (e *UnnamedHookError) Error() string {
	if e.Remediates != "" {
		return e.remediationError()
	}
	return fmt.Sprintf("the %s hook %s from %s has no metadata.name (a generateName only): Helm would create it and then fail the %s looking it up by name; give the hook a name, or set %s = true",
		strings.Join(e.Events, ", "), e.Kind, e.Path, e.Action, disableHooksSetting[e.Action])
}

// remediationError is Error for a hook that a remediation runs.
func (e *UnnamedHookError) remediationError() string {
	of, by, setting := "", fmt.Sprintf("the uninstall that remediates it (%s.remediation)", e.Remediates), "uninstall.disable_hooks"
	if e.RollbackTo > 0 {
		of = fmt.Sprintf(" of revision %d", e.RollbackTo)
		by = fmt.Sprintf("the rollback that remediates it (upgrade.remediation, strategy rollback) returns to revision %d, and it", e.RollbackTo)
		setting = "rollback.disable_hooks"
	}
	return fmt.Sprintf("the %s hook %s from %s%s has no metadata.name (a generateName only): if the %s fails, %s "+
		"would create the hook and then fail looking it up by name, leaving the release failed; "+
		"set %s = true (until a revision whose hooks have names is deployed), "+
		"or keep a failed %s instead of remediating it (%s.remediation: retries = 0, remediate_last_failure = false)",
		strings.Join(e.Events, ", "), e.Kind, e.Path, of, e.Remediates, by, setting, e.Remediates, e.Remediates)
}

// unnamedHook returns the *UnnamedHookError of the first hook that action
// runs without a metadata.name, nil when there is none.
func unnamedHook(hooks []*release.Hook, action Action, disabled bool) error {
	for _, h := range hooks {
		if h.Name != "" {
			continue
		}
		for _, run := range hooksRun([]*release.Hook{h}, action, disabled) {
			return &UnnamedHookError{Action: action, Kind: h.Kind, Path: h.Path, Events: run.Events}
		}
	}
	return nil
}

// remediation returns how a failed action (install or upgrade) of spec is
// remediated by Apply: RemediateNone when no failure is, because the last
// one is kept and there are no retries.
func remediation(spec ReleaseSpec, action Action) Remediation {
	if action == ActionInstall {
		if spec.Install.Retries == 0 && spec.Install.KeepLastFailure {
			return RemediateNone
		}
		return RemediateUninstall
	}
	u := spec.Upgrade
	if u.Retries == 0 && u.KeepLastFailure {
		return RemediateNone
	}
	if u.Strategy == "" {
		return RemediateRollback
	}
	return u.Strategy
}

// unnamedRemediationHook returns the *UnnamedHookError of the first hook
// without a metadata.name that the remediation of a failed action
// (install or upgrade) of spec runs, nil when there is none: the delete
// hooks of the failed revision (hooks, the chart's) for an uninstall, the
// rollback hooks of deployed, the revision a rollback returns to.
func unnamedRemediationHook(spec ReleaseSpec, action Action, hooks []*release.Hook, deployed *release.Release) error {
	var err error
	rollbackTo := 0
	switch remediation(spec, action) {
	case RemediateUninstall:
		err = unnamedHook(hooks, ActionUninstall, spec.Uninstall.DisableHooks)
	case RemediateRollback:
		if deployed == nil {
			return nil // nothing to roll back to
		}
		err, rollbackTo = unnamedHook(deployed.Hooks, ActionRollback, spec.Rollback.DisableHooks), deployed.Version
	}
	if uh := (*UnnamedHookError)(nil); errors.As(err, &uh) {
		uh.Remediates, uh.RollbackTo = action, rollbackTo
	}
	return err
}
