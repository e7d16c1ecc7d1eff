package kube_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/providers/kustomize"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

const stack = "test"

func newManager(t testing.TB) *kube.Manager {
	t.Helper()
	m, err := kube.NewManager(testcluster.Get(t).RESTConfig(), kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// render writes files into a source tree and builds it with kustomize, with
// every "NS" replaced by ns and every "UNIQ" by uniq.
func render(t testing.TB, files map[string]string, ns, uniq string) []*unstructured.Unstructured {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		content = strings.ReplaceAll(strings.ReplaceAll(content, "UNIQ", uniq), "NS", ns)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := kustomize.Build(context.Background(), kustomize.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// actions summarises a change set as "action ref" lines.
func actions(cs *kube.ChangeSet) []string {
	var out []string
	for _, c := range cs.Changes {
		line := string(c.Action) + " " + c.Ref.String()
		if c.Reason != "" {
			line += " (" + c.Reason + ")"
		}
		out = append(out, line)
	}
	return out
}

// requireNoChanges fails with the field diffs when cs has changes.
func requireNoChanges(t *testing.T, cs *kube.ChangeSet) {
	t.Helper()
	for _, c := range cs.Changes {
		if c.Action != kube.ActionNoop {
			t.Errorf("%s: %s %s: %+v", c.Ref, c.Action, c.Reason, c.Fields)
		}
	}
}

func deleteAfter(t *testing.T, m *kube.Manager, refs ...kube.ObjectRef) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.Background()
		for _, r := range refs {
			mp, err := m.Mapping(ctx, r.GroupVersionKind())
			if err != nil {
				continue
			}
			ri := m.Dynamic().Resource(mp.Resource)
			var err2 error
			if r.Namespace != "" {
				err2 = ri.Namespace(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
			} else {
				err2 = ri.Delete(ctx, r.Name, metav1.DeleteOptions{})
			}
			if err2 != nil && !apierrors.IsNotFound(err2) {
				t.Errorf("cleanup %s: %v", r, err2)
			}
		}
	})
}

const crdTemplate = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.UNIQ.example.com
spec:
  group: UNIQ.example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
              color: {type: string, default: blue}
`

const widget = `apiVersion: UNIQ.example.com/v1
kind: Widget
metadata: {name: w1, namespace: NS}
spec: {color: red}
`

const deploymentTemplate = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
`

func TestApplyFromScratch(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	uniq := testcluster.UniqueName("h5")
	ns := uniq
	objs := render(t, map[string]string{
		"crd.yaml":    crdTemplate,
		"widget.yaml": widget,
		"ns.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata: {name: NS}\n",
		"deploy.yaml": deploymentTemplate,
	}, ns, uniq)
	deleteAfter(t, m,
		kube.ObjectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets." + uniq + ".example.com"},
		kube.ObjectRef{Version: "v1", Kind: "Namespace", Name: ns})

	block := "kustomization.scratch"
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create CustomResourceDefinition.apiextensions.k8s.io/widgets." + uniq + ".example.com",
		"create Namespace/" + ns,
		"create Deployment.apps/" + ns + "/web (after Namespace " + ns + ")",
		"create Widget." + uniq + ".example.com/" + ns + "/w1 (after CRD widgets." + uniq + ".example.com; checked against the CRD's schema only)",
	}
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}

	events := make(chan kube.Event, 100)
	var seen []kube.Event
	done := make(chan struct{})
	go func() {
		for e := range events {
			seen = append(seen, e)
		}
		close(done)
	}()
	res, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block, Wait: true, Timeout: 2 * time.Minute}, events)
	close(events)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 4 {
		t.Errorf("applied %d objects, want 4: %+v", len(res.Objects), res.Objects)
	}
	for _, a := range res.Objects {
		if a.UID == "" || a.ResourceVersion == "" || !strings.HasPrefix(a.Digest, "sha256:") {
			t.Errorf("%s: incomplete record %+v", a.Ref, a)
		}
	}
	applied := 0
	for _, e := range seen {
		if e.Type == kube.EventApplied {
			applied++
		}
	}
	if applied != 4 {
		t.Errorf("%d applied events, want 4", applied)
	}

	// The Deployment is Available when Apply returns.
	d, err := m.Dynamic().Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).
		Namespace(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas"); n != 2 {
		t.Errorf("availableReplicas = %d, want 2", n)
	}
	if l := d.GetLabels(); l[kube.LabelStack] != stack || l[kube.LabelBlock] != block {
		t.Errorf("ownership labels = %v", l)
	}

	// The CR got its defaults from the server, and the plan is still empty.
	cs, err = m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
	if err != nil {
		t.Fatal(err)
	}
	requireNoChanges(t, cs)
}

