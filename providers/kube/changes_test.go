package kube_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
)

// corpus is a set of varied manifests; NS is the namespace, UNIQ a unique
// name for cluster-scoped objects.
var corpus = map[string]string{
	"crd.yaml":    crdTemplate,
	"widget.yaml": widget,
	"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env: [{name: A, value: "1"}]
        resources: {requests: {cpu: 100m, memory: 64Mi}}
      - name: sidecar
        image: busybox:1.36
        args: [sleep, "3600"]
`,
	"statefulset.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: NS}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`,
	"daemonset.yaml": `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: NS}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: agent, image: busybox:1.36}]
`,
	"service.yaml": `apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
`,
	"ingress.yaml": `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: NS}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
`,
	"cronjob.yaml": `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: NS}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: job, image: busybox:1.36, args: [date]}]
`,
	"job.yaml": `apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: NS}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: busybox:1.36, args: [echo, v1]}]
`,
	"hpa.yaml": `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: NS}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
`,
	"pdb.yaml": `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: NS}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`,
	"netpol.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: NS}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: 8080}]
`,
	"rbac.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: UNIQ-reader}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: NS}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: app, namespace: NS}]
`,
	"serviceaccount.yaml": `apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: NS}
`,
	"secret.yaml": `apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: NS}
stringData: {password: hunter2}
data: {token: c2VjcmV0LXRva2Vu}
`,
	"configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: NS}
data: {mode: fast, retries: "3"}
`,
}

func TestNoChangesAfterApply(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	ns := testcluster.Get(t).Namespace(t, "h5-corpus")
	uniq := testcluster.UniqueName("h5")
	objs := render(t, corpus, ns, uniq)
	if len(objs) < 17 {
		t.Fatalf("corpus renders %d objects", len(objs))
	}
	deleteAfter(t, m,
		kube.ObjectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets." + uniq + ".example.com"},
		kube.ObjectRef{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: uniq + "-reader"})
	block := "kustomization.corpus"
	opts := kube.DiffOptions{Stack: stack, Block: block}
	cs, err := m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.Count(kube.ActionCreate); got != len(objs) {
		t.Fatalf("%d creates, want %d:\n%s", got, len(objs), strings.Join(actions(cs), "\n"))
	}
	assertMasked(t, cs)
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil); err != nil {
		t.Fatal(err)
	}

	cs, err = m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	requireNoChanges(t, cs)
	assertMasked(t, cs)

	t.Run("one image change shows exactly that field", func(t *testing.T) {
		changed := render(t, map[string]string{"d.yaml": strings.Replace(corpus["deployment.yaml"], "nginx:1.25", "nginx:1.27", 1)}, ns, uniq)
		cs, err := m.Diff(ctx, changed, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := []kube.FieldDiff{{Path: "spec.template.spec.containers[name=web].image", Before: "nginx:1.25", After: "nginx:1.27"}}
		if len(cs.Changes) != 1 || cs.Changes[0].Action != kube.ActionUpdate {
			t.Fatalf("changes: %v", actions(cs))
		}
		if diff := cmp.Diff(want, cs.Changes[0].Fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
	})

	t.Run("a changed Secret value is masked", func(t *testing.T) {
		changed := render(t, map[string]string{"s.yaml": strings.Replace(corpus["secret.yaml"], "hunter2", "hunter3", 1)}, ns, uniq)
		cs, err := m.Diff(ctx, changed, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := []kube.FieldDiff{{Path: "data.password", Before: kube.Masked, After: kube.Masked}}
		if diff := cmp.Diff(want, cs.Changes[0].Fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		assertMasked(t, cs)
	})

	t.Run("immutable fields are replaced", func(t *testing.T) {
		// A free address: other tests share the cluster's Service range.
		all, err := m.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "services"}).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for _, s := range all.Items {
			v, _, _ := unstructured.NestedString(s.Object, "spec", "clusterIP")
			used[v] = true
		}
		ip := ""
		for i := 250; i > 1 && ip == ""; i-- {
			if c := fmt.Sprintf("10.0.0.%d", i); !used[c] {
				ip = c
			}
		}
		svc := strings.Replace(corpus["service.yaml"], "spec:\n", "spec:\n  clusterIP: "+ip+"\n", 1)
		job := strings.Replace(corpus["job.yaml"], "echo, v1", "echo, v2", 1)
		changed := render(t, map[string]string{"svc.yaml": svc, "job.yaml": job}, ns, uniq)
		cs, err := m.Diff(ctx, changed, opts)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]kube.Action{}
		for _, c := range cs.Changes {
			got[c.Ref.String()] = c.Action
			if c.Action == kube.ActionReplace && (c.Reason == "" || len(c.Fields) == 0) {
				t.Errorf("%s: replace without reason or fields: %+v", c.Ref, c)
			}
		}
		want := map[string]kube.Action{"Service/" + ns + "/web": kube.ActionReplace, "Job.batch/" + ns + "/migrate": kube.ActionReplace}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("actions (-want +got):\n%s\n%v", diff, actions(cs))
		}
		before := map[string]string{}
		for _, c := range cs.Changes {
			before[c.Ref.String()] = c.LiveUID
		}
		// Without force, Apply refuses the replaces and changes nothing.
		res, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil)
		if !errors.Is(err, kube.ErrReplaceNotForced) || len(res.Objects) != 0 {
			t.Fatalf("Apply of replaces without Force: err %v, applied %v; want ErrReplaceNotForced and nothing applied", err, res.Objects)
		}
		res, err = m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block, Force: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Objects {
			if a.UID == "" || a.UID == before[a.Ref.String()] {
				t.Errorf("%s: UID %q after replace, was %q", a.Ref, a.UID, before[a.Ref.String()])
			}
		}
		cs, err = m.Diff(ctx, changed, opts)
		if err != nil {
			t.Fatal(err)
		}
		requireNoChanges(t, cs)
	})
}

// assertMasked fails if a Secret value of the corpus shows anywhere in the
// change set's public parts.
func assertMasked(t *testing.T, cs *kube.ChangeSet) {
	t.Helper()
	for _, c := range cs.Changes {
		var parts []string
		for _, u := range []*unstructured.Unstructured{c.Before, c.After} {
			if u != nil {
				b, _ := u.MarshalJSON()
				parts = append(parts, string(b))
			}
		}
		for _, f := range c.Fields {
			parts = append(parts, strings.Join([]string{f.Path, toJSON(f.Before), toJSON(f.After)}, " "))
		}
		all := strings.Join(parts, "\n")
		for _, secret := range []string{"hunter2", "aHVudGVyMg", "hunter3", "aHVudGVyMw", "c2VjcmV0LXRva2Vu"} {
			if strings.Contains(all, secret) {
				t.Errorf("%s: Secret value %q visible in the change set", c.Ref, secret)
			}
		}
	}
}

func toJSON(v any) string {
	u := unstructured.Unstructured{Object: map[string]any{"v": v}}
	b, _ := u.MarshalJSON()
	return string(b)
}

func configMaps(names ...string) map[string]string {
	files := map[string]string{}
	for _, n := range names {
		files[n+".yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + n + ", namespace: NS}\ndata: {a: b}\n"
	}
	return files
}

func TestPruneAndOwnership(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	ns := testcluster.Get(t).Namespace(t, "h5-prune")
	block := "kustomization.prune"
	files := configMaps("keep", "gone", "sticky")
	files["sticky.yaml"] = strings.Replace(files["sticky.yaml"], "namespace: NS}", "namespace: NS, annotations: {strata.dev/prune: disabled}}", 1)
	objs := render(t, files, ns, "")
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var previous []kube.ObjectRef
	for _, a := range res.Objects {
		previous = append(previous, a.Ref)
	}
	// An object strata does not own, recorded in state by mistake.
	cms := m.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "foreign", "namespace": ns},
		"data":     map[string]any{"x": "y"},
	}}
	if _, err := cms.Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	previous = append(previous, kube.RefOf(foreign))

	// Only "keep" is rendered now.
	objs = render(t, configMaps("keep"), ns, "")
	cs, err = m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block, Previous: previous, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"forget ConfigMap/" + ns + "/foreign (not rendered any more, kept: not owned by this block)",
		"noop ConfigMap/" + ns + "/keep",
		"forget ConfigMap/" + ns + "/sticky (not rendered any more, kept: strata.dev/prune: disabled)",
		"delete ConfigMap/" + ns + "/gone",
	}
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil); err != nil {
		t.Fatal(err)
	}
	for name, wantExists := range map[string]bool{"keep": true, "gone": false, "sticky": true, "foreign": true} {
		_, err := cms.Get(ctx, name, metav1.GetOptions{})
		if exists := err == nil; exists != wantExists {
			t.Errorf("ConfigMap %s exists = %v, want %v (err %v)", name, exists, wantExists, err)
		}
	}

	// Prune itself re-checks ownership: the foreign object survives even
	// when asked for directly.
	got, err := m.Prune(ctx, []kube.ObjectRef{kube.RefOf(foreign)}, kube.PruneOptions{Stack: stack, Block: block}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Skipped == "" {
		t.Errorf("Prune of a foreign object: %+v", got)
	}
	if _, err := cms.Get(ctx, "foreign", metav1.GetOptions{}); err != nil {
		t.Errorf("foreign ConfigMap: %v", err)
	}

	t.Run("unowned objects need adoption", func(t *testing.T) {
		objs := render(t, map[string]string{"f.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: foreign, namespace: NS}\ndata: {x: z}\n"}, ns, "")
		cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
		if err != nil {
			t.Fatal(err)
		}
		if c := cs.Changes[0]; !c.Unowned || c.Action != kube.ActionUpdate || c.Reason == "" {
			t.Fatalf("change of an unowned object: %+v", c)
		}
		_, err = m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil)
		if !errors.Is(err, kube.ErrNotOwned) || !strings.Contains(err.Error(), "ConfigMap/"+ns+"/foreign") {
			t.Fatalf("Apply without adoption: %v", err)
		}
		live, _ := cms.Get(ctx, "foreign", metav1.GetOptions{})
		if v, _, _ := unstructured.NestedString(live.Object, "data", "x"); v != "y" {
			t.Fatalf("unowned object changed without adoption: x=%q", v)
		}
		if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block, Adopt: true}, nil); err != nil {
			t.Fatal(err)
		}
		cs, err = m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
		if err != nil {
			t.Fatal(err)
		}
		requireNoChanges(t, cs)
	})

	t.Run("a saved plan is refused when the object changed", func(t *testing.T) {
		objs := render(t, map[string]string{"k.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, namespace: NS}\ndata: {a: c}\n"}, ns, "")
		cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
		if err != nil {
			t.Fatal(err)
		}
		live, err := cms.Get(ctx, "keep", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		live.SetAnnotations(map[string]string{"touched": "yes"})
		if _, err := cms.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block, IfUnchanged: true}, nil)
		if !errors.Is(err, kube.ErrStale) {
			t.Fatalf("Apply of a stale plan: %v", err)
		}
		if apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	})
}

// The diff of an unchanged object skips the dry run; it must still see
// fields dropped from the manifest and fields changed in the cluster.
func TestDiffSeesDriftAndDroppedFields(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	ns := testcluster.Get(t).Namespace(t, "h5-drift")
	block := "kustomization.drift"
	opts := kube.DiffOptions{Stack: stack, Block: block}
	cm := func(name, data string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: NS}\ndata: " + data + "\n"
	}
	objs := render(t, map[string]string{"a.yaml": cm("a", "{x: '1', y: '2'}"), "b.yaml": cm("b", "{x: '1'}"), "c.yaml": cm("c", "{x: '1'}")}, ns, "")
	cs, err := m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil); err != nil {
		t.Fatal(err)
	}
	// Someone else changes b.
	cms := m.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	live, err := cms.Get(ctx, "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(live.Object, "edited", "data", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Update(ctx, live, metav1.UpdateOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	// The manifest of a drops y.
	objs = render(t, map[string]string{"a.yaml": cm("a", "{x: '1'}"), "b.yaml": cm("b", "{x: '1'}"), "c.yaml": cm("c", "{x: '1'}")}, ns, "")
	cs, err = m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]kube.FieldDiff{}
	for _, c := range cs.Changes {
		var fields []kube.FieldDiff
		for _, f := range c.Fields {
			if !strings.HasPrefix(f.Path, "metadata.annotations") {
				fields = append(fields, f)
			}
		}
		got[c.Ref.Name+" "+string(c.Action)] = fields
	}
	want := map[string][]kube.FieldDiff{
		"a update": {{Path: "data.y", Before: "2"}},
		"b update": {{Path: "data.x", Before: "edited", After: "1"}},
		"c noop":   nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}

	// ExactDiff dry-runs everything and agrees.
	exact, err := kube.NewManager(testcluster.Get(t).RESTConfig(), kube.Options{ExactDiff: true})
	if err != nil {
		t.Fatal(err)
	}
	cs2, err := exact.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(actions(cs), actions(cs2)); diff != "" {
		t.Errorf("ExactDiff disagrees (-fast +exact):\n%s", diff)
	}

	// Unchanged objects cost no dry run: apply a and b, then count.
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block}, nil); err != nil {
		t.Fatal(err)
	}
	cfg := testcluster.Get(t).RESTConfig()
	var patches atomic.Int64
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPatch {
				patches.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	counting, err := kube.NewManager(cfg, kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs3, err := counting.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	requireNoChanges(t, cs3)
	if n := patches.Load(); n != 0 {
		t.Errorf("diff of 3 unchanged objects sent %d dry runs, want 0", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
