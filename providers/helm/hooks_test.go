package helm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/release"
)

func TestHooksRun(t *testing.T) {
	hooks := []*release.Hook{
		{Kind: "Job", Name: "notify", Events: []release.HookEvent{release.HookPostInstall, release.HookPostUpgrade}},
		{Kind: "Job", Name: "migrate", Weight: -5, Events: []release.HookEvent{release.HookPreUpgrade, release.HookPreInstall},
			DeletePolicies: []release.HookDeletePolicy{release.HookSucceeded}},
		{Kind: "Pod", Name: "test", Events: []release.HookEvent{release.HookTest}},
		{Kind: "Job", Name: "backup", Events: []release.HookEvent{release.HookPreRollback, release.HookPreDelete}},
	}
	tests := map[string]struct {
		action   Action
		disabled bool
		want     []Hook
	}{
		"install": {action: ActionInstall, want: []Hook{
			{Kind: "Job", Name: "migrate", Events: []string{"pre-install"}, Weight: -5, DeletePolicies: []string{"hook-succeeded"}},
			{Kind: "Job", Name: "notify", Events: []string{"post-install"}},
		}},
		"upgrade": {action: ActionUpgrade, want: []Hook{
			{Kind: "Job", Name: "migrate", Events: []string{"pre-upgrade"}, Weight: -5, DeletePolicies: []string{"hook-succeeded"}},
			{Kind: "Job", Name: "notify", Events: []string{"post-upgrade"}},
		}},
		"rollback":           {action: ActionRollback, want: []Hook{{Kind: "Job", Name: "backup", Events: []string{"pre-rollback"}}}},
		"uninstall":          {action: ActionUninstall, want: []Hook{{Kind: "Job", Name: "backup", Events: []string{"pre-delete"}}}},
		"hooks disabled":     {action: ActionInstall, disabled: true},
		"no-op runs no hook": {action: ActionNoop},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := hooksRun(hooks, tc.action, tc.disabled)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hooks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnnamedHook(t *testing.T) {
	hooks := []*release.Hook{
		{Kind: "Job", Name: "migrate", Path: "web/templates/migrate.yaml", Events: []release.HookEvent{release.HookPreInstall}},
		{Kind: "ConfigMap", Path: "web/templates/ran.yaml", Events: []release.HookEvent{release.HookPostUpgrade, release.HookPostRollback}},
	}
	tests := map[string]struct {
		action   Action
		disabled bool
		want     string
	}{
		"install runs named hooks only": {action: ActionInstall},
		"upgrade runs the unnamed hook": {action: ActionUpgrade, want: "the post-upgrade hook ConfigMap from web/templates/ran.yaml has no metadata.name " +
			"(a generateName only): Helm would create it and then fail the upgrade looking it up by name; give the hook a name, or set upgrade.disable_hooks = true"},
		"rollback runs it too":   {action: ActionRollback, want: "set rollback.disable_hooks = true"},
		"upgrade without hooks":  {action: ActionUpgrade, disabled: true},
		"uninstall runs no hook": {action: ActionUninstall},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := unnamedHook(hooks, tc.action, tc.disabled)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("unnamedHook = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRollsBackFailedUpgrade: which upgrade remediations roll back, and so
// run the deployed revision's rollback hooks.
func TestRollsBackFailedUpgrade(t *testing.T) {
	tests := map[string]struct {
		u    UpgradeRemediation
		want bool
	}{
		"default strategy, last failure remediated": {UpgradeRemediation{}, true},
		"last failure kept, no retries":             {UpgradeRemediation{KeepLastFailure: true}, false},
		"last failure kept, retries rolled back":    {UpgradeRemediation{KeepLastFailure: true, Retries: 1}, true},
		"rollback strategy":                         {UpgradeRemediation{Strategy: RemediateRollback}, true},
		"uninstall strategy":                        {UpgradeRemediation{Strategy: RemediateUninstall, Retries: 2}, false},
		"no remediation":                            {UpgradeRemediation{Strategy: RemediateNone, Retries: 2}, false},
	}
	for name, tc := range tests {
		if got := rollsBackFailedUpgrade(ReleaseSpec{Upgrade: tc.u}); got != tc.want {
			t.Errorf("%s: rollsBackFailedUpgrade = %v, want %v", name, got, tc.want)
		}
	}
}