func TestImpersonationForbidden(t *testing.T) {
	ctx := context.Background()
	ns := testcluster.Get(t).Namespace(t, "h5-imp")
	m, err := newManager(t).Impersonate(ns + "/deployer")
	if err != nil {
		t.Fatal(err)
	}
	objs := render(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: NS}\ndata: {a: b}\n"}, ns, "")
	_, err = m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: "kustomization.imp"})
	var oe *kube.ObjectError
	if !errors.As(err, &oe) || !apierrors.IsForbidden(err) {
		t.Fatalf("Diff error = %v, want a forbidden *ObjectError", err)
	}
	for _, s := range []string{"ConfigMap/" + ns + "/app", "forbidden", "system:serviceaccount:" + ns + ":deployer"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	if _, err := newManager(t).Impersonate("no-slash"); err == nil {
		t.Error("Impersonate(no-slash) succeeded")
	}
}

func TestWaitTimeoutNamesObject(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	ns := testcluster.Get(t).Namespace(t, "h5-wait")
	// No node has this label: the pods stay Pending, the Deployment never
	// becomes Available.
	never := strings.Replace(deploymentTemplate, "      containers:", "      nodeSelector: {strata.dev/no-such-node: \"true\"}\n      containers:", 1)
	objs := render(t, map[string]string{"deploy.yaml": never}, ns, "")
	block := "kustomization.wait"
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan kube.Event, 100)
	go func() {
		for range events {
		}
	}()
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, events); err != nil {
		t.Fatal(err)
	}
	progress := make(chan kube.Event, 100)
	start := time.Now()
	err = m.Wait(ctx, []kube.ObjectRef{kube.RefOf(objs[0])}, kube.WaitOptions{Timeout: 3 * time.Second, Interval: 200 * time.Millisecond, ProgressEvery: time.Second}, progress)
	close(progress)
	var we *kube.WaitError
	if !errors.As(err, &we) || !we.Timeout {
		t.Fatalf("Wait error = %v, want a timeout *WaitError", err)
	}
	if elapsed := time.Since(start); elapsed < 3*time.Second || elapsed > 10*time.Second {
		t.Errorf("Wait returned after %s, want about 3s", elapsed)
	}
	if !strings.Contains(err.Error(), "Deployment.apps/"+ns+"/web") {
		t.Errorf("error %q does not name the Deployment", err)
	}
	waiting := 0
	for e := range progress {
		if e.Type == kube.EventWaiting && len(e.Pending) == 1 && e.Elapsed > 0 {
			waiting++
		}
	}
	if waiting < 2 {
		t.Errorf("%d waiting events, want at least 2", waiting)
	}
}

