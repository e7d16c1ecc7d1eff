package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

// jsonPlan runs plan -o json and decodes the output.
func jsonPlan(t *testing.T, args ...string) (int, map[string]any, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"plan", "-o", "json"}, args...)...)
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("plan -o json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	return code, got, stderr
}

// resourceChange returns the change of the object whose address ends with
// suffix.
func resourceChange(t *testing.T, p map[string]any, suffix string) map[string]any {
	t.Helper()
	for _, c := range p["resource_changes"].([]any) {
		c := c.(map[string]any)
		if strings.HasSuffix(c["address"].(string), suffix) {
			return c
		}
	}
	t.Fatalf("no resource change %s in %v", suffix, p["resource_changes"])
	return nil
}

// TestPlanShowsAllocatedValuesAsUnknown plans a new NodePort Service: its
// cluster IP and node port are assigned by the API server when it is
// created, so the plan shows them as known after apply (the dry run's
// placeholder is no value), in JSON and for people; once applied, the plan
// has no changes.
func TestPlanShowsAllocatedValuesAsUnknown(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "unknown")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("unknown"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n  wait = false\n}\n",
		"app/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: " + ns + "\nspec:\n  type: NodePort\n" +
			"  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()

	_, got, _ := jsonPlan(t, dir, kc)
	svc := resourceChange(t, got, "/Service/"+ns+"/web")
	spec := svc["after"].(map[string]any)["spec"].(map[string]any)
	if spec["clusterIP"] != plan.UnknownValue {
		t.Errorf("after.spec.clusterIP = %v, want %q", spec["clusterIP"], plan.UnknownValue)
	}
	unknown := map[string]bool{}
	for _, d := range svc["diff"].([]any) {
		d := d.(map[string]any)
		path := d["path"].(string)
		if d["unknown"] == true {
			unknown[path] = true
			if _, ok := d["after"]; ok {
				t.Errorf("diff %s is unknown but carries a value %v", path, d["after"])
			}
		} else if strings.Contains(path, "clusterIP") || strings.Contains(path, "nodePort") {
			t.Errorf("diff %s shows a value the server allocates: %v", path, d["after"])
		}
	}
	for _, p := range []string{"spec.clusterIP", "spec.clusterIPs[0]", "spec.ports[0].nodePort"} {
		if !unknown[p] {
			t.Errorf("diff %s is not marked unknown; unknown: %v", p, unknown)
		}
	}

	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	for _, want := range []string{"+ spec.clusterIP: (known after apply)", "+ spec.ports[0].nodePort: (known after apply)"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("plan: exit %d, output lacks %q\n%s%s", code, want, stdout, stderr)
		}
	}
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after apply: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
}

