package planner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

func TestChangedPaths(t *testing.T) {
	a := map[string]any{"replicaCount": 1.0, "image": map[string]any{"tag": "1"}, "gone": true}
	b := map[string]any{"replicaCount": 2.0, "image": map[string]any{"tag": "1", "pull": "x"}, "new": 1.0}
	want := []string{"values.gone", "values.image.pull", "values.new", "values.replicaCount"}
	if d := cmp.Diff(want, changedPaths("values", a, b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := changedPaths("values", nil, map[string]any{}); len(got) != 0 {
		t.Errorf("nil vs empty: %v", got)
	}
}

func TestDriftRelease(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "drel")
	dir := writeStack(t, map[string]string{
		"main.hcl": `
release "web" {
  namespace = "` + ns + `"
  chart     = "chart"
  values    = { replicaCount = 1, token = "s3cret-value" }
}
`,
		"chart/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/values.yaml":       "replicaCount: 1\ntoken: x\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-cfg}\ndata: {replicas: {{ .Values.replicaCount | quote }}}\n",
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	if got := summary(checkDrift(t, opts)); len(got) != 0 {
		t.Fatalf("drift right after apply: %v", got)
	}
	helm := helmCLI(t, c)
	helm("upgrade", "web", filepath.Join(dir, "chart"), "-n", ns, "--reuse-values", "--set", "replicaCount=2")
	rep := checkDrift(t, opts)
	want := []string{"release release.web revision,values.replicaCount"}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), "s3cret") {
		t.Errorf("report reveals a value:\n%s", b)
	}
	helm("uninstall", "web", "-n", ns)
	if d := cmp.Diff([]string{"deleted release.web "}, summary(checkDrift(t, opts))); d != "" {
		t.Errorf("drift after uninstall (-want +got):\n%s", d)
	}
}

// TestDriftReleaseObjects checks that objects of a Helm release edited or
// deleted with kubectl show as drift, and what drift_detection changes in
// drift and plan: enabled (default) reports and plans the correction, warn
// reports without correcting, disabled ignores them.
func TestDriftReleaseObjects(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "drelobj")
	stack := func(mode string) string {
		dd := ""
		if mode != "" {
			dd = "\n  drift_detection { mode = \"" + mode + "\" }"
		}
		return `
release "web" {
  namespace = "` + ns + `"
  chart     = "chart"
  values    = { replicaCount = 1 }` + dd + `
}
`
	}
	dir := writeStack(t, map[string]string{
		"main.hcl":                stack(""),
		"chart/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/values.yaml":       "replicaCount: 1\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-cfg}\ndata: {replicas: {{ .Values.replicaCount | quote }}}\n",
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	if got := summary(checkDrift(t, opts)); len(got) != 0 {
		t.Fatalf("drift right after apply: %v", got)
	}
	c.Kubectl(t, "-n", ns, "patch", "configmap", "web-cfg", "--type=merge", "-p", `{"data":{"replicas":"5"}}`)
	edited := []string{"modified release.web/ConfigMap/" + ns + "/web-cfg data.replicas"}
	setMode := func(mode string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(stack(mode)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		mode       string
		wantDrift  []string
		wantAction plan.Action
		planDrift  bool
	}{
		{"", edited, plan.Upgrade, true},
		{"warn", edited, plan.NoOp, true},
		{"disabled", nil, plan.NoOp, false},
	} {
		setMode(tc.mode)
		if d := cmp.Diff(tc.wantDrift, summary(checkDrift(t, opts))); d != "" {
			t.Errorf("mode %q: drift (-want +got):\n%s", tc.mode, d)
		}
		e, p := planStack(t, opts)
		e.Close()
		if r := p.Releases[0]; !r.Actions.Is(tc.wantAction) {
			t.Errorf("mode %q: release planned %v (%s), want %s", tc.mode, r.Actions, r.Reason, tc.wantAction)
		}
		if got := len(p.Drift) > 0; got != tc.planDrift {
			t.Errorf("mode %q: plan drift %+v, want drift noted: %v", tc.mode, p.Drift, tc.planDrift)
		}
	}

	setMode("")
	c.Kubectl(t, "-n", ns, "delete", "configmap", "web-cfg")
	if d := cmp.Diff([]string{"deleted release.web/ConfigMap/" + ns + "/web-cfg "}, summary(checkDrift(t, opts))); d != "" {
		t.Errorf("drift after delete (-want +got):\n%s", d)
	}
	applyStack(t, opts)
	if got := summary(checkDrift(t, opts)); len(got) != 0 {
		t.Errorf("drift after a corrective apply: %v", got)
	}
}
