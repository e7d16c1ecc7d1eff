package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/planner/config"
)

// TestValuesFrom decodes values_from blocks (defaults as Flux's: key
// values.yaml, not optional) and refuses what Flux's API refuses, with the
// attribute's place.
func TestValuesFrom(t *testing.T) {
	write := func(t *testing.T, body string) string {
		t.Helper()
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "chart"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("release \"web\" {\n  chart = \"chart\"\n"+body+"}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("decodes", func(t *testing.T) {
		dir := write(t, `  values_from {
    kind = "ConfigMap"
    name = "web-values"
  }
  values_from {
    kind        = "Secret"
    name        = "web.secret"
    key         = "db_password"
    target_path = "db.auth[0].password"
    optional    = true
  }
`)
		st, diags := loadAndGraph(t, dir)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		got := st.Releases["web"].ValuesFrom
		for i := range got {
			got[i].DeclRange = got[0].DeclRange
		}
		want := []config.ValuesFrom{
			{Kind: "ConfigMap", Name: "web-values", Key: "values.yaml", DeclRange: got[0].DeclRange},
			{Kind: "Secret", Name: "web.secret", Key: "db_password", TargetPath: "db.auth[0].password", Optional: true, DeclRange: got[0].DeclRange},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
	tests := map[string]struct {
		body string
		want []string
	}{
		"kind": {`  values_from {
    kind = "Deployment"
    name = "x"
  }
`, []string{"main.hcl:4: Invalid value for kind"}},
		"missing name": {`  values_from {
    kind = "Secret"
  }
`, []string{"main.hcl:3: Missing required argument"}},
		"name": {`  values_from {
    kind = "Secret"
    name = "Not_A_Name"
  }
`, []string{"main.hcl:5: Invalid object name"}},
		"key": {`  values_from {
    kind = "Secret"
    name = "x"
    key  = "a/b"
  }
`, []string{"main.hcl:6: Invalid key"}},
		"target path": {`  values_from {
    kind        = "Secret"
    name        = "x"
    target_path = "a b"
  }
`, []string{"main.hcl:6: Invalid target path"}},
		"unknown attribute": {`  values_from {
    kind       = "Secret"
    name       = "x"
    values_key = "a"
  }
`, []string{"main.hcl:6: Unsupported argument"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := write(t, tc.body)
			_, diags := loadAndGraph(t, dir)
			if d := cmp.Diff(tc.want, summaries(dir, diags)); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
		})
	}
}