// TestPlanListsReleaseHooks plans a chart with a post-install hook Job, a
// pre-upgrade and a pre-delete hook: the install lists the first only, an
// install with disable_hooks none, the upgrade of the installed release the
// second, and a destroy the third (none with uninstall.disable_hooks).
// The chart's new Service shows its cluster IP as known after apply.
func TestPlanListsReleaseHooks(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "hooks")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("hooks"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": `variable "color" {
  type    = string
  default = "blue"
}
variable "nohooks" {
  type    = bool
  default = false
}
variable "nodeletehooks" {
  type    = bool
  default = false
}
release "web" {
  namespace = "` + ns + `"
  chart     = "charts/web"
  values    = { color = var.color }
  install {
    disable_hooks = var.nohooks
  }
  uninstall {
    disable_hooks = var.nodeletehooks
  }
}
`,
		"charts/web/templates/cleanup.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cleanup\n" +
			"  annotations:\n    helm.sh/hook: pre-delete\ndata:\n  color: {{ .Values.color | quote }}\n",
		"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n" +
			"data:\n  color: {{ .Values.color | quote }}\n",
		"charts/web/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n" +
			"spec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
		"charts/web/templates/migrate.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n" +
			"  annotations:\n    helm.sh/hook: post-install\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: hook-succeeded\n" +
			"spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: migrate, image: busybox:1.36, args: [\"true\"]}]\n",
		"charts/web/templates/notify.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-notify\n" +
			"  annotations:\n    helm.sh/hook: pre-upgrade\ndata:\n  color: {{ .Values.color | quote }}\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	hooks := func(p map[string]any) []any {
		t.Helper()
		rcs := p["release_changes"].([]any)
		if len(rcs) != 1 {
			t.Fatalf("release changes: %v", rcs)
		}
		h, _ := rcs[0].(map[string]any)["hooks"].([]any)
		return h
	}

	_, got, _ := jsonPlan(t, dir, kc)
	want := []any{map[string]any{"kind": "Job", "name": "web-migrate", "events": []any{"post-install"}, "weight": float64(-5),
		"delete_policies": []any{"hook-succeeded"}}}
	if h := hooks(got); len(h) != 1 || !jsonEqual(h, want) {
		t.Errorf("install hooks = %v, want %v", h, want)
	}
	// The release's new Service gets its cluster IP when it is created.
	var svc map[string]any
	for _, c := range got["release_changes"].([]any)[0].(map[string]any)["changes"].([]any) {
		if c := c.(map[string]any); c["kind"] == "Service" {
			svc = c
		}
	}
	if svc == nil || svc["after"].(map[string]any)["spec"].(map[string]any)["clusterIP"] != plan.UnknownValue {
		t.Errorf("release Service change = %v, want spec.clusterIP %q", svc, plan.UnknownValue)
	}
	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	if line := "runs hook:   Job/web-migrate at post-install (weight -5; deleted: hook-succeeded)"; code != 0 || !strings.Contains(stdout, line) {
		t.Errorf("plan: exit %d, output lacks %q\n%s%s", code, line, stdout, stderr)
	}
	if strings.Contains(stdout, "web-notify") {
		t.Errorf("an install lists the pre-upgrade hook:\n%s", stdout)
	}

	_, got, _ = jsonPlan(t, dir, kc, "--var", "nohooks=true")
	if h := hooks(got); len(h) != 0 {
		t.Errorf("install hooks with disable_hooks = %v, want none", h)
	}
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--var", "nohooks=true", "--auto-approve"); code != 0 {
		t.Fatalf("install without hooks: exit %d\n%s%s", code, stdout, stderr)
	}

	_, got, _ = jsonPlan(t, dir, kc, "--var", "color=green")
	want = []any{map[string]any{"kind": "ConfigMap", "name": "web-notify", "events": []any{"pre-upgrade"}}}
	if h := hooks(got); !jsonEqual(h, want) {
		t.Errorf("upgrade hooks = %v, want %v", h, want)
	}

	// The uninstall of a destroy runs the installed revision's pre-delete
	// hook, unless uninstall.disable_hooks.
	_, got, _ = jsonPlan(t, dir, kc, "--destroy")
	want = []any{map[string]any{"kind": "ConfigMap", "name": "web-cleanup", "events": []any{"pre-delete"}}}
	if h := hooks(got); !jsonEqual(h, want) {
		t.Errorf("uninstall hooks = %v, want %v", h, want)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--destroy")
	if line := "runs hook:   ConfigMap/web-cleanup at pre-delete"; code != 0 || !strings.Contains(stdout, line) {
		t.Errorf("plan --destroy: exit %d, output lacks %q\n%s%s", code, line, stdout, stderr)
	}
	_, got, _ = jsonPlan(t, dir, kc, "--destroy", "--var", "nodeletehooks=true")
	if h := hooks(got); len(h) != 0 {
		t.Errorf("uninstall hooks with uninstall.disable_hooks = %v, want none", h)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// statefulSetStack writes a stack whose kustomization "db" holds a
// StatefulSet with a volume claim template of the given size and a
// ConfigMap, force set as given.
func statefulSetStack(t *testing.T, dir, ns, size, color string, force bool) {
	t.Helper()
	f := "false"
	if force {
		f = "true"
	}
	writeFiles(t, dir, map[string]string{
		"main.hcl": "kustomization \"db\" {\n  path  = \"db\"\n  wait  = false\n  force = " + f + "\n}\n",
		"db/sts.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cassandra, namespace: ` + ns + `}
spec:
  serviceName: cassandra
  replicas: 3
  selector: {matchLabels: {app: cassandra}}
  template:
    metadata: {labels: {app: cassandra}}
    spec:
      containers: [{name: cassandra, image: cassandra:5}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: ` + size + `}}
`,
		"db/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: " + ns + "}\ndata: {color: " + color + "}\n",
	})
}

