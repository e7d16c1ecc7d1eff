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
		!strings.Contains(stdout, "Error: "+addr+" (app/existing.yaml:1)\n\n  the object exists in the cluster without strata's labels") ||
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

// TestErrorsLinePrintedOnce: the line that counts a plan's errors is
// printed once by plan and apply (it was on stdout after the errors and
// again on stderr): on stderr, in every format, with exit 1; stdout keeps
// the errors themselves, -o json stays pure JSON and the Markdown comment
// keeps its own caution.
func TestErrorsLinePrintedOnce(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "errline")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "existing"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("errline"))
	writeFiles(t, dir, map[string]string{
		"main.hcl":          "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/existing.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: existing\n  namespace: " + ns + "\ndata:\n  k: v\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	const line = "The plan has 1 error: apply refuses it until they are resolved."
	errorAt := "Error: kustomization.app/ConfigMap/" + ns + "/existing"
	for _, tc := range []struct {
		name       string
		args       []string
		stdoutWant string // what stdout holds instead of the line
		inStdout   int    // times the line is part of the output document
	}{
		{name: "plan", args: []string{"plan", dir, kc}, stdoutWant: errorAt},
		{name: "plan --out", args: []string{"plan", dir, kc, "--out", filepath.Join(t.TempDir(), "p")}, stdoutWant: errorAt},
		{name: "apply", args: []string{"apply", dir, kc, "--auto-approve"}, stdoutWant: errorAt},
		{name: "plan -o json", args: []string{"plan", dir, kc, "-o", "json"}, stdoutWant: `"errors": [`},
		{name: "plan -o markdown", args: []string{"plan", dir, kc, "-o", "markdown"}, stdoutWant: "> [!CAUTION]", inStdout: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !strings.Contains(stdout, tc.stdoutWant) {
				t.Fatalf("exit %d, want 1 and %q on stdout\n%s%s", code, tc.stdoutWant, stdout, stderr)
			}
			if n := strings.Count(stdout, line); n != tc.inStdout {
				t.Errorf("stdout holds the errors line %d times, want %d:\n%s", n, tc.inStdout, stdout)
			}
			if n := strings.Count(stderr, "The plan has"); n != 1 || !strings.Contains(stderr, line) {
				t.Errorf("stderr holds the errors line %d times, want 1:\n%s", n, stderr)
			}
		})
	}
}
