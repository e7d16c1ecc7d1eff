package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner/plan"
)

func keepNamespaces(enforcement string) string {
	return `policy "keep_namespaces" {
  description = "Pipelines never delete namespaces."
  enforcement = "` + enforcement + `"
  match {
    kinds   = ["Namespace"]
    actions = ["delete", "replace"]
  }
  condition          = "false"
  message_expression = "'namespace ' + oldObject.metadata.name + ' would be deleted'"
}
`
}

// TestPolicyNamespaceDelete plans the delete of a Namespace under the
// keep_namespaces policy of the issue: mandatory fails plan (exit 1,
// naming the policy and the Namespace), advisory warns (exit 2), approval
// passes plan but makes apply --auto-approve refuse unless
// --approve-policy names it; a saved plan is checked against the current
// policies when it is applied.
func TestPolicyNamespaceDelete(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "pol")
	doomed := testcluster.UniqueName("pol-doomed")
	t.Cleanup(func() { c.KubectlCommand(t, "delete", "namespace", doomed, "--ignore-not-found", "--wait=false").Run() })
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("pol"))
	kc := "--kubeconfig=" + c.Kubeconfig()
	writeFiles(t, dir, map[string]string{
		"main.hcl": `kustomization "app" {
  path  = "app"
  prune = true
}
`,
		"policy.hcl":             keepNamespaces("mandatory"),
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  a: b\n",
		"app/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + doomed + "\n",
		"app/kustomization.yaml": "resources: [cm.yaml, ns.yaml]\n",
	})
	// Creating the namespace is no delete: the policy does not match.
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, stdout, stderr)
	}
	writeFiles(t, dir, map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n"})

	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode", "--out", filepath.Join(t.TempDir(), "refused.plan"))
	addr := "kustomization.app/Namespace/" + doomed
	if code != 1 || !strings.Contains(stdout, "policy keep_namespaces (mandatory): namespace "+doomed+" would be deleted") ||
		!strings.Contains(stdout, "Policy violation: "+addr) || !strings.Contains(stderr, "1 mandatory violation") {
		t.Fatalf("mandatory: exit %d, want 1 naming the policy and %s\n%s%s", code, addr, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "plan", dir, kc, "-o", "json")
	if code != 1 || !strings.Contains(stdout, `"policy": "keep_namespaces"`) || !strings.Contains(stdout, `"address": "`+addr+`"`) {
		t.Errorf("plan -o json: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ = runCLI(t, "plan", dir, kc, "-o", "markdown"); code != 1 || !strings.Contains(stdout, "> [!CAUTION]\n> **Policy violations") {
		t.Errorf("plan -o markdown: exit %d\n%s", code, stdout)
	}
	if code, _, stderr = runCLI(t, "apply", dir, kc, "--auto-approve"); code != 1 || !strings.Contains(stderr, "1 mandatory violation") {
		t.Errorf("apply under a mandatory violation: exit %d\n%s", code, stderr)
	}

	writeFiles(t, dir, map[string]string{"policy.hcl": keepNamespaces("advisory")})
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 2 || !strings.Contains(stdout, "Policy warning: "+addr) || !strings.Contains(stdout, "1 advisory warning") {
		t.Errorf("advisory: exit %d, want 2 with a warning\n%s%s", code, stdout, stderr)
	}

	writeFiles(t, dir, map[string]string{"policy.hcl": keepNamespaces("approval")})
	saved := filepath.Join(t.TempDir(), "approval.plan")
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode", "--out", saved)
	if code != 2 || !strings.Contains(stdout, "Approval required: "+addr) {
		t.Fatalf("approval plan: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "apply", dir, kc, "--auto-approve")
	if code != 1 || !strings.Contains(stderr, "approval policies keep_namespaces") {
		t.Errorf("apply --auto-approve under an approval policy: exit %d, want 1\n%s", code, stderr)
	}
	if code, _, stderr = runCLI(t, "apply", saved, kc); code != 1 || !strings.Contains(stderr, "--approve-policy keep_namespaces") {
		t.Errorf("apply FILE without approval: exit %d, want 1\n%s", code, stderr)
	}
	// The stack's policy became mandatory since the plan was saved.
	writeFiles(t, dir, map[string]string{"policy.hcl": keepNamespaces("mandatory")})
	code, stdout, stderr = runCLI(t, "apply", saved, kc, "--approve-policy", "keep_namespaces")
	if code != 1 || !strings.Contains(stderr, "the plan violates policies") || !strings.Contains(stdout, "Policy violation: "+addr) {
		t.Errorf("apply FILE under a policy now mandatory: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(saved); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"policy.hcl": keepNamespaces("approval")})
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve", "--approve-policy", "keep_namespaces")
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 0 added, 0 changed, 1 destroyed.") {
		t.Errorf("apply --approve-policy keep_namespaces: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
}

// TestValidatePolicyExpressions: a CEL syntax error and a reference to an
// unknown variable in policy blocks are validate diagnostics at the file,
// line and column of the mistake.
func TestValidatePolicyExpressions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl": validateKust,
		"policies.hcl": `policy "syntax" {
  condition = "object.spec.replicas <="
}

policy "unknown" {
  condition = "objekt.spec.replicas <= 5"
}
`,
		"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": validateCM,
	})
	code, stdout, stderr := runCLI(t, "validate", dir)
	if code != 1 {
		t.Fatalf("validate: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"policies.hcl:2:39", "Syntax error", "policies.hcl:6:16", "undeclared reference to 'objekt'."} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
}

// TestPolicyMessagesMaskSecrets: policies see objects masked, so a
// message that echoes the values of a Secret, or of a ConfigMap or env
// var fed by a sensitive variable, shows "(sensitive value)" and never
// the secret, in every output.
func TestPolicyMessagesMaskSecrets(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "polsens")
	dir := sensitiveStack(t, ns)
	writeFiles(t, dir, map[string]string{"policy.hcl": `policy "echo_data" {
  enforcement = "advisory"
  match {
    kinds = ["ConfigMap", "Secret"]
  }
  condition          = "false"
  message_expression = "object.?data.orValue({}).map(k, k + '=' + object.data[k]).join(',')"
}

policy "echo_env" {
  enforcement = "advisory"
  match {
    kinds = ["Deployment"]
  }
  condition          = "false"
  message_expression = "object.spec.template.spec.containers.map(c, c.?env.orValue([]).map(e, e.name + '=' + e.?value.orValue('')).join(',')).join(';') + ' ' + object.metadata.labels.map(k, k + '=' + object.metadata.labels[k]).join(',')"
}
`})
	kc := "--kubeconfig=" + c.Kubeconfig()
	for _, format := range []string{"human", "json", "markdown"} {
		code, stdout, stderr := runCLI(t, "plan", dir, kc, "-o", format)
		if code != 0 || !strings.Contains(stdout, "echo_data") || !strings.Contains(stdout, "(sensitive value)") {
			t.Errorf("plan -o %s: exit %d\n%s%s", format, code, stdout, stderr)
		}
		noSecret(t, "plan -o "+format, stdout+stderr)
		if format == "human" && strings.Contains(stdout, "message_expression failed") {
			t.Errorf("a message expression failed:\n%s", stdout)
		}
	}
}

// TestEnvironmentsExitPolicies: plan --all-environments exits 1 when an
// environment's plan violates a mandatory policy, and names it.
func TestEnvironmentsExitPolicies(t *testing.T) {
	ok := &plan.Plan{PolicyResults: []plan.PolicyResult{{Policy: "limits", Enforcement: plan.Advisory, Address: "a"}}}
	bad := &plan.Plan{PolicyResults: []plan.PolicyResult{{Policy: "keep_namespaces", Enforcement: plan.Mandatory, Address: "b"}}}
	if err := environmentsExit([]view.EnvironmentPlan{{Name: "staging", Plan: ok}}, false); err != nil {
		t.Errorf("advisory only: %v", err)
	}
	err := environmentsExit([]view.EnvironmentPlan{{Name: "staging", Plan: ok}, {Name: "production", Plan: bad}}, true)
	if err == nil || !strings.Contains(err.Error(), "production violate mandatory policies") {
		t.Errorf("mandatory in production: %v", err)
	}
}
