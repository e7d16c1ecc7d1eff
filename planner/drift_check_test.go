package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/gitserver"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/planner/plan"
)

// driftStack is a kustomization with a ConfigMap, a Secret, a Service and
// a Deployment in namespace ns, and an unsuspended and a suspended block.
func driftStack(t *testing.T, ns string) string {
	t.Helper()
	return writeStack(t, map[string]string{
		"main.hcl": `
kustomization "app" {
  path = "app"
  wait = true
}
kustomization "paused" {
  path    = "paused"
  suspend = true
}
`,
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [objects.yaml]\n",
		"app/objects.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {tier: web}}
data: {mode: fast, level: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2-applied}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 8080}]
        env: [{name: MODE, value: fast}]
`,
		"paused/kustomization.yaml": "namespace: " + ns + "\nresources: [cm.yaml]\n",
		"paused/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: paused}\ndata: {a: b}\n",
	})
}

func checkDrift(t *testing.T, opts Options) *drift.Report {
	t.Helper()
	return checkDriftWith(t, opts, DriftOptions{})
}

func checkDriftWith(t *testing.T, opts Options, dopts DriftOptions) *drift.Report {
	t.Helper()
	e, diags := Load(opts)
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	defer e.Close()
	rep, err := e.Drift(context.Background(), dopts)
	if err != nil {
		t.Fatalf("drift: %v", err)
	}
	return rep
}

// summary lists "kind address fields" per drifted item.
func summary(rep *drift.Report) []string {
	var out []string
	for _, b := range rep.Blocks {
		for _, it := range b.Items {
			out = append(out, fmt.Sprintf("%s %s %s", it.Kind, it.Address, strings.Join(it.FieldPaths(), ",")))
		}
	}
	sort.Strings(out)
	return out
}

func TestDriftKustomization(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "drift")
	dir := driftStack(t, ns)
	opts := testOptions(c, dir)
	applyStack(t, opts)

	rep := checkDrift(t, opts)
	if got := summary(rep); len(got) != 0 || rep.HasErrors() {
		t.Fatalf("drift right after apply: %v, errors %v", got, rep.Blocks)
	}
	// Every object renders as recorded (no "checked for deletion only"
	// notes) and none needs a dry run.
	if b := rep.Block("kustomization.app"); b == nil || b.Checked != 4 || b.DryRuns != 0 || len(b.Notes) != 0 {
		t.Errorf("kustomization.app = %+v, want 4 objects checked without dry runs or notes", b)
	}
	if b := rep.Block("kustomization.paused"); b == nil || !b.Suspended {
		t.Errorf("kustomization.paused = %+v, want suspended", b)
	}

	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	c.Kubectl(t, "-n", ns, "scale", "deployment", "web", "--replicas=3")
	c.Kubectl(t, "-n", ns, "delete", "service", "web")
	c.Kubectl(t, "-n", ns, "patch", "secret", "creds", "--type=merge", "-p", `{"stringData":{"password":"changed-by-hand"}}`)
	// A label strata does not manage is not drift.
	c.Kubectl(t, "-n", ns, "label", "configmap", "settings", "extra=yes")

	rep = checkDrift(t, opts)
	want := []string{
		"deleted kustomization.app/Service/" + ns + "/web ",
		"modified kustomization.app/ConfigMap/" + ns + "/settings data.mode",
		"modified kustomization.app/Deployment.apps/" + ns + "/web spec.replicas",
		"modified kustomization.app/Secret/" + ns + "/creds data.password",
	}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
	for _, b := range rep.Blocks {
		for _, it := range b.Items {
			for _, f := range it.Fields {
				switch {
				case strings.Contains(it.Address, "Secret/") && !f.Sensitive:
					t.Errorf("%s %s not masked: %v -> %v", it.Address, f.Path, f.Live, f.Applied)
				case strings.Contains(it.Address, "ConfigMap/") && (f.Live != "slow" || f.Applied != "fast"):
					t.Errorf("%s %s: %v -> %v, want slow -> fast", it.Address, f.Path, f.Live, f.Applied)
				}
			}
		}
	}
	// The report is what every renderer prints from (internal/view tests
	// that they print masked values as such).
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "changed-by-hand") ||
		strings.Contains(string(b), "aHVudGVy") || strings.Contains(string(b), "Y2hhbmdlZC1ieS1oYW5k") {
		t.Errorf("report reveals a secret value:\n%s", b)
	}
	if !strings.Contains(string(b), "spec.replicas") {
		t.Errorf("report does not name spec.replicas:\n%s", b)
	}

	// Applying again undoes the drift.
	applyStack(t, opts)
	if got := summary(checkDrift(t, opts)); len(got) != 0 {
		t.Errorf("drift after a corrective apply: %v", got)
	}
}

// TestDriftWithoutRender checks that a drift check with no baseline (a
// fresh CronJob pod) clears objects that changed since the apply but whose
// applied fields strata still owns, from the field ownership recorded in
// the state, without rendering the block: the configuration on disk has
// changed since the apply, so a render could not vouch for any object.
func TestDriftWithoutRender(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "driftnr")
	dir := driftStack(t, ns)
	opts := testOptions(c, dir)
	applyStack(t, opts)

	// Changes by others to fields strata does not apply.
	c.Kubectl(t, "-n", ns, "label", "configmap", "settings", "owner=team-a")
	c.Kubectl(t, "-n", ns, "annotate", "deployment", "web", "note=by-hand")
	// The configuration moves on after the apply.
	p := filepath.Join(dir, "app", "objects.yaml")
	y, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(y), "mode: fast", "mode: faster")), 0o644); err != nil {
		t.Fatal(err)
	}

	rep := checkDrift(t, opts)
	b := rep.Block("kustomization.app")
	if b == nil || b.Checked != 4 || b.DryRuns != 0 || len(b.Notes) != 0 || len(b.Items) != 0 || b.Error != "" {
		t.Fatalf("kustomization.app = %+v, want 4 objects checked, clean, without dry runs or notes", b)
	}

	// A field strata applied, edited: reported, although the fields cannot
	// be named against a configuration that has moved on.
	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	rep = checkDrift(t, opts)
	want := []string{"modified kustomization.app/ConfigMap/" + ns + "/settings "}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
	if b := rep.Block("kustomization.app"); b == nil || len(b.Items) != 1 || !strings.Contains(b.Items[0].Message, "strata plan") {
		t.Errorf("kustomization.app = %+v, want one item that points to strata plan", b)
	}
}

// TestDriftDefaultNamespace checks that an object rendered without a
// namespace (it goes to "default") is compared field by field: the block
// rendered again must digest as the apply recorded it.
func TestDriftDefaultNamespace(t *testing.T) {
	c := testcluster.Get(t)
	name := testcluster.UniqueName("nons")
	dir := writeStack(t, map[string]string{
		"main.hcl":    "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {mode: fast}\n",
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	t.Cleanup(func() {
		_, _ = c.KubectlCommand(t, "delete", "configmap", name).CombinedOutput()
	})

	c.Kubectl(t, "patch", "configmap", name, "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	rep := checkDrift(t, opts)
	want := []string{"modified kustomization.app/ConfigMap/default/" + name + " data.mode"}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Errorf("drift (-want +got):\n%s\nblock: %+v", d, rep.Block("kustomization.app"))
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

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helmCLI returns a function running the real Helm CLI (built from the
// module's helm.sh/helm/v3, cached next to the cluster binaries).
func helmCLI(t *testing.T, c *testcluster.Cluster) func(args ...string) string {
	t.Helper()
	helmOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "helm.sh/helm/v3").Output()
		if err != nil {
			helmErr = err
			return
		}
		cache, err := testcluster.CacheDir()
		if err != nil {
			helmErr = err
			return
		}
		helmBin = filepath.Join(cache, "helm-"+strings.TrimSpace(string(out)))
		if _, err := os.Stat(helmBin); err == nil {
			return
		}
		tmp := fmt.Sprintf("%s.tmp%d", helmBin, os.Getpid())
		if out, err := exec.Command("go", "build", "-o", tmp, "helm.sh/helm/v3/cmd/helm").CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("build helm: %v\n%s", err, out)
			return
		}
		helmErr = os.Rename(tmp, helmBin)
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	home := t.TempDir()
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command(helmBin, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

// TestDriftSources checks a kustomization from a Git source: objects are
// compared with what was applied (the recorded commit), not with the
// branch's new head, and --sources reports the branch that moved on.
func TestDriftSources(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "dsrc")
	repo, cm, first, dir := gitStack(t, ns)
	opts := testOptions(c, dir)
	applyStack(t, opts)
	second := repo.Commit(t, cm("green"), gitserver.CommitOptions{})
	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"color":"red"}}`)

	rep := checkDriftWith(t, opts, DriftOptions{Sources: true})
	want := []string{
		"modified kustomization.app/ConfigMap/" + ns + "/settings data.color",
		"source source.git.platform revision",
	}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Fatalf("drift (-want +got):\n%s", d)
	}
	f := rep.Block("kustomization.app").Items[0].Fields[0]
	if f.Live != "red" || f.Applied != "blue" {
		t.Errorf("data.color: live %v, applied %v; want red, blue (the applied commit, not the new head)", f.Live, f.Applied)
	}
	src := rep.Block("source.git.platform").Items[0].Fields[0]
	if !strings.HasSuffix(fmt.Sprint(src.Live), first.String()) || !strings.HasSuffix(fmt.Sprint(src.Applied), second.String()) {
		t.Errorf("source revision %v -> %v, want %s -> %s", src.Live, src.Applied, first, second)
	}
	if n := rep.Block("kustomization.app").Notes; len(n) != 0 {
		t.Errorf("notes %v, want none", n)
	}
}

