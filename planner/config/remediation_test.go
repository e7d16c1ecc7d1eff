package config_test

import (
	"fmt"
	"testing"

	"github.com/strata-gitops/strata/planner/config"
)

// TestRemediateLastFailureDefault checks that remediate_last_failure
// follows Flux's MustRemediateLastFailure when unset (install: false;
// upgrade: true only with retries > 0) and that a set value is honoured.
func TestRemediateLastFailureDefault(t *testing.T) {
	tests := []struct {
		op      string // install or upgrade
		body    string // the remediation block's body; "-" for no block
		install bool   // expected install RemediateLastFailure
		upgrade bool   // expected upgrade RemediateLastFailure
	}{
		{"install", "-", false, false},
		{"install", "", false, false},
		{"install", "retries = 0", false, false},
		{"install", "retries = 3", false, false},
		{"install", "remediate_last_failure = true", true, false},
		{"install", "retries = 3\n remediate_last_failure = true", true, false},
		{"install", "retries = 3\n remediate_last_failure = false", false, false},
		{"upgrade", "-", false, false},
		{"upgrade", "", false, false},
		{"upgrade", "retries = 0", false, false},
		{"upgrade", "retries = 3", false, true},
		{"upgrade", "remediate_last_failure = true", false, true},
		{"upgrade", "retries = 3\n remediate_last_failure = false", false, false},
		{"upgrade", "retries = 0\n remediate_last_failure = true", false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.op, tt.body), func(t *testing.T) {
			block := ""
			if tt.body != "-" {
				block = fmt.Sprintf("  %s {\n    remediation {\n %s\n    }\n  }\n", tt.op, tt.body)
			}
			dir := writeStack(t, map[string]string{
				"main.hcl":              "release \"web\" {\n  chart = \"charts/web\"\n" + block + "}\n",
				"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
			})
			r := mustLoad(t, dir, config.LoadOptions{Getenv: func(string) string { return "" }}).Releases["web"]
			if got := r.Install.Remediation.RemediateLastFailure; got != tt.install {
				t.Errorf("install remediate_last_failure = %v, want %v", got, tt.install)
			}
			if got := r.Upgrade.Remediation.RemediateLastFailure; got != tt.upgrade {
				t.Errorf("upgrade remediate_last_failure = %v, want %v", got, tt.upgrade)
			}
		})
	}
}