// TestImmutableChangeNeedsForce changes a StatefulSet's volume claim
// templates, which the API server refuses to update: without force = true
// the plan holds an error for it (exit 1, the ConfigMap's update still
// shown, nothing saved) and apply refuses it, changing nothing; a saved
// plan with an error is refused too. With force = true the plan replaces
// the StatefulSet, saying loudly that its pods are deleted at once, and
// apply carries it out.
func TestImmutableChangeNeedsForce(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "force")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("force"))
	kc := "--kubeconfig=" + c.Kubeconfig()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	statefulSetStack(t, dir, ns, "1Gi", "blue", false)
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "cassandra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := sts.UID

	statefulSetStack(t, dir, ns, "2Gi", "green", false)
	file := filepath.Join(t.TempDir(), "plan.out")
	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode", "--out", file)
	if code != 1 {
		t.Errorf("plan: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"kustomization.db/ConfigMap/" + ns + "/settings will be updated in-place",
		"Plan: 0 to add, 1 to change, 0 to destroy.",
		"Error: kustomization.db/StatefulSet.apps/" + ns + "/cassandra",
		"Immutable field changes: spec.volumeClaimTemplates: field is immutable.",
		"all its pods are deleted at once",
		"set force = true on kustomization.db",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "The plan has 1 error") {
		t.Errorf("plan stderr: %q", stderr)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a plan with errors was saved: %v", err)
	}
	_, got, _ := jsonPlan(t, dir, kc)
	errs, _ := got["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["address"] != "kustomization.db/StatefulSet.apps/"+ns+"/cassandra" {
		t.Errorf("JSON errors = %v", errs)
	}

	unchanged := func(what string) {
		t.Helper()
		sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "cassandra", metav1.GetOptions{})
		if err != nil || sts.UID != uid {
			t.Errorf("%s: StatefulSet replaced or gone (%v)", what, err)
		}
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
		if err != nil || cm.Data["color"] != "blue" {
			t.Errorf("%s: ConfigMap changed: %v %v", what, cm.Data, err)
		}
	}
	code, stdout, stderr = runCLI(t, "apply", dir, kc, "--auto-approve")
	if code != 1 || !strings.Contains(stderr, "The plan has 1 error") {
		t.Errorf("apply: exit %d, want 1 and the refusal\n%s%s", code, stdout, stderr)
	}
	unchanged("apply")

	// A saved plan that holds an error (made by another tool, or edited) is
	// refused before anything changes.
	statefulSetStack(t, dir, ns, "1Gi", "green", false)
	if code, stdout, stderr := runCLI(t, "plan", dir, kc, "--out", file); code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", code, stdout, stderr)
	}
	p, err := plan.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p.AddError("kustomization.db", "refused for the test")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "apply", file, kc)
	if code != 1 || !strings.Contains(stderr, "the plan has errors and cannot be applied: kustomization.db: refused for the test") {
		t.Errorf("apply FILE with an error: exit %d\n%s%s", code, stdout, stderr)
	}
	unchanged("apply FILE")

	statefulSetStack(t, dir, ns, "2Gi", "green", true)
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode", "--out", file)
	if code != 2 {
		t.Errorf("plan with force: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"kustomization.db/StatefulSet.apps/" + ns + "/cassandra must be replaced (force = true; immutable field changes",
		"! replace: the StatefulSet is deleted and created again: all its pods are deleted at once, not one by one, and restart; " +
			"its PersistentVolumeClaims are kept",
		"-/+ StatefulSet.apps " + ns + "/cassandra",
		"~ spec.volumeClaimTemplates[0].spec.resources.requests.storage: \"1Gi\" -> \"2Gi\" # forces replacement",
		"Plan: 1 to add, 1 to change, 1 to destroy.",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan with force lacks %q:\n%s", want, stdout)
		}
	}

	// The saved plan without force in its settings (made by hand or by an
	// older strata) is refused before anything changes.
	p, err = plan.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	unforced := filepath.Join(t.TempDir(), "unforced.out")
	b := p.Block("kustomization.db")
	b.Settings = []byte(strings.Replace(string(b.Settings), `"force":true`, `"force":false`, 1))
	if err := plan.WriteFile(unforced, p); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "apply", unforced, kc)
	if code != 1 || !strings.Contains(stderr, "cassandra: the plan replaces it, but kustomization.db does not set force = true") {
		t.Errorf("apply of a replace without force: exit %d\n%s%s", code, stdout, stderr)
	}
	unchanged("apply FILE without force")

	code, stdout, stderr = runCLI(t, "apply", file, kc)
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 1 added, 1 changed, 1 destroyed.") {
		t.Fatalf("apply with force: exit %d\n%s%s", code, stdout, stderr)
	}
	sts, err = cs.AppsV1().StatefulSets(ns).Get(ctx, "cassandra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sts.UID == uid || sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String() != "2Gi" {
		t.Errorf("StatefulSet not replaced: uid %s (was %s), storage %s", sts.UID, uid, sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage())
	}
	if code, stdout, stderr := runCLI(t, "plan", dir, kc, "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after the replace: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
}