// TestDriftChartSource checks that drift --sources reports a release whose
// chart repository serves a newer version matching the block's constraint,
// and only then.
func TestDriftChartSource(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "dchart")
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, helmserver.Chart("hello", "1.0.0"))
	dir := writeStack(t, map[string]string{"main.hcl": fmt.Sprintf(`source "helm" "charts" {
  url = %q
}
release "hello" {
  namespace = %q
  chart     = "hello"
  version   = "~> 1.0.0"
  source    = source.helm.charts
}
`, srv.URL(), ns)})
	opts := testOptions(c, dir)
	applyStack(t, opts)

	drifted := func() []string {
		t.Helper()
		rep := checkDriftWith(t, opts, DriftOptions{Sources: true})
		if rep.HasErrors() {
			t.Fatalf("drift errors: %+v", rep.Blocks)
		}
		var out []string
		for _, b := range rep.Blocks {
			for _, it := range b.Items {
				for _, f := range it.Fields {
					out = append(out, fmt.Sprintf("%s %s %s %v -> %v", it.Kind, it.Address, f.Path, f.Live, f.Applied))
				}
			}
		}
		return out
	}
	srv.AddChart(t, helmserver.Chart("hello", "1.1.0")) // outside the constraint
	if got := drifted(); len(got) != 0 {
		t.Fatalf("drift with no matching newer chart: %v", got)
	}
	srv.AddChart(t, helmserver.Chart("hello", "1.0.1"))
	want := []string{"source release.hello chart.version 1.0.0 -> 1.0.1"}
	if d := cmp.Diff(want, drifted()); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
}
