package helm

import (
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