// TestReleaseImmutableChangeIsAPlanError changes the volume claim templates
// of a release's StatefulSet, which Helm cannot upgrade (it updates in
// place; upgrade.force sends a replace the API server refuses too): the
// plan holds an error at the object that names the field and the way out
// (exit 1, the kustomization's change still shown) instead of failing as a
// whole, and apply refuses it, changing nothing. Deleting the StatefulSet
// with --cascade=orphan, as the error says, lets the upgrade create it.
func TestReleaseImmutableChangeIsAPlanError(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "relimm")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("relimm"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": `variable "size" {
  default = "1Gi"
}
variable "color" {
  default = "blue"
}
kustomization "app" {
  path       = "app"
  wait       = false
  substitute = { color = var.color }
}
release "db" {
  namespace = "` + ns + `"
  chart     = "chart"
  wait      = false
  values    = { size = var.size }
}
`,
		"app/cm.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: " + ns + "}\ndata:\n  color: ${color}\n",
		"chart/Chart.yaml":  "apiVersion: v2\nname: db\nversion: 0.1.0\n",
		"chart/values.yaml": "size: 1Gi\n",
		"chart/templates/sts.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: busybox}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: {{ .Values.size }}}}
`,
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := sts.UID

	changed := []string{"--var", "size=2Gi", "--var", "color=green"}
	code, stdout, stderr := runCLI(t, append([]string{"plan", dir, kc, "--detailed-exitcode"}, changed...)...)
	if code != 1 {
		t.Errorf("plan: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"kustomization.app/ConfigMap/" + ns + "/settings will be updated in-place",
		"Error: release.db/StatefulSet.apps/" + ns + "/db",
		"Immutable field changes: spec.volumeClaimTemplates: field is immutable.",
		"upgrade.force only makes it send a replace",
		"kubectl delete --cascade=orphan",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "The plan has 1 error") {
		t.Errorf("plan stderr: %q", stderr)
	}
	code, stdout, stderr = runCLI(t, append([]string{"apply", dir, kc, "--auto-approve"}, changed...)...)
	if code != 1 || !strings.Contains(stderr, "The plan has 1 error") {
		t.Errorf("apply: exit %d, want 1 and the refusal\n%s%s", code, stdout, stderr)
	}
	if cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{}); err != nil || cm.Data["color"] != "blue" {
		t.Errorf("the refused apply changed the ConfigMap: %v %v", cm, err)
	}
	if sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{}); err != nil || sts.UID != uid {
		t.Errorf("the refused apply replaced the StatefulSet: %v", err)
	}

	// The way out the error names.
	orphan := metav1.DeletePropagationOrphan
	if err := cs.AppsV1().StatefulSets(ns).Delete(ctx, "db", metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		_, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the StatefulSet is not gone after a minute: %v", err)
		}
	}
	code, stdout, stderr = runCLI(t, append([]string{"apply", dir, kc, "--auto-approve"}, changed...)...)
	if code != 0 {
		t.Fatalf("apply after deleting the StatefulSet: exit %d\n%s%s", code, stdout, stderr)
	}
	sts, err = cs.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil || sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String() != "2Gi" {
		t.Errorf("StatefulSet after the upgrade: %v", err)
	}
}

