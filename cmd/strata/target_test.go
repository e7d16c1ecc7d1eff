package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// writeFiles writes files under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTarget applies a stack with --target: only the target and the
// blocks it depends on are planned and applied, with a warning; a block
// that depends on the target and an unrelated block are left alone, also
// when they have changes of their own.
func TestTarget(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "target")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("target"))
	// base <- app <- child; other stands alone.
	stack := `variable "v" {
  type    = string
  default = "1"
}
kustomization "base" {
  path = "base"
}
kustomization "app" {
  path       = "app"
  substitute = { v = var.v }
  depends_on = [kustomization.base]
}
kustomization "child" {
  path       = "child"
  depends_on = [kustomization.app]
}
kustomization "other" {
  path       = "other"
  substitute = { v = var.v }
}
`
	files := map[string]string{"main.hcl": stack}
	for name, v := range map[string]string{"base": "v0", "app": "v${v}", "child": "v0", "other": "v${v}"} {
		files[name+"/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
			"\ndata:\n  v: " + v + "\n"
	}
	writeFiles(t, dir, files)
	kc := "--kubeconfig=" + c.Kubeconfig()
	const warning = "Warning: the plan is limited to kustomization.app and the blocks they depend on."
	configMaps := func() string {
		return c.Kubectl(t, "-n", ns, "get", "configmaps", "-l", "strata.dev/stack",
			"-o", `jsonpath={range .items[*]}{.metadata.name}={.data.v} {end}`)
	}

	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--target", "kustomization.app", "-o", "json")
	if code != 0 || !strings.Contains(stderr, warning) {
		t.Fatalf("plan --target: exit %d, want 0 and the warning\n%s", code, stderr)
	}
	for _, want := range []string{`"kustomization.base/ConfigMap/` + ns + `/base"`, `"kustomization.app/ConfigMap/` + ns + `/app"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan --target lacks %s:\n%s", want, stdout)
		}
	}
	for _, block := range []string{"kustomization.child", "kustomization.other"} {
		if strings.Contains(stdout, block) {
			t.Errorf("plan --target kustomization.app plans %s:\n%s", block, stdout)
		}
	}

	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--target", "kustomization.app", "--auto-approve")
	if code != 0 || !strings.Contains(stderr, warning) || !strings.Contains(stdout, "2 added, 0 changed, 0 destroyed") {
		t.Fatalf("apply --target: exit %d, want 2 added and the warning\n%s%s", code, stdout, stderr)
	}
	if got, want := configMaps(), "app=v1 base=v0 "; got != want {
		t.Errorf("config maps after apply --target = %q, want %q", got, want)
	}
	_, list, _ := runCLI(t, "state", "list", "--dir", dir)
	wantList := "kustomization.app\nkustomization.app/ConfigMap/" + ns + "/app\nkustomization.base\nkustomization.base/ConfigMap/" + ns + "/base\n"
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("state list after apply --target (-want +got):\n%s", diff)
	}

	// Everything applied, then a change to app, child and other: the
	// targeted apply changes app alone.
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 || !strings.Contains(stdout, "2 added") {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--target", "kustomization.app", "--var", "v=2", "--auto-approve")
	if code != 0 || !strings.Contains(stderr, warning) || !strings.Contains(stdout, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("apply --target with changes elsewhere: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, want := configMaps(), "app=v2 base=v0 child=v0 other=v1 "; got != want {
		t.Errorf("config maps = %q, want %q", got, want)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--var", "v=2", "--detailed-exitcode")
	if code != 2 || !strings.Contains(stdout, "Plan: 0 to add, 1 to change, 0 to destroy.") || strings.Contains(stderr, "Warning") {
		t.Errorf("plan after the targeted apply: exit %d, want other alone to change\n%s%s", code, stdout, stderr)
	}
}
