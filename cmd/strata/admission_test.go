package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// maxReplicasPolicy installs a ValidatingAdmissionPolicy that limits
// Deployments to 5 replicas, bound only to namespaces labelled
// strata-test/admission=<value> (the cluster is shared), and waits until
// the API server enforces it.
func maxReplicasPolicy(t *testing.T, c *testcluster.Cluster, value, probeNS string) string {
	t.Helper()
	return admissionPolicy(t, c, denyRule{name: "max-replicas", group: "apps", resource: "deployments",
		expression: "object.spec.replicas <= 5", message: "Deployments may have at most 5 replicas",
		probe: deploymentYAML(probeNS, "probe", 10)}, value)
}

// denyRule is what admissionPolicy installs: a policy on the creates and
// updates of one resource, and a probe object that it refuses.
type denyRule struct {
	name, group, resource string
	expression, message   string
	probe                 string // manifest the policy refuses
}

// admissionPolicy installs a ValidatingAdmissionPolicy of rule, bound only
// to namespaces labelled strata-test/admission=<value> (the cluster is
// shared), and waits until the API server enforces it.
func admissionPolicy(t *testing.T, c *testcluster.Cluster, rule denyRule, value string) string {
	t.Helper()
	name := testcluster.UniqueName(rule.name)
	dir := t.TempDir()
	manifest := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ` + name + `
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ["` + rule.group + `"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["` + rule.resource + `"]
  validations:
  - expression: "` + rule.expression + `"
    message: "` + rule.message + `"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ` + name + `
spec:
  policyName: ` + name + `
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        strata-test/admission: ` + value + `
`
	writeFiles(t, dir, map[string]string{"vap.yaml": manifest, "probe.yaml": rule.probe})
	c.Kubectl(t, "apply", "-f", filepath.Join(dir, "vap.yaml"))
	t.Cleanup(func() {
		c.KubectlCommand(t, "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", name, "--ignore-not-found").Run()
	})
	// The API server enforces a new policy a moment later.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.KubectlCommand(t, "apply", "--server-side", "--dry-run=server", "-f", filepath.Join(dir, "probe.yaml")).CombinedOutput()
		if err != nil && strings.Contains(string(out), rule.message) {
			return name
		}
		if time.Now().After(deadline) {
			t.Fatalf("the policy %s is not enforced after 30s: %s", name, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func deploymentYAML(ns, name string, replicas int) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
  replicas: ` + itoa(replicas) + `
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:1.0
`
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestAdmissionVerdictInPlan: a ValidatingAdmissionPolicy that refuses a
// Deployment of 10 replicas makes plan exit 1 with the admission message
// on the Deployment's address, while the rest of the plan is shown; apply
// refuses the plan and nothing is written. Once the Deployment is fixed and
// applied, it is dry-run again on every plan although unchanged (the
// binding matches it), so a policy tightened in the cluster is seen. A
// Deployment in a namespace the same plan creates is dry-run at apply,
// once the namespace exists, before anything else of its stage is written.
func TestAdmissionVerdictInPlan(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "adm")
	value := testcluster.UniqueName("v")
	c.Kubectl(t, "label", "namespace", ns, "strata-test/admission="+value)
	vap := maxReplicasPolicy(t, c, value, ns)

	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("adm"))
	kc := "--kubeconfig=" + c.Kubeconfig()
	writeFiles(t, dir, map[string]string{
		"main.hcl":               "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/deploy.yaml":        deploymentYAML(ns, "web", 10),
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  a: b\n",
		"app/kustomization.yaml": "resources: [cm.yaml, deploy.yaml]\n",
	})
	addr := "kustomization.app/Deployment.apps/" + ns + "/web"
	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 1 || !strings.Contains(stdout, "refused by ValidatingAdmissionPolicy/"+vap+" (admission): Deployments may have at most 5 replicas") ||
		!strings.Contains(stdout, "Policy violation: "+addr) || !strings.Contains(stdout, "+ spec.replicas: 10") ||
		!strings.Contains(stdout, "kustomization.app/ConfigMap/"+ns+"/settings will be created") {
		t.Fatalf("plan: exit %d, want 1 with the admission verdict on %s and the rest of the plan\n%s%s", code, addr, stdout, stderr)
	}
	if code, _, stderr = runCLI(t, "apply", dir, kc, "--auto-approve"); code != 1 || !strings.Contains(stderr, "mandatory violation") {
		t.Errorf("apply: exit %d, want 1\n%s", code, stderr)
	}
	if out := c.Kubectl(t, "get", "deployments,configmaps", "-n", ns, "-l", "strata.dev/block=kustomization.app", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("objects applied despite the refusal: %s", out)
	}

	// Fixed, the Deployment applies; unchanged, it is still dry-run (the
	// binding matches it) and agrees.
	// (Two Deployments: the fast path reads live objects by list, for
	// kinds with several objects in a namespace.)
	writeFiles(t, dir, map[string]string{"app/deploy.yaml": deploymentYAML(ns, "web", 3) + "---\n" + deploymentYAML(ns, "web2", 3)})
	if code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply of 3 replicas: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode"); code != 0 || strings.Contains(stdout, "Policy") {
		t.Errorf("plan after apply: exit %d, want 0 without policy results\n%s%s", code, stdout, stderr)
	}
	// The cluster's policy is tightened: the unchanged Deployment, which
	// the fast no-change path would not dry-run, gets a warning.
	c.Kubectl(t, "patch", "validatingadmissionpolicy", vap, "--type=json",
		`-p=[{"op":"replace","path":"/spec/validations/0/expression","value":"object.spec.replicas <= 2"}]`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode")
		if strings.Contains(stdout, "Policy warning: "+addr) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if code != 0 || !strings.Contains(stdout, "the cluster now refuses this unchanged object") {
		t.Errorf("plan under a tightened policy: exit %d, want 0 with a warning on %s\n%s%s", code, addr, stdout, stderr)
	}

	// A namespace the plan creates, labelled so that the binding matches.
	fresh := testcluster.UniqueName("adm-new")
	t.Cleanup(func() { c.KubectlCommand(t, "delete", "namespace", fresh, "--ignore-not-found", "--wait=false").Run() })
	writeFiles(t, dir, map[string]string{
		"app/new.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + fresh + "\n  labels:\n    strata-test/admission: " + value + "\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  namespace: " + fresh + "\ndata:\n  a: b\n---\n" + deploymentYAML(fresh, "big", 10),
		"app/kustomization.yaml": "resources: [cm.yaml, deploy.yaml, new.yaml]\n",
	})
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve")
	if code != 1 || !strings.Contains(stderr, "Deployments may have at most 5 replicas") {
		t.Fatalf("apply into a new namespace: exit %d, want 1 with the admission message\n%s%s", code, stdout, stderr)
	}
	if out := c.Kubectl(t, "get", "deployments,configmaps", "-n", fresh, "-l", "strata.dev/block=kustomization.app", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("objects of the refused stage were written: %s", out)
	}
	_ = os.Remove(filepath.Join(dir, "app", "new.yaml"))
}

