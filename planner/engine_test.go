package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	testcluster.Main(m)
}

// writeStack writes files into a new stack directory with a unique name
// (the name is the stack's ownership label).
func writeStack(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("stack"))
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if strings.HasPrefix(rel, ".strata") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testOptions(c *testcluster.Cluster, dir string, vars ...string) Options {
	opts := Options{Dir: dir, RESTConfig: c.RESTConfig(), Getenv: func(string) string { return "" }}
	for _, v := range vars {
		name, value, _ := strings.Cut(v, "=")
		opts.Vars = append(opts.Vars, config.VarArg{Name: name, Value: value})
	}
	return opts
}

// planStack loads and plans the stack under the lock and returns the
// (unlocked) engine and the plan.
func planStack(t *testing.T, opts Options) (*Engine, *plan.Plan) {
	t.Helper()
	e, p := lockedPlan(t, opts)
	if err := e.Unlock(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e, p
}

// lockedPlan is planStack that keeps the lock (released at cleanup).
func lockedPlan(t *testing.T, opts Options) (*Engine, *plan.Plan) {
	t.Helper()
	e, diags := Load(opts)
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	ctx := context.Background()
	if err := e.Lock(ctx, "test", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Unlock(context.Background()); e.Close() })
	p, err := e.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return e, p
}

func applyStack(t *testing.T, opts Options) *Result {
	t.Helper()
	e, p := lockedPlan(t, opts)
	res, err := e.Apply(context.Background(), p, ApplyOptions{})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if err := e.Unlock(context.Background()); err != nil {
		t.Fatal(err)
	}
	return res
}

func changed(p *plan.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if !c.Actions.IsNoOp() {
			out = append(out, fmt.Sprintf("%v %s", c.Actions, c.Address))
		}
	}
	sort.Strings(out)
	return out
}

// labelled lists the addresses of the objects in the cluster that carry
// the stack's ownership label, among the given resources.
func labelled(t *testing.T, c *testcluster.Cluster, stack string, gvrs ...schema.GroupVersionResource) []string {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, gvr := range gvrs {
		list, err := dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{LabelSelector: "strata.dev/stack=" + stack})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			if o.GetDeletionTimestamp() != nil {
				continue
			}
			out = append(out, kube.RefOf(&o).Address(o.GetLabels()["strata.dev/block"]))
		}
	}
	sort.Strings(out)
	return out
}

func stateObjects(t *testing.T, e *Engine) []string {
	t.Helper()
	s, err := e.Store()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range snap.Objects {
		out = append(out, o.Address)
	}
	sort.Strings(out)
	return out
}

