package helm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	helmcli "github.com/strata-gitops/strata/internal/cmd/helm"
	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/helmrepo"
	"github.com/strata-gitops/strata/providers/kube"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

const deploymentTmpl = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
  labels:
    chart-version: {{ .Chart.Version | quote }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      {{- with .Values.nodeSelector }}
      nodeSelector: {{ toJson . }}
      {{- end }}
      containers:
      - name: app
        image: {{ .Values.image }}
`

const configMapTmpl = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  greeting: {{ .Values.greeting | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
`

const secretTmpl = `apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-secret
stringData:
  password: {{ .Values.password | quote }}
`

// demoChart is a chart with a Deployment, a ConfigMap and a Secret.
func demoChart(version string) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "demo", Version: version, AppVersion: "app-" + version},
		Values:   map[string]any{"image": "nginx:1.0", "greeting": "hello", "password": "hunter2"},
		// Raw is what chartutil.Save writes as values.yaml.
		Raw: []*chart.File{{Name: "values.yaml", Data: []byte("image: nginx:1.0\ngreeting: hello\npassword: hunter2\n")}},
		Templates: []*chart.File{
			{Name: "templates/deployment.yaml", Data: []byte(deploymentTmpl)},
			{Name: "templates/configmap.yaml", Data: []byte(configMapTmpl)},
			{Name: "templates/secret.yaml", Data: []byte(secretTmpl)},
		},
	}
}

