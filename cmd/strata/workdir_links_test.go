package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestWorkDirLinksRefused: a pull request can commit the stack's .strata
// directory, or files in it, as symbolic links. strata keeps its default
// state, environment states and drift baseline there; it must refuse such
// a link (exit 1, naming the path) instead of reading or writing through
// it, and leave the link's target untouched. A state file the user names
// with --state is their choice and still works.
func TestWorkDirLinksRefused(t *testing.T) {
	c := testcluster.Get(t)
	kc := "--kubeconfig=" + c.Kubeconfig()
	outsideDir := t.TempDir()
	victim := filepath.Join(outsideDir, "victim")
	const content = "precious, not a state file\n"
	newStack := func(t *testing.T) string {
		ns := c.Namespace(t, "wdlinks")
		dir := filepath.Join(t.TempDir(), testcluster.UniqueName("wdlinks"))
		writeFiles(t, dir, map[string]string{
			"main.hcl":               "kustomization \"app\" {\n  path = \"app\"\n}\n",
			"app/kustomization.yaml": "namespace: " + ns + "\nresources: [cm.yaml]\n",
			"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wdlinks}\ndata: {a: b}\n",
		})
		if err := os.WriteFile(victim, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	link := func(t *testing.T, target, name string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	untouched := func(t *testing.T) {
		t.Helper()
		if b, err := os.ReadFile(victim); err != nil || string(b) != content {
			t.Errorf("the link's target was changed: %q, %v", b, err)
		}
		ents, _ := os.ReadDir(outsideDir)
		if len(ents) != 1 {
			t.Errorf("strata wrote into the directory a link leads to: %d entries", len(ents))
		}
	}
	refused := func(t *testing.T, want string, args ...string) {
		t.Helper()
		code, out, errOut := runStrata(t, "", args...)
		if code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "symbolic link") {
			t.Errorf("%s: exit %d, want 1 naming %s\nstdout: %s\nstderr: %s", args[0], code, want, out, errOut)
		}
		untouched(t)
	}

	t.Run("strata dir", func(t *testing.T) {
		dir := newStack(t)
		link(t, outsideDir, filepath.Join(dir, ".strata"))
		refused(t, filepath.Join(dir, ".strata"), "plan", kc, dir)
		refused(t, filepath.Join(dir, ".strata"), "apply", "--auto-approve", kc, dir)
		refused(t, filepath.Join(dir, ".strata"), "state", "list", "--dir", dir)
	})
	t.Run("state file", func(t *testing.T) {
		dir := newStack(t)
		link(t, victim, filepath.Join(dir, ".strata", "state.db"))
		refused(t, filepath.Join(dir, ".strata", "state.db"), "plan", kc, dir)
		refused(t, filepath.Join(dir, ".strata", "state.db"), "apply", "--auto-approve", kc, dir)
		refused(t, filepath.Join(dir, ".strata", "state.db"), "state", "list", "--dir", dir)
	})
	t.Run("environment state", func(t *testing.T) {
		dir := newStack(t)
		writeFiles(t, dir, map[string]string{"env.hcl": "environment \"staging\" {}\n"})
		link(t, outsideDir, filepath.Join(dir, ".strata", "environments"))
		refused(t, filepath.Join(dir, ".strata", "environments"), "plan", "-e", "staging", kc, dir)
	})
	t.Run("drift baseline", func(t *testing.T) {
		dir := newStack(t)
		if code, out, errOut := runStrata(t, "", "apply", "--auto-approve", kc, dir); code != 0 {
			t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
		}
		link(t, victim, filepath.Join(dir, ".strata", "drift-baseline.json"))
		refused(t, filepath.Join(dir, ".strata", "drift-baseline.json"), "drift", kc, dir)
	})
	t.Run("explicit state path", func(t *testing.T) {
		dir := newStack(t)
		state := filepath.Join(t.TempDir(), "elsewhere", "state.db")
		if code, out, errOut := runStrata(t, "", "plan", kc, "--state", state, dir); code != 0 && code != 2 {
			t.Errorf("plan --state %s: exit %d\n%s\n%s", state, code, out, errOut)
		}
	})
}
