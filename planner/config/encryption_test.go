package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner/config"
)

// TestEncryptionBlock decodes strata { encryption } (values from env() and
// file(), sensitive) and refuses what cannot work, with file:line.
func TestEncryptionBlock(t *testing.T) {
	env := map[string]string{"STRATA_PASSPHRASE": "pass-from-env-31q"}
	load := func(t *testing.T, body string) (string, *config.Stack, hcl.Diagnostics) {
		t.Helper()
		dir := t.TempDir()
		files := map[string]string{"main.hcl": "strata {\n  encryption {\n" + body + "  }\n}\n", "key.txt": "AGE-SECRET-KEY-1FROMFILE\n"}
		for n, c := range files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		st, diags := config.Load(dir, config.LoadOptions{Version: "0.1.0", Getenv: func(k string) string { return env[k] }})
		view.SortDiagnostics(diags)
		return dir, st, diags
	}
	t.Run("passphrase from env", func(t *testing.T) {
		_, st, diags := load(t, "    passphrase = env(\"STRATA_PASSPHRASE\")\n")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if got := st.Strata.Encryption.Passphrase.Reveal(); got != "pass-from-env-31q" {
			t.Errorf("passphrase %q", got)
		}
		if d := cmp.Diff([]string{"pass-from-env-31q"}, st.SensitiveValues()); d != "" {
			t.Errorf("sensitive values (-want +got):\n%s", d)
		}
	})
	t.Run("age from file", func(t *testing.T) {
		_, st, diags := load(t, "    age_recipients = [\"age1abc\"]\n    age_identity = file(\"key.txt\")\n")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if got := st.Strata.Encryption.AgeIdentity.Reveal(); got != "AGE-SECRET-KEY-1FROMFILE\n" {
			t.Errorf("identity %q", got)
		}
	})
	tests := map[string]struct {
		body string
		want []string
	}{
		"both":            {"    passphrase = \"x\"\n    age_recipients = [\"age1abc\"]\n    age_identity = \"k\"\n", []string{"main.hcl:2: Conflicting encryption keys"}},
		"none":            {"", []string{"main.hcl:2: Missing encryption key"}},
		"no identity":     {"    age_recipients = [\"age1abc\"]\n", []string{"main.hcl:2: Missing age identity"}},
		"not a recipient": {"    age_recipients = [\"ssh-ed25519 AAA\"]\n    age_identity = \"k\"\n", []string{"main.hcl:3: Invalid age recipient"}},
		"empty":           {"    passphrase = \"\"\n", []string{"main.hcl:3: Empty passphrase"}},
		"variables":       {"    passphrase = var.x\n", []string{"main.hcl:3: Reference to undeclared input variable"}},
		"unknown":         {"    key = \"x\"\n", []string{"main.hcl:2: Missing encryption key", "main.hcl:3: Unsupported argument"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir, _, diags := load(t, tc.body)
			if d := cmp.Diff(tc.want, summaries(dir, diags)); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
		})
	}
}