// TestSchemaTypoIsAPlanError plans a kustomization that creates a CRD and
// a custom resource of it with a mistyped field: the offline check against
// the planned schema refuses the resource, which is an error at the object
// printed after the rest of the plan (the CRD and a ConfigMap are still
// planned), not a failed plan; plan and apply exit 1 and nothing is
// created.
func TestSchemaTypoIsAPlanError(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "schematypo")
	group := testcluster.UniqueName("typo") + ".strata.test"
	crd := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets." + group + "\nspec:\n" +
		"  group: " + group + "\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}\n" +
		"  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n" +
		"        properties:\n          spec:\n            type: object\n            properties:\n              color: {type: string}\n"
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("schematypo"))
	writeFiles(t, dir, map[string]string{
		"main.hcl":        "kustomization \"app\" {\n  path = \"app\"\n  wait = false\n}\n",
		"app/crd.yaml":    crd,
		"app/widget.yaml": "apiVersion: " + group + "/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: " + ns + "\nspec:\n  colr: red\n",
		"app/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  k: v\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	addr := "kustomization.app/Widget." + group + "/" + ns + "/w"

	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	summary, errAt := strings.Index(stdout, "Plan: 2 to add, 0 to change, 0 to destroy."), strings.Index(stdout, "Error: "+addr)
	if code != 1 || summary < 0 || errAt < summary ||
		!strings.Contains(stdout[errAt:], "refused by the schema of CRD widgets."+group+": spec.colr: unknown field") ||
		!strings.Contains(stdout, "kustomization.app/CustomResourceDefinition.apiextensions.k8s.io/widgets."+group+" will be created") ||
		!strings.Contains(stderr, "The plan has 1 error") {
		t.Fatalf("plan: exit %d, want 1, the plan, then the error at %s\n%s%s", code, addr, stdout, stderr)
	}
	_, got, _ := jsonPlan(t, dir, kc)
	if errs, _ := got["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["address"] != addr {
		t.Errorf("JSON errors = %v", got["errors"])
	}
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 1 || !strings.Contains(stderr, "The plan has 1 error") {
		t.Errorf("apply: exit %d, want 1 and the refusal\n%s%s", code, stdout, stderr)
	}
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused apply created the ConfigMap: %v", err)
	}
}

// TestServerRefusalIsAPlanError plans a kustomization whose objects the API
// server's dry run refuses as invalid: a new ConfigMap with an invalid data
// key, a new Service with a port out of range, and an applied ConfigMap
// changed to an invalid key; and a new release whose chart renders a
// ConfigMap with an invalid key. Each is an error at the object, with the
// server's reason, printed after the rest of the plan (a valid change of
// another object is still planned), not a failed plan; plan (human, JSON,
// markdown), plan --out and apply exit 1, the plan is not saved, and
// nothing is created or changed.
func TestServerRefusalIsAPlanError(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "refusal")
	cm := func(name, data string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\ndata:\n  " + data + "\n"
	}
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("refusal"))
	writeFiles(t, dir, map[string]string{
		"main.hcl":          "kustomization \"app\" {\n  path = \"app\"\n  wait = false\n}\n",
		"app/settings.yaml": cm("settings", "k: v"),
		"app/upd.yaml":      cm("upd", "k: v"),
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, stdout, stderr)
	}
	writeFiles(t, dir, map[string]string{
		"app/settings.yaml": cm("settings", "k: v2"),
		"app/upd.yaml":      cm("upd", "\"also bad!\": v"),
		"app/bad.yaml":      cm("bad", "\"bad key!\": v"),
		"app/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: badsvc\n  namespace: " + ns + "\nspec:\n" +
			"  selector: {app: x}\n  ports:\n  - port: 70000\n",
		// A release's object the server refuses: an error at that object.
		"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n  wait = false\n}\n" +
			"release \"rel\" {\n  namespace = \"" + ns + "\"\n  chart = \"chart\"\n  wait = false\n}\n",
		"chart/Chart.yaml":        "apiVersion: v2\nname: rel\nversion: 0.1.0\n",
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: relbad}\ndata:\n  \"rel key!\": v\n",
	})
	block := "kustomization.app/"
	want := map[string]string{
		block + "ConfigMap/" + ns + "/bad":        "data[bad key!]: a valid config key must consist of",
		block + "ConfigMap/" + ns + "/upd":        "data[also bad!]: a valid config key must consist of",
		block + "Service/" + ns + "/badsvc":       "spec.ports[0].port: must be between 1 and 65535",
		"release.rel/ConfigMap/" + ns + "/relbad": "data[rel key!]: a valid config key must consist of",
	}

	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	summary := strings.Index(stdout, "Plan: 0 to add, 1 to change, 0 to destroy.")
	if code != 1 || summary < 0 || !strings.Contains(stdout, block+"ConfigMap/"+ns+"/settings will be updated") ||
		!strings.Contains(stderr, "The plan has 4 error") || strings.Contains(stderr, "diff failed") {
		t.Fatalf("plan: exit %d, want 1, the plan, then 4 errors\n%s%s", code, stdout, stderr)
	}
	for addr, reason := range want {
		at := strings.Index(stdout, "Error: "+addr)
		if at < summary || !strings.Contains(stdout[at:], "The API server refuses the object as invalid: "+reason) {
			t.Errorf("plan: no error at %s naming %q after the plan\n%s", addr, reason, stdout)
		}
	}

	code, got, _ := jsonPlan(t, dir, kc)
	errs, _ := got["errors"].([]any)
	if code != 1 || len(errs) != 4 {
		t.Errorf("plan -o json: exit %d, errors %v", code, got["errors"])
	}
	for _, e := range errs {
		e := e.(map[string]any)
		if reason, ok := want[e["address"].(string)]; !ok || !strings.Contains(e["message"].(string), reason) {
			t.Errorf("plan -o json: error %v", e)
		}
	}
	code, stdout, _ = runCLI(t, "plan", dir, kc, "-o", "markdown")
	if code != 1 || !strings.Contains(stdout, "> [!CAUTION]") || !strings.Contains(stdout, "`"+block+"Service/"+ns+"/badsvc` (`app/svc.yaml:1`): ") {
		t.Errorf("plan -o markdown: exit %d, want 1 and the errors\n%s", code, stdout)
	}

	saved := filepath.Join(t.TempDir(), "refused.plan")
	if code, stdout, stderr := runCLI(t, "plan", dir, kc, "--out", saved); code != 1 || !strings.Contains(stderr, "It was not saved") {
		t.Errorf("plan --out: exit %d, want 1 and the plan not saved\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(saved); !os.IsNotExist(err) {
		t.Errorf("plan --out saved a plan with errors: %v", err)
	}
	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 1 || !strings.Contains(stderr, "The plan has 4 error") {
		t.Errorf("apply: exit %d, want 1 and the refusal\n%s%s", code, stdout, stderr)
	}
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused apply created ConfigMap bad: %v", err)
	}
	if _, err := cs.CoreV1().Services(ns).Get(ctx, "badsvc", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused apply created Service badsvc: %v", err)
	}
	if got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{}); err != nil || got.Data["k"] != "v" {
		t.Errorf("the refused apply changed ConfigMap settings: %v %v", got.Data, err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, "sh.helm.release.v1.rel.v1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused apply installed release rel: %v", err)
	}
}