var (
	gvrNamespace  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrConfigMap  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrService    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrDeployment = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrSecret     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// TestQuickstart plans and applies examples/quickstart, then checks that a
// second plan has no changes, that the state lists exactly the objects in
// the cluster, and that destroy removes them.
func TestQuickstart(t *testing.T) {
	c := testcluster.Get(t)
	waitNamespaceGone(t, c, "quickstart") // an earlier run's destroy may still be finishing
	dir := filepath.Join(t.TempDir(), "quickstart")
	copyDir(t, "../examples/quickstart", dir)
	opts := testOptions(c, dir)

	_, p := planStack(t, opts)
	want := []string{
		"[create] kustomization.app/Deployment.apps/quickstart/web",
		"[create] kustomization.app/Service/quickstart/web",
		"[create] kustomization.base/ConfigMap/quickstart/web-settings",
		"[create] kustomization.base/Namespace/quickstart",
	}
	if diff := cmp.Diff(want, changed(p)); diff != "" {
		t.Fatalf("first plan (-want +got):\n%s", diff)
	}
	res := applyStack(t, opts)
	if res.Added != 4 {
		t.Errorf("apply added %d objects, want 4", res.Added)
	}
	t.Cleanup(func() {
		o := opts
		o.Destroy = true
		applyStack(t, o)
	})

	e, p := planStack(t, opts)
	if p.HasChanges() {
		t.Fatalf("second plan has changes: %v", changed(p))
	}
	got := stateObjects(t, e)
	inCluster := labelled(t, c, "quickstart", gvrNamespace, gvrConfigMap, gvrService, gvrDeployment)
	if diff := cmp.Diff(inCluster, got); diff != "" {
		t.Errorf("state vs cluster (-cluster +state):\n%s", diff)
	}

	// The variable flows into the manifests.
	_, p = planStack(t, testOptions(c, dir, "environment=staging"))
	var fields []string
	for _, ch := range p.Changes {
		for _, d := range ch.Diff {
			fields = append(fields, ch.Address+" "+d.Path)
		}
	}
	for _, w := range []string{
		"kustomization.base/ConfigMap/quickstart/web-settings data.environment",
		"kustomization.base/Namespace/quickstart metadata.labels.environment",
	} {
		if !slices.Contains(fields, w) {
			t.Errorf("plan with environment=staging lacks %s; fields: %v", w, fields)
		}
	}
}

func waitNamespaceGone(t *testing.T, c *testcluster.Cluster, name string) {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s still exists: %v", name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

const saveStack = `
variable "replicas" {
  type    = number
  default = 1
}
kustomization "app" {
  path       = "app"
  wait       = false
  substitute = { replicas = tostring(var.replicas) }
}
`

func saveFiles(ns string) map[string]string {
	return map[string]string{
		"main.hcl": saveStack,
		"app/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ` + ns + `
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
`,
		"app/secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: ` + ns + `
stringData:
  password: hunter2-${replicas}
`,
	}
}

// savedPlan makes a plan with replicas=3 over an applied stack and saves it.
func savedPlan(t *testing.T, c *testcluster.Cluster) (dir, file string) {
	t.Helper()
	ns := c.Namespace(t, "saved")
	dir = writeStack(t, saveFiles(ns))
	applyStack(t, testOptions(c, dir))
	_, p := planStack(t, testOptions(c, dir, "replicas=3"))
	if len(changed(p)) != 2 {
		t.Fatalf("plan changes %v, want the Deployment and the Secret", changed(p))
	}
	file = filepath.Join(t.TempDir(), "plan.out")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func applySaved(t *testing.T, c *testcluster.Cluster, file string) (*Result, error) {
	t.Helper()
	p, err := plan.ReadFile(file)
	if err != nil {
		return nil, err
	}
	e, err := ForPlan(p, Options{RESTConfig: c.RESTConfig(), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Lock(context.Background(), "apply", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	defer e.Unlock(context.Background())
	return e.Apply(context.Background(), p, ApplyOptions{Saved: true})
}

func TestSavedPlan(t *testing.T) {
	c := testcluster.Get(t)
	t.Run("applies", func(t *testing.T) {
		dir, file := savedPlan(t, c)
		res, err := applySaved(t, c, file)
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed != 2 {
			t.Errorf("changed %d objects, want 2", res.Changed)
		}
		_, p := planStack(t, testOptions(c, dir, "replicas=3"))
		if p.HasChanges() {
			t.Errorf("plan after the saved apply has changes: %v", changed(p))
		}
	})
	t.Run("serial moved", func(t *testing.T) {
		dir, file := savedPlan(t, c)
		applyStack(t, testOptions(c, dir, "replicas=2"))
		_, err := applySaved(t, c, file)
		if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), "state changed") {
			t.Fatalf("err = %v, want a stale state error", err)
		}
	})
	t.Run("edited with kubectl", func(t *testing.T) {
		dir, file := savedPlan(t, c)
		p, err := plan.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ns := p.Changes[0].Namespace
		c.Kubectl(t, "-n", ns, "annotate", "deployment/web", "edited-by=someone")
		_, err = applySaved(t, c, file)
		if !errors.Is(err, ErrStalePlan) {
			t.Fatalf("err = %v, want ErrStalePlan", err)
		}
		want := "kustomization.app/Deployment.apps/" + ns + "/web was changed in the cluster"
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name the Deployment (%q)", err, want)
		}
		_ = dir
	})
	t.Run("status moved", func(t *testing.T) {
		// A controller updating status between plan and apply (hours in a
		// PR workflow) does not make the plan stale.
		_, file := savedPlan(t, c)
		p, err := plan.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ns := p.Changes[0].Namespace
		rv := func() string {
			out, err := c.KubectlCommand(t, "-n", ns, "get", "deployment/web",
				"-o", "jsonpath={.metadata.resourceVersion}").Output()
			if err != nil {
				t.Fatal(err)
			}
			return string(out)
		}
		before := rv()
		c.Kubectl(t, "-n", ns, "patch", "deployment/web",
			"--subresource=status", "--type=merge", "-p", `{"status":{"conditions":[{"type":"Progressing","status":"True","reason":"Testing","message":"status moved"}]}}`)
		if rv() == before {
			t.Fatal("the status patch did not move the resourceVersion")
		}
		res, err := applySaved(t, c, file)
		if err != nil {
			t.Fatalf("apply of a saved plan after a status change: %v", err)
		}
		if res.Changed != 2 {
			t.Errorf("changed %d objects, want 2", res.Changed)
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		_, file := savedPlan(t, c)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x10
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = applySaved(t, c, file)
		if !errors.Is(err, plan.ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("secret masked", func(t *testing.T) {
		_, file := savedPlan(t, c)
		p, err := plan.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range p.Changes {
			if ch.Kind != "Secret" {
				continue
			}
			for _, d := range ch.Diff {
				if !d.Sensitive || d.Before != nil || d.After != nil {
					t.Errorf("secret field diff not masked: %+v", d)
				}
			}
			if strings.Contains(fmt.Sprint(ch.Before, ch.After), "hunter2") {
				t.Errorf("secret value in before/after")
			}
		}
	})
}

// TestRelease installs a release of a chart in the stack's directory,
// upgrades it by a values change and uninstalls it when it leaves the stack;
// after each apply a plan shows no changes.
func TestRelease(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "rel")
	stack := func(color string) string {
		return fmt.Sprintf(`release "web" {
  namespace = %q
  chart     = "charts/web"
  values    = { color = %q }
}
`, ns, color)
	}
	dir := writeStack(t, map[string]string{
		"main.hcl":                     stack("blue"),
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: \"1.0\"\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  color: {{ .Values.color | quote }}\n",
	})
	steps := []struct {
		name, hcl string
		want      plan.Action
	}{
		{"install", stack("blue"), plan.Install},
		{"upgrade", stack("green"), plan.Upgrade},
		{"uninstall", "", plan.Uninstall},
	}
	for _, s := range steps {
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(s.hcl), 0o644); err != nil {
			t.Fatal(err)
		}
		_, p := planStack(t, testOptions(c, dir))
		if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(s.want) {
			t.Fatalf("%s: releases %+v, want one %s", s.name, p.Releases, s.want)
		}
		applyStack(t, testOptions(c, dir))
		e, p := planStack(t, testOptions(c, dir))
		if p.HasChanges() {
			t.Fatalf("%s: plan after apply has changes: %+v", s.name, p.Releases)
		}
		st, _ := e.Store()
		snap, err := st.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := snap.Release("release.web"); ok == (s.want == plan.Uninstall) {
			t.Errorf("%s: state release present = %v", s.name, ok)
		}
	}
}
