package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestPlanApplyCLI runs the quickstart flow through the command line: a
// plan with --detailed-exitcode exits 2 and saves the plan, show renders
// it, apply FILE carries it out, and the next plan exits 0 with no changes.
func TestPlanApplyCLI(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "cli")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("cli"))
	files := map[string]string{
		"main.hcl": `variable "color" {
  type    = string
  default = "blue"
}
kustomization "app" {
  path       = "app"
  substitute = { color = var.color }
}
`,
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  color: ${color}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kc := "--kubeconfig=" + c.Kubeconfig()
	out := filepath.Join(t.TempDir(), "plan.out")

	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode", "--out", out)
	if code != 2 {
		t.Fatalf("plan: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Plan: 1 to add, 0 to change, 0 to destroy.") {
		t.Errorf("plan output:\n%s", stdout)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("saved plan mode %v, want 0600", fi.Mode().Perm())
	}

	code, stdout, stderr = runCLI(t, "show", out, "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"format_version": "1.0"`) || !strings.Contains(stdout, `"has_changes": true`) {
		t.Fatalf("show -o json: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "apply", out, kc)
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 1 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply FILE: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 0 || !strings.Contains(stdout, "No changes. The cluster matches the stack.") {
		t.Fatalf("second plan: exit %d\n%s%s", code, stdout, stderr)
	}

	// Applying the same saved plan again is refused: the state moved.
	code, _, stderr = runCLI(t, "apply", out, kc)
	if code != 1 || !strings.Contains(stderr, "saved plan is stale") {
		t.Errorf("re-applying a used plan: exit %d, stderr %q", code, stderr)
	}

	// Without a terminal, apply asks for --auto-approve instead of waiting.
	code, _, stderr = runCLI(t, "apply", dir, kc, "--var", "color=red")
	if code != 1 || !strings.Contains(stderr, "--auto-approve") {
		t.Errorf("apply without a terminal: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--var", "color=red", "--auto-approve", "--parallelism=2")
	if code != 0 || !strings.Contains(stdout, "0 added, 1 changed") {
		t.Errorf("apply --auto-approve: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "destroy", dir, kc, "--auto-approve", "--var", "color=red")
	if code != 0 || !strings.Contains(stdout, "Destroy complete! Objects: 0 added, 0 changed, 1 destroyed.") {
		t.Errorf("destroy: exit %d\n%s%s", code, stdout, stderr)
	}
}