// TestPlanErrorsNameTheFile: a plan error at an object of a kustomization
// names the file the object comes from and the line where it is declared
// there, in every format: from a directory without a kustomization file
// (after a comment and another document; an object without a namespace
// too, which the plan places in "default"; an object whose kind and name
// the file declares in another namespace first; an item of a List after
// another document), and through a kustomization
// file's resources in a subdirectory, with a namePrefix (the only Service
// of its file); a local chart's template (no line); so does the admission
// chain's refusal of an object.
func TestPlanErrorsNameTheFile(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "errfile")
	ns2 := c.Namespace(t, "errfile2")
	value := testcluster.UniqueName("v")
	c.Kubectl(t, "label", "namespace", ns, "strata-test/admission="+value)
	maxReplicasPolicy(t, c, value, ns)
	uniq := testcluster.UniqueName("nons")
	cm := func(name, namespace string) string {
		meta := "  name: " + name + "\n"
		if namespace != "" {
			meta += "  namespace: " + namespace + "\n"
		}
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n" + meta + "data:\n  \"bad key!\": v\n"
	}
	okCM := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n"
	}
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("errfile"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": "kustomization \"app\" {\n  path = \"apps/app\"\n  wait = false\n}\n" +
			"kustomization \"web\" {\n  path = \"apps/web\"\n  wait = false\n}\n" +
			"release \"rel\" {\n  namespace = \"" + ns + "\"\n  chart = \"charts/rel\"\n  wait = false\n}\n",
		"charts/rel/Chart.yaml":        "apiVersion: v2\nname: rel\nversion: 0.1.0\n",
		"charts/rel/templates/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: relok}\n",
		"charts/rel/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: relbad}\ndata:\n  \"rel key!\": v\n",
		// bad is declared on line 9.
		"apps/app/cm.yaml":        "# settings\n---\n" + okCM("first") + "---\n" + cm("bad", ns),
		"apps/app/more/nons.yaml": cm(uniq, ""),
		"apps/app/ok.yaml":        okCM("ok"),
		// twin is declared in two namespaces: the one in ns on line 7.
		"apps/app/twin.yaml": strings.Replace(okCM("twin"), ns, ns2, 1) + "---\n" + cm("twin", ns),
		// A List after another document: its item lbad on line 11.
		"apps/app/list.yaml": okCM("l0") + "---\napiVersion: v1\nkind: List\nitems:\n" +
			"- {apiVersion: v1, kind: ConfigMap, metadata: {name: lok, namespace: " + ns + "}}\n- apiVersion: v1\n  kind: ConfigMap\n" +
			"  metadata: {name: lbad, namespace: " + ns + "}\n  data: {\"bad key!\": v}\n",
		"apps/web/kustomization.yaml":      "namePrefix: pre-\nresources: [base]\n",
		"apps/web/base/kustomization.yaml": "resources: [svc.yaml, deploy.yaml]\n",
		"apps/web/base/deploy.yaml":        deploymentYAML(ns, "big", 10),
		// badsvc (pre-badsvc once prefixed) is declared on line 7.
		"apps/web/base/svc.yaml": okCM("svc-settings") + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: badsvc\n  namespace: " + ns + "\nspec:\n" +
			"  selector: {app: x}\n  ports:\n  - port: 70000\n",
	})
	type at struct {
		file string
		line int
	}
	want := map[string]at{
		"kustomization.app/ConfigMap/" + ns + "/bad":      {"apps/app/cm.yaml", 9},
		"kustomization.app/ConfigMap/default/" + uniq:     {"apps/app/more/nons.yaml", 1},
		"release.rel/ConfigMap/" + ns + "/relbad":         {"charts/rel/templates/cm.yaml", 0},
		"kustomization.web/Service/" + ns + "/pre-badsvc": {"apps/web/base/svc.yaml", 7},
		"kustomization.app/ConfigMap/" + ns + "/twin":     {"apps/app/twin.yaml", 7},
		"kustomization.app/ConfigMap/" + ns + "/lbad":     {"apps/app/list.yaml", 11},
	}
	shown := func(a at) string {
		if a.line == 0 {
			return a.file
		}
		return a.file + ":" + itoa(a.line)
	}
	kc := "--kubeconfig=" + c.Kubeconfig()
	code, stdout, stderr := runCLI(t, "plan", dir, kc)
	if code != 1 || !strings.Contains(stderr, "The plan has 6 errors") {
		t.Fatalf("plan: exit %d, want 1 and 6 errors\n%s%s", code, stdout, stderr)
	}
	for addr, a := range want {
		if !strings.Contains(stdout, "Error: "+addr+" ("+shown(a)+")\n") {
			t.Errorf("plan: the error at %s does not name %s\n%s", addr, shown(a), stdout)
		}
	}
	code, got, _ := jsonPlan(t, dir, kc)
	errs, _ := got["errors"].([]any)
	if code != 1 || len(errs) != len(want) {
		t.Fatalf("plan -o json: exit %d, errors %v", code, got["errors"])
	}
	for _, e := range errs {
		e := e.(map[string]any)
		a := want[e["address"].(string)]
		line, _ := e["line"].(float64)
		if e["file"] != a.file || int(line) != a.line {
			t.Errorf("plan -o json: error at %v has file %v, line %v, want %q, %d", e["address"], e["file"], e["line"], a.file, a.line)
		}
	}
	deploy := "kustomization.web/Deployment.apps/" + ns + "/pre-big"
	if !strings.Contains(stdout, "Policy violation: "+deploy+" (apps/web/base/deploy.yaml:1)\n") {
		t.Errorf("plan: the admission refusal of %s does not name its file and line\n%s", deploy, stdout)
	}
	results, _ := got["policy_results"].([]any)
	if len(results) != 1 || results[0].(map[string]any)["file"] != "apps/web/base/deploy.yaml" || results[0].(map[string]any)["line"] != 1.0 {
		t.Errorf("plan -o json: policy results %v, want the refusal of %s with its file and line", results, deploy)
	}
	code, stdout, _ = runCLI(t, "plan", dir, kc, "-o", "markdown")
	if code != 1 || !strings.Contains(stdout, "`kustomization.web/Service/"+ns+"/pre-badsvc` (`apps/web/base/svc.yaml:7`): ") ||
		!strings.Contains(stdout, "`"+deploy+"` (`apps/web/base/deploy.yaml:1`): refused by") {
		t.Errorf("plan -o markdown: exit %d, want the error with its file and line\n%s", code, stdout)
	}
}