// TestAdmissionVerdictOnRelease: a release whose chart renders an object
// the admission chain refuses gets the verdict on its address, with the
// refused object named and its template as the file (no line: one in a
// template says little); the rest of the plan is shown and plan exits 1.
func TestAdmissionVerdictOnRelease(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "admrel")
	value := testcluster.UniqueName("v")
	c.Kubectl(t, "label", "namespace", ns, "strata-test/admission="+value)
	vap := maxReplicasPolicy(t, c, value, ns)
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("admrel"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n}\n" +
			"release \"big\" {\n  namespace = \"" + ns + "\"\n  chart     = \"charts/big\"\n  wait      = false\n}\n",
		"app/cm.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  a: b\n",
		"app/kustomization.yaml":      "resources: [cm.yaml]\n",
		"charts/big/Chart.yaml":       "apiVersion: v2\nname: big\nversion: 0.1.0\n",
		"charts/big/templates/d.yaml": deploymentYAML(ns, "big", 10),
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	if code != 1 || !strings.Contains(stdout, "Policy violation: release.big (charts/big/templates/d.yaml)\n") ||
		!strings.Contains(stdout, "refused by ValidatingAdmissionPolicy/"+vap+" (admission): Deployments may have at most 5 replicas") ||
		!strings.Contains(stdout, "kustomization.app/ConfigMap/"+ns+"/settings will be created") {
		t.Errorf("plan: exit %d, want 1 with the verdict on release.big and the rest of the plan\n%s%s", code, stdout, stderr)
	}
	_, got, _ := jsonPlan(t, dir, kc)
	results, _ := got["policy_results"].([]any)
	if len(results) != 1 || results[0].(map[string]any)["file"] != "charts/big/templates/d.yaml" || results[0].(map[string]any)["line"] != nil {
		t.Errorf("plan -o json: policy results %v, want the verdict on release.big with its template and no line", results)
	}
}

