package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

// The default of variable "token" in testdata/sensitive, and what the
// stack derives from it.
const (
	sensitiveToken  = "tok-Zq81mWx4"
	sensitiveUpper  = "TOK-ZQ81MWX4"
	sensitiveRotate = "rot-Kp27vNa9"
	// sensitivePort is variable "port", a number; the chart prints it as
	// sensitivePortGo.
	sensitivePort   = "7340033"
	sensitivePortGo = "7.340033e+06"
)

// sensitiveStack copies testdata/sensitive into a directory with a unique
// name (the stack's label) and sets its namespace.
func sensitiveStack(t *testing.T, ns string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("sens"))
	err := filepath.WalkDir("testdata/sensitive", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/sensitive", p)
		writeFiles(t, dir, map[string]string{rel: string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"ns.auto.vars.hcl": "namespace = \"" + ns + "\"\n"})
	return dir
}

// noSecret fails the test when out shows a secret in any form strata
// could print it.
func noSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{sensitiveToken, sensitiveUpper, sensitiveRotate, sensitivePort, sensitivePortGo} {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(out, form) {
				t.Errorf("%s shows a sensitive value (%q):\n%s", what, form, out)
			}
		}
	}
}

// TestSensitiveValuesNeverShown plans, shows, applies, re-plans and checks
// drift of a stack whose sensitive variable reaches a Deployment's env var,
// a ConfigMap value, labels and release values, and makes the API server
// refuse a label holding it: no output shows the value, the saved plan
// holds it only in the rendered objects, the state not at all, and the
// cluster gets the real value.
func TestSensitiveValuesNeverShown(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "sens")
	dir := sensitiveStack(t, ns)
	kc := "--kubeconfig=" + c.Kubeconfig()
	file := filepath.Join(t.TempDir(), "plan.out")

	// Plan in every format; the saved plan shows the same.
	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--out", file, "--detailed-exitcode")
	if code != 2 || !strings.Contains(stdout, "Plan: 4 to add, 0 to change, 0 to destroy.") {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	noSecret(t, "plan", stdout+stderr)
	for _, want := range []string{
		"+ spec.template.spec.containers[0].env[1].value: (sensitive value)",
		"+ metadata.labels.team: (sensitive value)",
		"+ data.url: (sensitive value)",
		"+ data.mode: \"fast\"",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan does not show %q:\n%s", want, stdout)
		}
	}
	for _, format := range []string{"json", "markdown"} {
		code, stdout, stderr := runCLI(t, "plan", dir, kc, "-o", format, "--lock=false")
		if code != 0 {
			t.Fatalf("plan -o %s: exit %d\n%s%s", format, code, stdout, stderr)
		}
		noSecret(t, "plan -o "+format, stdout+stderr)
	}
	for _, format := range []string{"human", "json", "markdown"} {
		code, stdout, stderr := runCLI(t, "show", file, "-o", format)
		if code != 0 {
			t.Fatalf("show -o %s: exit %d\n%s%s", format, code, stdout, stderr)
		}
		noSecret(t, "show -o "+format, stdout+stderr)
		if format == "json" {
			checkSensitiveJSON(t, stdout, "Secret data.token", "Deployment spec.template.spec.containers[0].env[1].value",
				"ConfigMap data.url", "Deployment metadata.labels.team")
		}
	}
	checkSavedPlan(t, file)

	// Apply the saved plan: the cluster gets the real values.
	code, stdout, stderr = runCLI(t, "apply", file, kc)
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 4 added") {
		t.Fatalf("apply FILE: exit %d\n%s%s", code, stdout, stderr)
	}
	noSecret(t, "apply FILE", stdout+stderr)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil || cm.Data["url"] != "https://user:"+sensitiveToken+"@db.example.com" {
		t.Fatalf("ConfigMap settings in the cluster: %v, %v", cm.Data, err)
	}
	rel, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "web-settings", metav1.GetOptions{})
	if err != nil || rel.Labels["team"] != sensitiveUpper || rel.Data["port"] != sensitivePortGo {
		t.Fatalf("ConfigMap web-settings in the cluster: %v, %v", rel, err)
	}
	code, stdout, stderr = runCLI(t, "state", "pull", "--dir", dir)
	if code != 0 {
		t.Fatalf("state pull: exit %d\n%s", code, stderr)
	}
	noSecret(t, "state pull", stdout)
	if raw, err := os.ReadFile(filepath.Join(dir, ".strata", "state.db")); err != nil || strings.Contains(string(raw), sensitiveToken) {
		t.Errorf("the state file holds the sensitive value (read error %v)", err)
	}

	// Edits in the cluster: drift and the next plan name the fields only.
	patch := func(kind string, p string) {
		t.Helper()
		var err error
		switch kind {
		case "deployment":
			_, err = cs.AppsV1().Deployments(ns).Patch(ctx, "api", types.JSONPatchType, []byte(p), metav1.PatchOptions{})
		case "configmap":
			_, err = cs.CoreV1().ConfigMaps(ns).Patch(ctx, "settings", types.MergePatchType, []byte(p), metav1.PatchOptions{})
		}
		if err != nil {
			t.Fatalf("patch %s: %v", kind, err)
		}
	}
	patch("deployment", `[{"op":"replace","path":"/spec/template/spec/containers/0/env/1/value","value":"edited-by-hand"}]`)
	patch("configmap", `{"data":{"url":"https://edited.example.com","mode":"slow"}}`)
	for _, format := range []string{"human", "json", "markdown"} {
		code, stdout, stderr := runCLI(t, "drift", dir, kc, "-o", format)
		if code != 2 {
			t.Fatalf("drift -o %s: exit %d, want 2\n%s%s", format, code, stdout, stderr)
		}
		noSecret(t, "drift -o "+format, stdout+stderr)
		if format == "human" && (!strings.Contains(stdout, `data.mode: "slow" -> "fast"`) || !strings.Contains(stdout, "(sensitive value)")) {
			t.Errorf("drift does not show the plain change and the masked one:\n%s", stdout)
		}
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode", "--var", "token="+sensitiveRotate)
	if code != 2 {
		t.Fatalf("plan after the edits: exit %d\n%s%s", code, stdout, stderr)
	}
	noSecret(t, "plan after the edits with another token", stdout+stderr)
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "-o", "json", "--var", "token="+sensitiveRotate)
	if code != 0 {
		t.Fatalf("plan -o json after the edits: exit %d\n%s%s", code, stdout, stderr)
	}
	noSecret(t, "plan -o json after the edits with another token", stdout+stderr)
	// The immutable Secret is replaced: its stringData is added whole.
	checkSensitiveJSON(t, stdout, "Secret stringData", "Deployment spec.template.spec.containers[name=api].env[name=TOKEN].value",
		"ConfigMap data.url", "Deployment metadata.labels.team")
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve", "--var", "token="+sensitiveRotate)
	if code != 0 {
		t.Fatalf("apply with another token: exit %d\n%s%s", code, stdout, stderr)
	}
	noSecret(t, "apply with another token", stdout+stderr)

	// Errors of the API server quote the refused label value; the plan
	// error at the object gives the server's reason without it.
	for _, args := range [][]string{
		{"plan", dir, kc},
		{"plan", dir, kc, "-o", "json"},
		{"apply", dir, kc, "--auto-approve"},
		{"plan", dir, kc, "--target", "release.web"},
	} {
		code, stdout, stderr := runCLI(t, append(args, "--var", "suffix=!")...)
		if code != 1 || !strings.Contains(stdout+stderr, "refuses the object as invalid: metadata.labels: a valid label must") {
			t.Fatalf("%s with an invalid label: exit %d, want 1 and the server's refusal\n%s%s", args[0], code, stdout, stderr)
		}
		noSecret(t, strings.Join(args[:1], " ")+" with an invalid label", stdout+stderr)
	}

	// Applying a saved plan, strata has no stack: the secrets come from
	// the plan's rendered objects. An admission policy added after the
	// plan refuses the objects, quoting the value.
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--out", file)
	if code != 0 {
		t.Fatalf("plan back to the first token: exit %d\n%s%s", code, stdout, stderr)
	}
	refuseURLs(t, cs, ns)
	code, stdout, stderr = runCLI(t, "apply", file, kc)
	if code != 1 || !strings.Contains(stdout+stderr, "denied request: refused url (sensitive value)") {
		t.Errorf("apply FILE refused by a policy: exit %d, want 1 and the policy's message\n%s%s", code, stdout, stderr)
	}
	noSecret(t, "apply FILE refused by a policy", stdout+stderr)
}