func TestWaitFailsFast(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	ns := testcluster.Get(t).Namespace(t, "h5-failed")
	uniq := testcluster.UniqueName("h5")
	// No status subresource: the manifest itself can carry a status, here
	// the Stalled condition that kstatus reads as Failed.
	objs := render(t, map[string]string{
		"crd.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.UNIQ.example.com}
spec:
  group: UNIQ.example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`,
		"gadget.yaml": `apiVersion: UNIQ.example.com/v1
kind: Gadget
metadata: {name: g, namespace: NS}
status:
  conditions:
  - {type: Stalled, status: "True", reason: Broken, message: the gadget is broken}
`,
	}, ns, uniq)
	deleteAfter(t, m, kube.ObjectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "gadgets." + uniq + ".example.com"})
	block := "kustomization.failed"
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block, Wait: true, Timeout: time.Minute}, nil)
	var we *kube.WaitError
	if !errors.As(err, &we) || we.Timeout {
		t.Fatalf("Apply error = %v, want a fail-fast *WaitError", err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("failed after %s, want fast", elapsed)
	}
	for _, s := range []string{"Gadget." + uniq + ".example.com/" + ns + "/g", "Failed", "the gadget is broken"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

// TestCRDChangeInSameSet changes a CRD (a new field) together with a
// custom resource that uses the field. The live CRD would drop the field in
// a dry run; the resource is checked against the planned CRD instead and
// planned as an update that sets it, and a typo against the new schema is
// refused by name.
func TestCRDChangeInSameSet(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	uniq := testcluster.UniqueName("h6")
	ns := uniq
	files := map[string]string{
		"crd.yaml":    crdTemplate,
		"widget.yaml": widget,
		"ns.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata: {name: NS}\n",
	}
	deleteAfter(t, m,
		kube.ObjectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets." + uniq + ".example.com"},
		kube.ObjectRef{Version: "v1", Kind: "Namespace", Name: ns})
	block := "kustomization.samecrd"
	opts := kube.DiffOptions{Stack: stack, Block: block}
	cs, err := m.Diff(ctx, render(t, files, ns, uniq), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil); err != nil {
		t.Fatal(err)
	}

	files["crd.yaml"] = crdTemplate + "              shape: {type: string, enum: [round, square]}\n"
	files["widget.yaml"] = strings.Replace(widget, "spec: {color: red}", "spec: {color: red, shape: square}", 1)
	cs, err = m.Diff(ctx, render(t, files, ns, uniq), opts)
	if err != nil {
		t.Fatal(err)
	}
	var w kube.Change
	for _, c := range cs.Changes {
		if c.Ref.Kind == "Widget" {
			w = c
		}
	}
	if w.Action != kube.ActionUpdate || !w.SchemaOnly || w.AfterCRD != "widgets."+uniq+".example.com" {
		t.Fatalf("Widget: %s schema_only=%v after_crd=%q (%s)", w.Action, w.SchemaOnly, w.AfterCRD, w.Reason)
	}
	if diff := cmp.Diff([]kube.FieldDiff{{Path: "spec.shape", After: "square"}}, w.Fields); diff != "" {
		t.Errorf("Widget fields (-want +got):\n%s", diff)
	}
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil); err != nil {
		t.Fatal(err)
	}
	cs, err = m.Diff(ctx, render(t, files, ns, uniq), opts)
	if err != nil {
		t.Fatal(err)
	}
	requireNoChanges(t, cs)

	files["crd.yaml"] += "              weight: {type: integer}\n"
	files["widget.yaml"] = strings.Replace(widget, "spec: {color: red}", "spec: {color: red, wieght: 3}", 1)
	// A typo is the refusal of that object, not a failed Diff: the rest of
	// the set is diffed, and Apply refuses the set before writing.
	cs, err = m.Diff(ctx, render(t, files, ns, uniq), opts)
	if err != nil {
		t.Fatalf("Diff with a typo: %v, want the refusal in the change", err)
	}
	var refused, crdUpdate bool
	for _, c := range cs.Changes {
		switch {
		case c.Ref.Kind == "Widget":
			refused = c.Refusal != nil && c.Refusal.Kind == kube.RefusedBySchema && c.SchemaOnly && c.Action == kube.ActionUpdate &&
				strings.Contains(c.Refusal.Error(), "spec.wieght: unknown field")
		case c.Ref.Kind == "CustomResourceDefinition":
			crdUpdate = c.Action == kube.ActionUpdate
		}
	}
	if !refused || !crdUpdate {
		t.Fatalf("Diff with a typo: Widget refused %v, CRD update %v: %+v", refused, crdUpdate, cs.Changes)
	}
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil); err == nil ||
		!strings.Contains(err.Error(), "spec.wieght: unknown field") {
		t.Fatalf("Apply of a refused object: %v", err)
	}
}

// TestSchemaOnlyDryRunAtApply plans a custom resource that its CRD's CEL
// rule refuses: the offline check passes (it does not run CEL), and Apply,
// once the CRD is Established, dry-runs the resource for real and fails
// before writing any object of the second stage.
func TestSchemaOnlyDryRunAtApply(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	uniq := testcluster.UniqueName("h7")
	ns := uniq
	crd := strings.Replace(crdTemplate, "            type: object\n            properties:\n              size:",
		"            type: object\n            x-kubernetes-validations: [{rule: 'self.size <= 10', message: size is at most 10}]\n            properties:\n              size:", 1)
	objs := render(t, map[string]string{
		"crd.yaml":    crd,
		"widget.yaml": strings.Replace(widget, "spec: {color: red}", "spec: {size: 20}", 1),
		"ns.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata: {name: NS}\n",
		"cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: NS}\n",
	}, ns, uniq)
	deleteAfter(t, m,
		kube.ObjectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets." + uniq + ".example.com"},
		kube.ObjectRef{Version: "v1", Kind: "Namespace", Name: ns})
	block := "kustomization.cel"
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil)
	if err == nil || !strings.Contains(err.Error(), "dry run failed") || !strings.Contains(err.Error(), "size is at most 10") {
		t.Fatalf("Apply: %v, want the dry run refused by the CEL rule", err)
	}
	_, err = m.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns).
		Get(ctx, "settings", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap of the refused stage: %v, want not found", err)
	}
}
