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
	// RollbackTo, when not 0, says that the hook is not one of the planned
	// action's but a rollback hook of revision RollbackTo, the deployed
	// revision, which the rollback that remediates a failed upgrade
	// returns to (Helm runs the hooks of the revision it rolls back to).
	RollbackTo int
}

func (e *UnnamedHookError) Error() string {
	if e.RollbackTo > 0 {
		return fmt.Sprintf("the %s hook %s from %s of revision %d has no metadata.name (a generateName only): "+
			"if the upgrade fails, the rollback that remediates it (upgrade.remediation, strategy rollback) returns to revision %d, "+
			"and Helm would create the hook and then fail the rollback looking it up by name, leaving the release failed; "+
			"set rollback.disable_hooks = true (until a revision whose hooks have names is deployed), "+
			"or keep failed upgrades instead of rolling them back (upgrade.remediation: retries = 0, remediate_last_failure = false)",
			strings.Join(e.Events, ", "), e.Kind, e.Path, e.RollbackTo, e.RollbackTo)
	}
	return fmt.Sprintf("the %s hook %s from %s has no metadata.name (a generateName only): Helm would create it and then fail the %s looking it up by name; give the hook a name, or set %s = true",
		strings.Join(e.Events, ", "), e.Kind, e.Path, e.Action, disableHooksSetting[e.Action])
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

// rollsBackFailedUpgrade reports whether a failed upgrade of spec is
// rolled back (Apply's remediation): the strategy is rollback (the
// default) and some failure is remediated, an earlier attempt (retries) or
// the last one (not KeepLastFailure).
func rollsBackFailedUpgrade(spec ReleaseSpec) bool {
	u := spec.Upgrade
	return (u.Strategy == "" || u.Strategy == RemediateRollback) && (u.Retries > 0 || !u.KeepLastFailure)
}

// unnamedRollbackHook returns the *UnnamedHookError of the first rollback
// hook without a metadata.name of deployed, the revision that the rollback
// remediating a failed upgrade of spec returns to; nil when there is none,
// hooks of rollbacks are disabled, or a failed upgrade is not rolled back.
func unnamedRollbackHook(deployed *release.Release, spec ReleaseSpec) error {
	if deployed == nil || !rollsBackFailedUpgrade(spec) {
		return nil
	}
	err := unnamedHook(deployed.Hooks, ActionRollback, spec.Rollback.DisableHooks)
	if uh := (*UnnamedHookError)(nil); errors.As(err, &uh) {
		uh.RollbackTo = deployed.Version
	}
	return err
}
