package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCycleReportedAtItsSource checks that plan, apply, destroy and drift
// report a dependency cycle like validate does: as a diagnostic naming
// file:line:column and showing the source, before taking the state lock or
// creating a state file. They used to print it flattened into one line
// ("Error: /path/main.hcl:1,1-20: Dependency cycle; ...") after locking.
func TestCycleReportedAtItsSource(t *testing.T) {
	for _, args := range [][]string{
		{"plan"}, {"plan", "-o", "json"}, {"apply", "--auto-approve"}, {"destroy", "--auto-approve"}, {"drift"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"main.hcl": "kustomization \"a\" {\n  path       = \"app\"\n  depends_on = [kustomization.b]\n}\n\n" +
					"kustomization \"b\" {\n  path       = \"app\"\n  depends_on = [kustomization.a]\n}\n",
				"app/cm.yaml": validateCM,
			})
			code, out, errOut := runStrata(t, "", append(args, dir)...)
			if code != 1 || out != "" {
				t.Errorf("exit %d, stdout %q, want 1 and nothing", code, out)
			}
			for _, want := range []string{"Error: Dependency cycle\n", "main.hcl:1:1, in kustomization \"a\"", "1: kustomization \"a\" {"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, ".strata")); !os.IsNotExist(err) {
				t.Errorf("the stack's .strata directory exists (err %v): the state was opened for a stack that does not load", err)
			}
		})
	}
}
