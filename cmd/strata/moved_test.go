package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestStateMvThenDestroy renames a kustomization with strata state mv: the
// next plan only rewrites the objects' strata.dev/block labels, and the
// stack can be destroyed straight away, before any apply rewrote them (an
// older strata failed with "the plan holds no object to apply"). A release
// block renamed the same way without its name set is a plan error, not a
// second Helm release.
func TestStateMvThenDestroy(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "climv")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("climv"))
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\ndata:\n  k: v\n"
	}
	release := func(block string) string {
		return "release \"" + block + "\" {\n  namespace = \"" + ns + "\"\n  chart     = \"chart\"\n}\n"
	}
	writeFiles(t, dir, map[string]string{
		"main.hcl":   "kustomization \"web\" {\n  path = \"app\"\n}\n" + release("api"),
		"app/a.yaml": cm("a"), "app/b.yaml": cm("b"),
		"chart/Chart.yaml":        "apiVersion: v2\nname: api\nversion: 0.1.0\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api-settings\ndata:\n  k: v\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	a, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	mustRun(t, "state", "mv", "--dir", dir, "kustomization.web", "kustomization.site")
	mustRun(t, "state", "mv", "--dir", dir, "release.api", "release.backend")
	writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"site\" {\n  path = \"app\"\n}\n" + release("backend")})
	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	if code != 1 || !strings.Contains(stdout, "# kustomization.site/ConfigMap/"+ns+"/a has moved from kustomization.web") ||
		!strings.Contains(stdout, `~ metadata.labels["strata.dev/block"]: "kustomization.web" -> "kustomization.site"`) ||
		!strings.Contains(stdout, "Plan: 0 to add, 2 to change, 0 to destroy.") ||
		!strings.Contains(stdout, "Error: release.backend") || !strings.Contains(stdout, `set name = "api"`) {
		t.Fatalf("plan after state mv: exit %d\n%s%s", code, stdout, stderr)
	}
	writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"site\" {\n  path = \"app\"\n}\n" +
		strings.Replace(release("backend"), "{\n", "{\n  name      = \"api\"\n", 1)})
	if code, stdout, stderr := runCLI(t, "plan", dir, kc); code != 0 || !strings.Contains(stdout, "Plan: 0 to add, 2 to change, 0 to destroy.") {
		t.Fatalf("plan with the release's name: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runCLI(t, "destroy", dir, kc, "--auto-approve")
	if code != 0 || !strings.Contains(stdout, "Destroy complete! Objects: 0 added, 0 changed, 3 destroyed.") {
		t.Fatalf("destroy after state mv: exit %d\n%s%s", code, stdout, stderr)
	}
	list, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Items {
		if o.Name != "kube-root-ca.crt" {
			t.Errorf("destroy left ConfigMap %s (uid %s; a was %s)", o.Name, o.UID, a.UID)
		}
	}
}