// TestAdmissionRefusalInDrift: an applied object whose dry run the
// cluster's admission chain now refuses is reported by strata drift as the
// refusal (the block could not be checked: exit 1), not as changed with
// fields made up from the applied object, while the real drift of the
// block's other objects is still reported. The Secret sets stringData,
// which drift always dry-runs once the object changed (here: an
// annotation added by hand, which is not drift).
func TestAdmissionRefusalInDrift(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "admdrift")
	value := testcluster.UniqueName("v")
	c.Kubectl(t, "label", "namespace", ns, "strata-test/admission="+value)
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("admdrift"))
	kc := "--kubeconfig=" + c.Kubeconfig()
	writeFiles(t, dir, map[string]string{
		"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: " + ns +
			"\ntype: Opaque\nstringData:\n  user: admin\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  a: b\n",
		"app/kustomization.yaml": "resources: [secret.yaml, cm.yaml]\n",
	})
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	c.Kubectl(t, "annotate", "secret", "creds", "-n", ns, "note=by-hand")
	c.Kubectl(t, "patch", "configmap", "settings", "-n", ns, "--type=merge", "-p", `{"data":{"a":"edited"}}`)
	// Then the cluster starts refusing the Secret as it was applied.
	vap := admissionPolicy(t, c, denyRule{name: "locked-secrets", resource: "secrets",
		expression: "object.type != 'Opaque'", message: "Opaque secrets are locked",
		probe: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: probe\n  namespace: " + ns + "\ntype: Opaque\n"}, value)

	code, stdout, stderr := runCLI(t, "drift", dir, kc)
	secret := "kustomization.app/Secret/" + ns + "/creds"
	if code != 1 || strings.Contains(stdout, secret) ||
		!strings.Contains(stdout, "Secret/"+ns+"/creds: refused by ValidatingAdmissionPolicy/"+vap+": Opaque secrets are locked") ||
		!strings.Contains(stdout, "its drift cannot be known") {
		t.Errorf("drift: exit %d, want 1 with the refusal of the Secret and no drift of it\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "~ kustomization.app/ConfigMap/"+ns+"/settings changed in the cluster outside strata") {
		t.Errorf("drift: the edited ConfigMap is not reported\n%s%s", stdout, stderr)
	}
}

// TestAdmissionRefusedChangeShowsNoDiff: a change of an applied Secret
// whose dry run the cluster's admission chain refuses is shown as refused
// (the policy and its message) in the text, Markdown and JSON plans, with
// no field diff and no after, since the server never said what the object
// would become; plan exits 1 and apply refuses the plan and writes
// nothing.
func TestAdmissionRefusedChangeShowsNoDiff(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "admref")
	value := testcluster.UniqueName("v")
	c.Kubectl(t, "label", "namespace", ns, "strata-test/admission="+value)
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("admref"))
	kc := "--kubeconfig=" + c.Kubeconfig()
	secretYAML := func(user string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: " + ns +
			"\ntype: Opaque\nstringData:\n  user: " + user + "\n"
	}
	writeFiles(t, dir, map[string]string{
		"main.hcl":               "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/secret.yaml":        secretYAML("admin"),
		"app/kustomization.yaml": "resources: [secret.yaml]\n",
	})
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	vap := admissionPolicy(t, c, denyRule{name: "locked-secrets", resource: "secrets",
		expression: "object.type != 'Opaque'", message: "Opaque secrets are locked",
		probe: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: probe\n  namespace: " + ns + "\ntype: Opaque\n"}, value)
	writeFiles(t, dir, map[string]string{"app/secret.yaml": secretYAML("root")})

	addr := "kustomization.app/Secret/" + ns + "/creds"
	verdict := "refused by ValidatingAdmissionPolicy/" + vap + " (admission): Opaque secrets are locked"
	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 1 || !strings.Contains(stdout, verdict) || !strings.Contains(stdout, "Policy violation: "+addr) ||
		!strings.Contains(stdout, "the server computed no diff") || strings.Contains(stdout, "stringData") ||
		!strings.Contains(stdout, "Plan: 0 to add, 0 to change, 0 to destroy, 1 refused.") {
		t.Errorf("plan: exit %d, want 1 with the refusal of %s, no field diff and 1 refused (not to change)\n%s%s", code, addr, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "-o", "markdown")
	if code != 1 || !strings.Contains(stdout, "Opaque secrets are locked") ||
		!strings.Contains(stdout, "the server computed no diff") || strings.Contains(stdout, "stringData") {
		t.Errorf("plan -o markdown: exit %d, want 1 with the refusal and no field diff\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "-o", "json")
	var p struct {
		ResourceChanges []map[string]any `json:"resource_changes"`
		Summary         map[string]int   `json:"summary"`
	}
	if err := json.Unmarshal([]byte(stdout), &p); code != 1 || err != nil {
		t.Fatalf("plan -o json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	if p.Summary["change"] != 0 || p.Summary["refused"] != 1 {
		t.Errorf("plan -o json: summary %v, want 1 refused and 0 to change", p.Summary)
	}
	var rc map[string]any
	for _, r := range p.ResourceChanges {
		if r["address"] == addr {
			rc = r
		}
	}
	refused, _ := rc["refused"].(map[string]any)
	if refused["by"] != "ValidatingAdmissionPolicy/"+vap || !strings.HasPrefix(fmt.Sprint(refused["message"]), "Opaque secrets are locked") ||
		rc["diff"] != nil || rc["after"] != nil || rc["before"] == nil {
		t.Errorf("plan -o json: %s is %v, want refused by %s with before and without diff or after", addr, rc, vap)
	}

	if code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve"); code != 1 || !strings.Contains(stderr, "mandatory violation") {
		t.Errorf("apply: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if got := c.Kubectl(t, "get", "secret", "creds", "-n", ns, "-o", "jsonpath={.data.user}"); got != "YWRtaW4=" {
		t.Errorf("the refused apply changed the Secret: user is %q", got)
	}

	// Back to the applied manifest: the refused Secret is not reported as
	// changed in the cluster outside strata (the server gave no answer to
	// compare with).
	writeFiles(t, dir, map[string]string{"app/secret.yaml": secretYAML("admin")})
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 1 || !strings.Contains(stdout, verdict) || strings.Contains(stdout, "outside strata") {
		t.Errorf("plan of the applied manifest: exit %d, want 1 with the refusal and no drift\n%s%s", code, stdout, stderr)
	}
}