// refuseURLs makes the API server refuse, in namespace ns, ConfigMaps whose
// data.url holds credentials, with a message quoting the URL, and waits
// until the policy is in force.
func refuseURLs(t *testing.T, cs *kubernetes.Clientset, ns string) {
	t.Helper()
	ctx := context.Background()
	fail := admv1.Fail
	policy := &admv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-urls"},
		Spec: admv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admv1.MatchResources{ResourceRules: []admv1.NamedRuleWithOperations{{
				RuleWithOperations: admv1.RuleWithOperations{
					Operations: []admv1.OperationType{admv1.Create, admv1.Update},
					Rule:       admv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				},
			}}},
			Validations: []admv1.Validation{{
				Expression:        "!has(object.data) || !('url' in object.data) || !object.data.url.contains('@')",
				MessageExpression: "'refused url ' + object.data.url",
			}},
		},
	}
	binding := &admv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-urls"},
		Spec: admv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admv1.ValidationAction{admv1.Deny},
			MatchResources: &admv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
		},
	}
	api := cs.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicies().Delete(context.Background(), policy.Name, metav1.DeleteOptions{})
	})
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicyBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
	})
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Data: map[string]string{"url": "https://u:p@x"}}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "refused url") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policy is not in force after 30s (last: %v)", err)
		}
	}
}

