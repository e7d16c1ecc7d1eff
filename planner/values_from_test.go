package planner

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

// valuesFromStack is a release with values from a ConfigMap (merged YAML),
// a Secret key at a target path and an optional Secret that is missing.
func valuesFromStack(ns, extra string) map[string]string {
	return map[string]string{
		"main.hcl": `
release "web" {
  namespace = "` + ns + `"
  chart     = "chart"
  values_from {
    kind = "ConfigMap"
    name = "web-values"
  }
  values_from {
    kind        = "Secret"
    name        = "web-secret"
    key         = "password"
    target_path = "auth.password"
  }
  values_from {
    kind     = "Secret"
    name     = "not-there"
    optional = true
  }
  values = { greeting = "inline wins" }
` + extra + `
}
`,
		"chart/Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/values.yaml": "greeting: default\nport: 1\nauth: {password: none}\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-cfg}\n" +
			"data: {greeting: {{ .Values.greeting | quote }}, port: {{ .Values.port | quote }}, password: {{ .Values.auth.password | quote }}}\n",
	}
}

// TestReleaseValuesFrom plans and applies a release with values_from: the
// plan shows their effect with the Secret's value masked, a changed Secret
// is a release upgrade, a saved plan is refused when the Secret changed
// after it was made, and a missing reference is an error naming the object
// and the block's place.
func TestReleaseValuesFrom(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "valuesfrom")
	c.Kubectl(t, "-n", ns, "create", "configmap", "web-values", "--from-literal=values.yaml=greeting: from-cm\nport: 8080\n")
	c.Kubectl(t, "-n", ns, "create", "secret", "generic", "web-secret", "--from-literal=password=pw-first-9f3k")
	dir := writeStack(t, valuesFromStack(ns, ""))
	opts := testOptions(c, dir)

	_, p := planStack(t, opts)
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Install) {
		t.Fatalf("releases %+v, want one install", p.Releases)
	}
	after := releaseObject(t, p, "web-cfg")
	data, _ := after["data"].(map[string]any)
	if data["port"] != "8080" || data["greeting"] != "inline wins" || data["password"] != plan.SensitiveValue {
		t.Errorf("planned ConfigMap data %v, want port 8080 from the ConfigMap, the inline greeting and the password masked", data)
	}
	if b, _ := json.Marshal(p.Releases); strings.Contains(string(b), "pw-first-9f3k") {
		t.Errorf("plan shows the Secret's value:\n%s", b)
	}

	applyStack(t, opts)
	if got := c.Kubectl(t, "-n", ns, "get", "configmap", "web-cfg", "-o", "jsonpath={.data.password}"); got != "pw-first-9f3k" {
		t.Errorf("installed password %q, want the Secret's", got)
	}
	if _, p := planStack(t, opts); p.HasChanges() {
		t.Fatalf("plan after apply has changes: %+v", p.Releases)
	}

	// A changed Secret is a change of the release.
	setSecret(t, c, ns, "pw-second-7h2m")
	_, p = planStack(t, opts)
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Upgrade) || p.Releases[0].Reason != "values changed" {
		t.Fatalf("releases %+v, want an upgrade for changed values", p.Releases)
	}
	if b, _ := json.Marshal(p.Releases); strings.Contains(string(b), "pw-second-7h2m") || strings.Contains(string(b), "pw-first-9f3k") {
		t.Errorf("plan shows a Secret's value:\n%s", b)
	}

	// A saved plan is refused once the Secret changed after it.
	file := filepath.Join(t.TempDir(), "plan.out")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	setSecret(t, c, ns, "pw-third-1q8z")
	_, err := applySaved(t, c, file)
	if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), "Secret "+ns+"/web-secret") {
		t.Fatalf("apply of a saved plan after the Secret changed: %v, want a stale plan naming the Secret", err)
	}
	if strings.Contains(err.Error(), "pw-") {
		t.Errorf("error shows a value: %v", err)
	}
	if got := c.Kubectl(t, "-n", ns, "get", "configmap", "web-cfg", "-o", "jsonpath={.data.password}"); got != "pw-first-9f3k" {
		t.Errorf("password %q after the refused apply, want it unchanged", got)
	}
	// Unchanged since the plan: the saved plan applies.
	_, p = planStack(t, opts)
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	if _, err := applySaved(t, c, file); err != nil {
		t.Fatalf("apply of a current saved plan: %v", err)
	}
	if got := c.Kubectl(t, "-n", ns, "get", "configmap", "web-cfg", "-o", "jsonpath={.data.password}"); got != "pw-third-1q8z" {
		t.Errorf("password %q, want the Secret's new value", got)
	}

	// A missing reference that is not optional is an error naming it and
	// the block.
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(valuesFromStack(ns,
		"  values_from {\n    kind = \"Secret\"\n    name = \"gone\"\n  }")["main.hcl"]), 0o644); err != nil {
		t.Fatal(err)
	}
	e, diags := Load(opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer e.Close()
	_, err = e.Plan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Secret "+ns+"/gone not found") || !strings.Contains(err.Error(), "main.hcl:21") {
		t.Errorf("plan with a missing Secret: %v, want an error naming it and main.hcl:21", err)
	}
}

// setSecret sets the password of web-secret in ns.
func setSecret(t *testing.T, c *testcluster.Cluster, ns, value string) {
	t.Helper()
	c.Kubectl(t, "-n", ns, "patch", "secret", "web-secret", "--type=merge", "-p", `{"stringData":{"password":"`+value+`"}}`)
}

// releaseObject returns the planned object name of the plan's release.
func releaseObject(t *testing.T, p *plan.Plan, name string) map[string]any {
	t.Helper()
	for _, r := range p.Releases {
		for _, c := range r.Changes {
			if c.Name == name {
				return c.After
			}
		}
	}
	t.Fatalf("no planned object %s in %+v", name, p.Releases)
	return nil
}

// TestDriftMasksValuesFrom checks that a drift report that shows the
// fields of a release's object edited behind strata's back masks what came
// from a Secret through values_from, in the applied value.
func TestDriftMasksValuesFrom(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "valuesfromdrift")
	c.Kubectl(t, "-n", ns, "create", "configmap", "web-values", "--from-literal=values.yaml=port: 80\n")
	c.Kubectl(t, "-n", ns, "create", "secret", "generic", "web-secret", "--from-literal=password=pw-drift-5t6u")
	dir := writeStack(t, valuesFromStack(ns, ""))
	opts := testOptions(c, dir)
	applyStack(t, opts)
	c.Kubectl(t, "-n", ns, "patch", "configmap", "web-cfg", "--type=merge", "-p", `{"data":{"password":"changed-by-hand"}}`)
	rep := checkDrift(t, opts)
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), "changed-by-hand") && !strings.Contains(string(b), "data.password") {
		t.Fatalf("drift report without the changed field:\n%s", b)
	}
	if strings.Contains(string(b), "pw-drift-5t6u") {
		t.Errorf("drift report shows the Secret's value:\n%s", b)
	}
}

// A number read from a Secret is masked in either form a chart may print
// it in: Go's (1e+06) and in full (1000000).
func TestSecretLeavesMaskNumbersInBothForms(t *testing.T) {
	leaves := secretLeaves([]byte("port: 1000000\nratio: 0.25\n"), false)
	for _, want := range []string{"1e+06", "1000000", "0.25"} {
		if !slices.Contains(leaves, want) {
			t.Errorf("leaves %q lack %q", leaves, want)
		}
	}
}
