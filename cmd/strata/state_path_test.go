package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestStackStatePathConfined: a stack (a pull request on which CI runs
// plan) names its local state file only inside its directory, also
// through symbolic links; the file is refused with file:line before
// anything is created, and the person running strata names a file
// anywhere with --state.
func TestStackStatePathConfined(t *testing.T) {
	c := testcluster.Get(t)
	kc := "--kubeconfig=" + c.Kubeconfig()
	ns := c.Namespace(t, "statepath")
	outside := t.TempDir()
	newStack := func(t *testing.T, path string, extra map[string]string) string {
		t.Helper()
		// beside outside, so that "../" + its name reaches it
		dir := filepath.Join(filepath.Dir(outside), testcluster.UniqueName("statepath"))
		files := map[string]string{
			"main.hcl": "strata {\n  backend \"local\" { path = \"" + path + "\" }\n}\n\n" +
				"kustomization \"app\" {\n  path = \"app\"\n}\n",
			"app/kustomization.yaml": "namespace: " + ns + "\nresources: [cm.yaml]\n",
			"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: statepath}\ndata: {a: b}\n",
		}
		for k, v := range extra {
			files[k] = v
		}
		writeFiles(t, dir, files)
		return dir
	}
	nothingOutside := func(t *testing.T) {
		t.Helper()
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("strata created %d entries outside the stack, e.g. %s", len(ents), ents[0].Name())
		}
	}
	refused := func(t *testing.T, dir, where string) {
		t.Helper()
		for _, args := range [][]string{
			{"validate", dir},
			{"plan", kc, dir},
			{"apply", "--auto-approve", kc, dir},
			{"state", "list", "--dir", dir},
		} {
			code, out, errOut := runStrata(t, "", args...)
			if code != 1 || !strings.Contains(errOut, where) || !strings.Contains(errOut, "outside the stack directory") ||
				!strings.Contains(errOut, "--state") {
				t.Errorf("%s: exit %d, want 1 naming %s and --state\nstdout: %s\nstderr: %s", args[0], code, where, out, errOut)
			}
		}
		nothingOutside(t)
		if _, err := os.Stat(filepath.Join(dir, ".strata", "state.db")); err == nil {
			t.Error("the default state file was created instead")
		}
	}

	t.Run("absolute", func(t *testing.T) {
		dir := newStack(t, filepath.Join(outside, "x.db"), nil)
		refused(t, dir, "main.hcl:2")
	})
	t.Run("climbs out", func(t *testing.T) {
		dir := newStack(t, "../"+filepath.Base(outside)+"/x.db", nil)
		refused(t, dir, "main.hcl:2")
	})
	t.Run("link to a directory", func(t *testing.T) {
		dir := newStack(t, "state/x.db", nil)
		if err := os.Symlink(outside, filepath.Join(dir, "state")); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, "main.hcl:2")
	})
	t.Run("dangling link", func(t *testing.T) {
		dir := newStack(t, "x.db", nil)
		if err := os.Symlink(filepath.Join(outside, "x.db"), filepath.Join(dir, "x.db")); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, "main.hcl:2")
	})
	t.Run("environment's own backend", func(t *testing.T) {
		dir := newStack(t, "st/x.db", map[string]string{
			"env.hcl": "environment \"prod\" {\n  backend \"local\" { path = \"" + filepath.Join(outside, "prod.db") + "\" }\n}\n",
		})
		code, out, errOut := runStrata(t, "", "plan", "-e", "prod", kc, dir)
		if code != 1 || !strings.Contains(errOut, "env.hcl:2") || !strings.Contains(errOut, "outside the stack directory") {
			t.Errorf("plan -e prod: exit %d, want 1 at env.hcl:2\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		nothingOutside(t)
	})
	t.Run("environment's derived file through a link", func(t *testing.T) {
		dir := newStack(t, "st/x.db", map[string]string{"env.hcl": "environment \"staging\" {}\n"})
		if err := os.MkdirAll(filepath.Join(dir, "st"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "st", "environments")); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runStrata(t, "", "plan", "-e", "staging", kc, dir)
		if code != 1 || !strings.Contains(errOut, "outside the stack directory") || !strings.Contains(errOut, "--state") {
			t.Errorf("plan -e staging: exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		nothingOutside(t)
	})
	t.Run("inside", func(t *testing.T) {
		dir := newStack(t, "custom/state.db", nil)
		if code, out, errOut := runStrata(t, "", "plan", kc, dir); code != 0 {
			t.Fatalf("plan: exit %d, want 0\n%s\n%s", code, out, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "custom", "state.db")); err != nil {
			t.Errorf("the stack's state file: %v", err)
		}
	})
	t.Run("allowed with --state", func(t *testing.T) {
		dir := newStack(t, filepath.Join(outside, "x.db"), nil)
		state := filepath.Join(t.TempDir(), "chosen.db")
		for _, args := range [][]string{
			{"plan", kc, "--state", state, dir},
			{"state", "list", "--dir", dir, "--state", state},
		} {
			if code, out, errOut := runStrata(t, "", args...); code != 0 && code != 2 {
				t.Errorf("%s --state: exit %d\n%s\n%s", args[0], code, out, errOut)
			}
		}
		if _, err := os.Stat(state); err != nil {
			t.Errorf("the --state file: %v", err)
		}
		nothingOutside(t)
	})
}
