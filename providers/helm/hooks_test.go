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

// TestRemediation: how a failed install or upgrade is remediated, and so
// which hooks the remediation runs.
func TestRemediation(t *testing.T) {
	tests := map[string]struct {
		spec   ReleaseSpec
		action Action
		want   Remediation
	}{
		"upgrade: default strategy, last failure remediated": {ReleaseSpec{}, ActionUpgrade, RemediateRollback},
		"upgrade: last failure kept, no retries":             {ReleaseSpec{Upgrade: UpgradeRemediation{KeepLastFailure: true}}, ActionUpgrade, RemediateNone},
		"upgrade: last failure kept, retries rolled back":    {ReleaseSpec{Upgrade: UpgradeRemediation{KeepLastFailure: true, Retries: 1}}, ActionUpgrade, RemediateRollback},
		"upgrade: uninstall strategy":                        {ReleaseSpec{Upgrade: UpgradeRemediation{Strategy: RemediateUninstall, Retries: 2}}, ActionUpgrade, RemediateUninstall},
		"upgrade: no remediation":                            {ReleaseSpec{Upgrade: UpgradeRemediation{Strategy: RemediateNone, Retries: 2}}, ActionUpgrade, RemediateNone},
		"install: last failure remediated":                   {ReleaseSpec{}, ActionInstall, RemediateUninstall},
		"install: last failure kept, no retries":             {ReleaseSpec{Install: InstallRemediation{KeepLastFailure: true}}, ActionInstall, RemediateNone},
		"install: last failure kept, retries":                {ReleaseSpec{Install: InstallRemediation{KeepLastFailure: true, Retries: 1}}, ActionInstall, RemediateUninstall},
	}
	for name, tc := range tests {
		if got := remediation(tc.spec, tc.action); got != tc.want {
			t.Errorf("%s: remediation = %q, want %q", name, got, tc.want)
		}
	}
}

// TestUnnamedRemediationHook: the hooks each remediation runs, and the
// setting each error names.
func TestUnnamedRemediationHook(t *testing.T) {
	hooks := []*release.Hook{{Kind: "Job", Path: "web/templates/cleanup.yaml", Events: []release.HookEvent{release.HookPreDelete, release.HookPreRollback}}}
	deployed := &release.Release{Version: 3, Hooks: hooks}
	kept := InstallRemediation{KeepLastFailure: true}
	tests := map[string]struct {
		spec   ReleaseSpec
		action Action
		want   string
	}{
		"failed install uninstalled": {ReleaseSpec{}, ActionInstall, "the pre-delete hook Job from web/templates/cleanup.yaml has no metadata.name (a generateName only): " +
			"if the install fails, the uninstall that remediates it (install.remediation) would create the hook and then fail looking it up by name, leaving the release failed; " +
			"set uninstall.disable_hooks = true"},
		"failed install kept":        {ReleaseSpec{Install: kept}, ActionInstall, ""},
		"uninstall hooks disabled":   {ReleaseSpec{Uninstall: UninstallOptions{DisableHooks: true}}, ActionInstall, ""},
		"failed upgrade rolled back": {ReleaseSpec{}, ActionUpgrade, "the pre-rollback hook Job from web/templates/cleanup.yaml of revision 3 has no metadata.name"},
		"failed upgrade uninstalled": {ReleaseSpec{Upgrade: UpgradeRemediation{Strategy: RemediateUninstall}}, ActionUpgrade, "(upgrade.remediation: retries = 0"},
		"rollback hooks disabled":    {ReleaseSpec{Rollback: RollbackOptions{DisableHooks: true}}, ActionUpgrade, ""},
	}
	for name, tc := range tests {
		err := unnamedRemediationHook(tc.spec, tc.action, hooks, deployed)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: unnamedRemediationHook = %v, want %q", name, err, tc.want)
		}
	}
}
