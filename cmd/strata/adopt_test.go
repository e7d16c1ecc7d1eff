package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestPlanErrorsAndAdopt: an object that exists without strata's labels
// makes plan print the plan and then the error, exit 1 and save nothing;
// apply refuses before asking; plan --adopt shows the adoption and apply
// --adopt takes the object over.
func TestPlanErrorsAndAdopt(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "cliadopt")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "existing"}, Data: map[string]string{"k": "old"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("cliadopt"))
	writeFiles(t, dir, map[string]string{
		"main.hcl":          "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/existing.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: existing\n  namespace: " + ns + "\ndata:\n  k: v\n",
		"app/new.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n  namespace: " + ns + "\ndata:\n  k: v\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	addr := "kustomization.app/ConfigMap/" + ns + "/existing"
	out := filepath.Join(t.TempDir(), "plan.out")

	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--out", out)
	if code != 1 || !strings.Contains(stdout, "Plan: 1 to add, 0 to change, 0 to destroy.") ||
		!strings.Contains(stdout, "Error: "+addr+"\n\n  the object exists in the cluster without strata's labels") ||
		!strings.Contains(stdout, "strata apply --adopt "+addr) || !strings.Contains(stderr, "It was not saved") {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "-o", "json")
	if code != 1 || !strings.Contains(stdout, `"errors": [`) || !strings.Contains(stderr, "The plan has 1 error") {
		t.Fatalf("plan -o json: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve")
	if code != 1 || strings.Contains(stdout, "Apply") {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), "new", metav1.GetOptions{}); err == nil {
		t.Fatal("the refused apply created a ConfigMap")
	}

	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--adopt", addr)
	if code != 0 || !strings.Contains(stdout, "# "+addr+" will be adopted (labelled and updated in-place)") {
		t.Fatalf("plan --adopt: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--adopt", "kustomization.nope", "--auto-approve")
	if code != 1 || !strings.Contains(stderr, "--adopt kustomization.nope: no kustomization") {
		t.Fatalf("apply --adopt of an unknown block: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--adopt", addr, "--auto-approve")
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 1 added, 1 changed, 0 destroyed.") {
		t.Fatalf("apply --adopt: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 0 {
		t.Fatalf("plan after the adoption: exit %d\n%s%s", code, stdout, stderr)
	}
}