// crdChart ships a CRD in crds/ and a custom resource of it in templates/.
func crdChart(group string) *chart.Chart {
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.` + group + `
spec:
  group: ` + group + `
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`
	cr := `apiVersion: ` + group + `/v1
kind: Widget
metadata:
  name: {{ .Release.Name }}-widget
spec:
  size: {{ .Values.size }}
`
	return &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "widgets", Version: "0.1.0"},
		Values:    map[string]any{"size": 3},
		Files:     []*chart.File{{Name: "crds/widgets.yaml", Data: []byte(crd)}},
		Templates: []*chart.File{{Name: "templates/widget.yaml", Data: []byte(cr)}},
	}
}

// chartRepo is a real in-process Helm chart repository
// (internal/testserver/helmserver) read through providers/helmrepo, as the
// planner gets its charts.
type chartRepo struct {
	srv    *helmserver.Server
	client *helmrepo.Client
}

func newChartRepo(t *testing.T, charts ...*chart.Chart) *chartRepo {
	t.Helper()
	srv := helmserver.New(t, helmserver.Options{})
	for _, ch := range charts {
		srv.AddChart(t, ch)
	}
	c, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := helmrepo.New(helmrepo.Options{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	return &chartRepo{srv: srv, client: client}
}

// chart resolves name@version in the repository, downloads and loads it.
func (r *chartRepo) chart(t *testing.T, name, version string) *chart.Chart {
	t.Helper()
	pulled, err := r.client.Pull(context.Background(), helmrepo.Spec{URL: r.srv.URL()}, helmrepo.ChartRef{Name: name, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := pulled.Load()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func newManager(t testing.TB) (*helm.Manager, *testcluster.Cluster) {
	t.Helper()
	c := testcluster.Get(t)
	m, err := helm.NewManager(c.RESTConfig(), helm.Options{PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func plan(t testing.TB, m *helm.Manager, spec helm.ReleaseSpec) *helm.ReleasePlan {
	t.Helper()
	p, err := m.Plan(context.Background(), spec)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func apply(t testing.TB, m *helm.Manager, p *helm.ReleasePlan) *helm.Result {
	t.Helper()
	res, err := m.Apply(context.Background(), p, nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// noChanges asserts that a plan right after an apply finds nothing to do.
func noChanges(t *testing.T, m *helm.Manager, spec helm.ReleaseSpec) {
	t.Helper()
	p := plan(t, m, spec)
	if p.Action != helm.ActionNoop || len(p.Changes) != 0 {
		t.Fatalf("second plan: %s (%s) with %d changes, want noop: %+v", p.Action, p.Reason, len(p.Changes), p.Changes)
	}
}

func changeOf(p *helm.ReleasePlan, kind, name string) *kube.Change {
	for i := range p.Changes {
		if p.Changes[i].Ref.Kind == kind && p.Changes[i].Ref.Name == name {
			return &p.Changes[i]
		}
	}
	return nil
}

func deploymentImage(t *testing.T, c *testcluster.Cluster, ns, name string) string {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helmCLI returns a function running the real Helm CLI (internal/cmd/helm)
// against the cluster.
func helmCLI(t testing.TB, c *testcluster.Cluster) func(args ...string) string {
	t.Helper()
	helmOnce.Do(func() { helmBin, helmErr = helmcli.Binary(context.Background()) })
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	home := t.TempDir()
	return func(args ...string) string {
		t.Helper()
		out, err := helmcli.Command(context.Background(), helmBin, c.Kubeconfig(), home, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

// deleteCRD removes a CRD a test created (CRDs are cluster-scoped).
func deleteCRD(t *testing.T, c *testcluster.Cluster, name string) {
	out, err := c.KubectlCommand(t, "delete", "crd", name, "--wait=false", "--ignore-not-found").CombinedOutput()
	if err != nil {
		t.Logf("delete crd %s: %v\n%s", name, err, out)
	}
}

func TestReleaseLifecycle(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-life")
	r := newChartRepo(t, demoChart("1.0.0"), demoChart("1.1.0"))
	spec := helm.ReleaseSpec{
		Name: "web", Namespace: ns,
		Chart:   r.chart(t, "demo", "1.0.0"),
		Values:  map[string]any{"password": "s3cr3t-value"},
		Timeout: time.Minute,
	}

	// Install.
	p := plan(t, m, spec)
	if p.Action != helm.ActionInstall {
		t.Fatalf("first plan: %s, want install", p.Action)
	}
	if got := changeOf(p, "Deployment", "web-app"); got == nil || got.Action != kube.ActionCreate {
		t.Fatalf("install plan has no Deployment create: %+v", p.Changes)
	}
	if cm := changeOf(p, "ConfigMap", "web-config"); cm == nil || !strings.HasPrefix(cm.After.Object["data"].(map[string]any)["kube"].(string), "v1.") {
		t.Fatalf("ConfigMap not rendered with the cluster's kube version: %+v", cm)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "s3cr3t-value") || strings.Contains(string(js), "czNjcjN0LXZhbHVl") {
		t.Fatalf("plan JSON holds the secret value: %s", js)
	}
	res := apply(t, m, p)
	if diff := cmp.Diff(&helm.Result{
		Name: "web", Namespace: ns, Chart: "demo", ChartVersion: "1.0.0", AppVersion: "app-1.0.0",
		ValuesDigest: p.ValuesDigest.New, Revision: 1, Status: "deployed", Action: helm.ActionInstall, Attempts: 1,
	}, res); diff != "" {
		t.Fatalf("install result (-want +got):\n%s", diff)
	}
	noChanges(t, m, spec)

	// Upgrade by a values change: the plan shows exactly the image field.
	spec.Values = map[string]any{"password": "s3cr3t-value", "image": "nginx:1.1"}
	p = plan(t, m, spec)
	if p.Action != helm.ActionUpgrade || p.Reason != "values changed" {
		t.Fatalf("values plan: %s (%s), want upgrade (values changed)", p.Action, p.Reason)
	}
	if len(p.Changes) != 1 {
		t.Fatalf("values plan changes %d objects, want 1: %+v", len(p.Changes), p.Changes)
	}
	want := []kube.FieldDiff{{Path: "spec.template.spec.containers[name=app].image", Before: "nginx:1.0", After: "nginx:1.1"}}
	if diff := cmp.Diff(want, changeOf(p, "Deployment", "web-app").Fields); diff != "" {
		t.Fatalf("image change fields (-want +got):\n%s", diff)
	}
	if res := apply(t, m, p); res.Revision != 2 || res.Status != "deployed" {
		t.Fatalf("upgrade result: %+v", res)
	}
	if got := deploymentImage(t, c, ns, "web-app"); got != "nginx:1.1" {
		t.Fatalf("image after upgrade = %s", got)
	}
	noChanges(t, m, spec)

	// A Secret change is shown masked.
	spec.Values["password"] = "n3w-s3cr3t"
	p = plan(t, m, spec)
	sc := changeOf(p, "Secret", "web-secret")
	if sc == nil || len(sc.Fields) == 0 {
		t.Fatalf("password change not planned: %+v", p.Changes)
	}
	if js, _ := json.Marshal(p); strings.Contains(string(js), "n3w-s3cr3t") || strings.Contains(string(js), "s3cr3t-value") ||
		strings.Contains(string(js), "bjN3LXMzY3IzdA") {
		t.Fatalf("secret values in plan: %s", js)
	}
	apply(t, m, p)
	noChanges(t, m, spec)

	// Upgrade by a chart version change.
	spec.Chart = r.chart(t, "demo", "1.1.0")
	p = plan(t, m, spec)
	if p.Action != helm.ActionUpgrade || p.ChartVersion != (helm.Change{Old: "1.0.0", New: "1.1.0"}) ||
		p.AppVersion != (helm.Change{Old: "app-1.0.0", New: "app-1.1.0"}) {
		t.Fatalf("chart plan: %s %s %+v %+v", p.Action, p.Reason, p.ChartVersion, p.AppVersion)
	}
	if res := apply(t, m, p); res.ChartVersion != "1.1.0" || res.Revision != 4 {
		t.Fatalf("chart upgrade result: %+v", res)
	}
	noChanges(t, m, spec)

	// Drift: an image edited behind strata's back shows and is corrected.
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, "-n", ns, "set", "image", "deployment/web-app", "app=evil:6.6.6")
	if err := cs.CoreV1().ConfigMaps(ns).Delete(context.Background(), "web-config", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p = plan(t, m, spec)
	if p.Action != helm.ActionUpgrade || !p.Drift {
		t.Fatalf("drift plan: %s (%s) drift=%v", p.Action, p.Reason, p.Drift)
	}
	dc := changeOf(p, "Deployment", "web-app")
	if dc == nil || len(dc.Fields) != 1 || dc.Fields[0].Before != "evil:6.6.6" || dc.Fields[0].After != "nginx:1.1" {
		t.Fatalf("drifted Deployment change: %+v", dc)
	}
	if cc := changeOf(p, "ConfigMap", "web-config"); cc == nil || cc.Action != kube.ActionCreate {
		t.Fatalf("deleted ConfigMap not planned as create: %+v", p.Changes)
	}
	apply(t, m, p)
	if got := deploymentImage(t, c, ns, "web-app"); got != "nginx:1.1" {
		t.Fatalf("image after drift correction = %s", got)
	}
	noChanges(t, m, spec)

	// A failing upgrade (pods no node can run: the wait times out) is
	// rolled back automatically.
	bad := spec
	bad.Values = map[string]any{"password": "n3w-s3cr3t", "image": "nginx:1.1", "nodeSelector": map[string]any{"strata.dev/none": "nowhere"}}
	bad.Timeout = 5 * time.Second
	bad.CleanupOnFail = true
	p = plan(t, m, bad)
	res, err = m.Apply(context.Background(), p, nil)
	if err == nil {
		t.Fatalf("failing upgrade succeeded: %+v", res)
	}
	if res == nil || res.Remediated != helm.RemediateRollback || res.Status != "deployed" || res.Revision != 7 {
		t.Fatalf("failing upgrade result: %+v (err %v)", res, err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Spec.Template.Spec.NodeSelector) != 0 {
		t.Fatalf("rollback left nodeSelector %v", d.Spec.Template.Spec.NodeSelector)
	}
	noChanges(t, m, spec)
	if p := plan(t, m, bad); p.Action != helm.ActionUpgrade {
		t.Fatalf("plan of the failing spec after rollback: %s, want upgrade", p.Action)
	}

	// The Helm CLI sees all of it.
	h := helmCLI(t, c)
	if out := h("list", "-n", ns); !strings.Contains(out, "web") || !strings.Contains(out, "demo-1.1.0") || !strings.Contains(out, "deployed") {
		t.Fatalf("helm list:\n%s", out)
	}
	hist := h("history", "web", "-n", ns)
	for _, w := range []string{"Install complete", "Upgrade complete", "failed", "Rollback to 5"} {
		if !strings.Contains(hist, w) {
			t.Fatalf("helm history lacks %q:\n%s", w, hist)
		}
	}
	if out := h("get", "values", "web", "-n", ns); !strings.Contains(out, "image: nginx:1.1") {
		t.Fatalf("helm get values:\n%s", out)
	}

	// Uninstall when the release leaves the stack.
	p, err = m.PlanUninstall(context.Background(), "web", ns)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != helm.ActionUninstall || changeOf(p, "Deployment", "web-app") == nil {
		t.Fatalf("uninstall plan: %s %+v", p.Action, p.Changes)
	}
	apply(t, m, p)
	if _, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web-app", metav1.GetOptions{}); err == nil {
		t.Fatal("Deployment still there after uninstall")
	}
	if p, err := m.PlanUninstall(context.Background(), "web", ns); err != nil || p.Action != helm.ActionNoop {
		t.Fatalf("second uninstall plan: %+v %v", p, err)
	}
	if out := h("list", "-n", ns, "-a"); strings.Contains(out, "web") {
		t.Fatalf("helm list after uninstall:\n%s", out)
	}
}

func TestChartWithCRDsInstallsInOneRun(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-crd")
	group := strings.ReplaceAll(testcluster.UniqueName("h8"), "-", "") + ".example.com"
	spec := helm.ReleaseSpec{Name: "w", Namespace: ns, Chart: crdChart(group), Timeout: time.Minute}
	t.Cleanup(func() { deleteCRD(t, c, "widgets."+group) })
	p := plan(t, m, spec)
	if p.Action != helm.ActionInstall {
		t.Fatalf("plan: %s", p.Action)
	}
	if changeOf(p, "CustomResourceDefinition", "widgets."+group) == nil || changeOf(p, "Widget", "w-widget") == nil {
		t.Fatalf("plan lacks the CRD or the Widget: %+v", p.Changes)
	}
	if res := apply(t, m, p); res.Status != "deployed" {
		t.Fatalf("result: %+v", res)
	}
	if out := c.Kubectl(t, "-n", ns, "get", "widgets."+group, "w-widget", "-o", "jsonpath={.spec.size}"); out != "3" {
		t.Fatalf("widget size: %q", out)
	}
	noChanges(t, m, spec)
}

func TestAdoptsReleaseInstalledWithHelmCLI(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-adopt")
	dir := t.TempDir()
	path, err := chartutil.Save(demoChart("1.0.0"), dir)
	if err != nil {
		t.Fatal(err)
	}
	h := helmCLI(t, c)
	h("install", "legacy", path, "-n", ns, "--set", "greeting=hi")
	spec := helm.ReleaseSpec{Name: "legacy", Namespace: ns, ChartPath: path, Values: map[string]any{"greeting": "hi"}}
	noChanges(t, m, spec)
	spec.Values = map[string]any{"greeting": "hello again"}
	p := plan(t, m, spec)
	if p.Action != helm.ActionUpgrade || p.Revision != 1 {
		t.Fatalf("plan: %s rev %d", p.Action, p.Revision)
	}
	if res := apply(t, m, p); res.Revision != 2 {
		t.Fatalf("result: %+v", res)
	}
	if out := h("history", "legacy", "-n", ns); !strings.Contains(out, "Upgrade complete") {
		t.Fatalf("helm history:\n%s", out)
	}
}

// TestPlanIgnoresControllerWrites plans a release, one of whose objects was
// edited in the cluster, while a "controller" changes an annotation of that
// object that the chart does not set (as the Deployment controller writes
// deployment.kubernetes.io/revision after a rollout) right before each of
// the first dry runs of the object's patch, that is between strata's read
// of the object and the dry run. The plan must show the edit only: the
// annotation used to show up as a change of the release (the
// TestReleaseLifecycle flake, and false drift for users).
func TestPlanIgnoresControllerWrites(t *testing.T) {
	t.Parallel()
	c := testcluster.Get(t)
	ns := c.Namespace(t, "helm-ctrl")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	cms := cs.CoreV1().ConfigMaps(ns)
	const writes = 3 // fewer than the dry runs strata makes of one object
	var mu sync.Mutex
	written := 0
	cfg := c.RESTConfig()
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch && req.URL.Query().Get("dryRun") != "" &&
				strings.HasSuffix(req.URL.Path, "/namespaces/"+ns+"/configmaps/web-config") {
				mu.Lock()
				if written < writes {
					written++
					patch := fmt.Sprintf(`{"metadata":{"annotations":{"example.com/revision":"%d"}}}`, written)
					if _, err := cms.Patch(req.Context(), "web-config", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
						t.Error(err)
					}
				}
				mu.Unlock()
			}
			return rt.RoundTrip(req)
		})
	})
	m, err := helm.NewManager(cfg, helm.Options{PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := newChartRepo(t, demoChart("1.0.0"))
	spec := helm.ReleaseSpec{Name: "web", Namespace: ns, Chart: r.chart(t, "demo", "1.0.0"), Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))
	edit := []byte(`{"data":{"greeting":"edited"}}`)
	if _, err := cms.Patch(context.Background(), "web-config", types.MergePatchType, edit, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	cc := changeOf(plan(t, m, spec), "ConfigMap", "web-config")
	if cc == nil {
		t.Fatal("the edited ConfigMap is not planned")
	}
	want := []kube.FieldDiff{{Path: "data.greeting", Before: "edited", After: "hello"}}
	if diff := cmp.Diff(want, cc.Fields); diff != "" {
		t.Errorf("ConfigMap fields (-want +got):\n%s", diff)
	}
	if written != writes {
		t.Errorf("the controller wrote %d times, want %d: the test does not test the race", written, writes)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