// checkSensitiveJSON checks that the JSON plan marks every masked field
// sensitive, without values, and that the fields named "Kind path" are
// among them.
func checkSensitiveJSON(t *testing.T, out string, want ...string) {
	t.Helper()
	var j struct {
		ResourceChanges []struct {
			Kind string           `json:"kind"`
			Diff []plan.FieldDiff `json:"diff"`
		} `json:"resource_changes"`
		ReleaseChanges []struct {
			Changes []struct {
				Diff []plan.FieldDiff `json:"diff"`
			} `json:"changes"`
		} `json:"release_changes"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	sensitive := map[string]bool{}
	check := func(kind string, diff []plan.FieldDiff) {
		for _, f := range diff {
			masked := strings.Contains(fmt.Sprint(f.Before, f.After), plan.SensitiveValue)
			if masked || f.Sensitive && (f.Before != nil || f.After != nil) {
				t.Errorf("%s %s: %+v, want sensitive without values", kind, f.Path, f)
			}
			if f.Sensitive {
				sensitive[kind+" "+f.Path] = true
			}
		}
	}
	for _, rc := range j.ResourceChanges {
		check(rc.Kind, rc.Diff)
	}
	for _, r := range j.ReleaseChanges {
		for _, c := range r.Changes {
			check("release", c.Diff)
		}
	}
	for _, w := range want {
		if !sensitive[w] {
			t.Errorf("JSON plan: %s is not sensitive (sensitive: %v)", w, sensitive)
		}
	}
}

// checkSavedPlan checks that the saved plan holds the sensitive value only
// in what apply needs: the rendered objects and the release's values.
func checkSavedPlan(t *testing.T, file string) {
	t.Helper()
	p, err := plan.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range p.Blocks {
		b := &p.Blocks[i]
		if len(b.Sensitive) > 0 {
			found = true
		}
		b.Objects = nil
		if b.Kind == "release" {
			var settings map[string]any
			if err := json.Unmarshal(b.Settings, &settings); err != nil {
				t.Fatal(err)
			}
			delete(settings, "values")
			delete(settings, "chart")
			b.Settings, _ = json.Marshal(settings)
		}
	}
	if !found {
		t.Error("the saved plan locates no sensitive field in its objects")
	}
	rest, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, "the saved plan outside its rendered objects", string(rest))
}
