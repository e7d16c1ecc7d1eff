package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	// Like objects from the server: integers are int64.
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		// UnmarshalJSON wants a kind; tests of fragments have none.
		m := map[string]any{}
		if err := json.Unmarshal(j, &m); err != nil {
			t.Fatal(err)
		}
		return &unstructured.Unstructured{Object: fixNumbers(m).(map[string]any)}
	}
	return u
}

func fixNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = fixNumbers(x)
		}
	case []any:
		for i, x := range v {
			v[i] = fixNumbers(x)
		}
	case float64:
		return int64(v)
	}
	return v
}

func TestDiffFields(t *testing.T) {
	tests := map[string]struct {
		before, after string
		want          []FieldDiff
	}{
		"equal": {
			before: "a: {b: 1}", after: "a: {b: 1}",
		},
		"image of one named container": {
			before: "spec: {containers: [{name: a, image: x:1}, {name: b, image: y:1}]}",
			after:  "spec: {containers: [{name: a, image: x:1}, {name: b, image: y:2}]}",
			want:   []FieldDiff{{Path: "spec.containers[name=b].image", Before: "y:1", After: "y:2"}},
		},
		"added and removed keys, annotation keys quoted": {
			before: "metadata: {annotations: {example.com/x: a}}\nold: 1",
			after:  "metadata: {annotations: {example.com/x: b}}\nnew: 2",
			want: []FieldDiff{
				{Path: `metadata.annotations["example.com/x"]`, Before: "a", After: "b"},
				{Path: "new", After: int64(2)},
				{Path: "old", Before: int64(1)},
			},
		},
		"unnamed lists by index": {
			before: "args: [a, b]", after: "args: [a, c, d]",
			want: []FieldDiff{{Path: "args[1]", Before: "b", After: "c"}, {Path: "args[2]", After: "d"}},
		},
		"named items reordered": {
			before: "l: [{name: a}, {name: b}]", after: "l: [{name: b}, {name: a}]",
			want: []FieldDiff{{Path: "l",
				Before: []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}},
				After:  []any{map[string]any{"name": "b"}, map[string]any{"name": "a"}}}},
		},
		"named item removed": {
			before: "l: [{name: a}, {name: b, v: 1}]", after: "l: [{name: a}]",
			want: []FieldDiff{{Path: "l[name=b]", Before: map[string]any{"name": "b", "v": int64(1)}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := diffFields(obj(t, tc.before).Object, obj(t, tc.after).Object)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diffFields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaskSecret(t *testing.T) {
	s := obj(t, `apiVersion: v1
kind: Secret
metadata:
  name: s
  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="}}'}
data: {password: aHVudGVyMg==}
stringData: {token: hunter3}
`)
	m := mask(s)
	b, err := yaml.Marshal(m.Object)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"aHVudGVyMg==", "hunter3"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("masked Secret still contains %q:\n%s", secret, b)
		}
	}
	if got, _, _ := unstructured.NestedString(m.Object, "data", "password"); got != Masked {
		t.Errorf("data.password = %q, want %q", got, Masked)
	}
	if got, _, _ := unstructured.NestedString(s.Object, "data", "password"); got != "aHVudGVyMg==" {
		t.Errorf("mask changed its input: data.password = %q", got)
	}

	fields := diffFields(obj(t, "data: {a: eA==}").Object, obj(t, "data: {a: eQ==, b: eg==}").Object)
	maskFields(fields)
	want := []FieldDiff{{Path: "data.a", Before: Masked, After: Masked}, {Path: "data.b", After: Masked}}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("masked fields (-want +got):\n%s", diff)
	}
}

func TestRefString(t *testing.T) {
	tests := map[string]struct {
		ref  ObjectRef
		want string
	}{
		"namespaced with group": {ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "api"}, "Deployment.apps/web/api"},
		"core cluster-scoped":   {ObjectRef{Version: "v1", Kind: "Namespace", Name: "web"}, "Namespace/web"},
		"core namespaced":       {ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "a", Name: "b"}, "ConfigMap/a/b"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.ref.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	if got := (ObjectRef{Kind: "Secret", Namespace: "a", Name: "b"}).Address("kustomization.app"); got != "kustomization.app/Secret/a/b" {
		t.Errorf("Address = %q", got)
	}
}

func TestSortChanges(t *testing.T) {
	r := func(group, kind, ns, name string) ObjectRef {
		return ObjectRef{Group: group, Kind: kind, Namespace: ns, Name: name}
	}
	cs := []Change{
		{Ref: r("", "Namespace", "", "old"), Action: ActionDelete},
		{Ref: r("apps", "Deployment", "a", "web"), Action: ActionCreate},
		{Ref: r("example.com", "Widget", "a", "w"), Action: ActionDelete},
		{Ref: r("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com"), Action: ActionDelete},
		{Ref: r("", "Namespace", "", "a"), Action: ActionCreate},
		{Ref: r("example.com", "Gadget", "a", "g"), Action: ActionCreate},
		{Ref: r("apiextensions.k8s.io", "CustomResourceDefinition", "", "gadgets.example.com"), Action: ActionCreate},
		{Ref: r("storage.k8s.io", "StorageClass", "", "fast"), Action: ActionUpdate},
	}
	sortChanges(cs)
	var got []string
	for _, c := range cs {
		got = append(got, string(c.Action)+" "+c.Ref.String())
	}
	want := []string{
		"create CustomResourceDefinition.apiextensions.k8s.io/gadgets.example.com",
		"create Namespace/a",
		"update StorageClass.storage.k8s.io/fast",
		"create Deployment.apps/a/web",
		"create Gadget.example.com/a/g",
		"delete Widget.example.com/a/w",
		"delete CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com",
		"delete Namespace/old",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestImmutable(t *testing.T) {
	invalid := func(causes ...metav1.StatusCause) error {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "web", toFieldErrors(causes))
	}
	tests := map[string]struct {
		err        error
		immutable  bool
		wantReason string
	}{
		"service cluster IP": {
			err:        invalid(metav1.StatusCause{Field: "spec.clusterIPs[0]", Message: `Invalid value: []string{"10.0.0.9"}: may not change once set`}),
			immutable:  true,
			wantReason: "immutable field changes: spec.clusterIPs[0]: may not change once set",
		},
		"job template": {
			err:        invalid(metav1.StatusCause{Field: "spec.template", Message: "Invalid value: core.PodTemplateSpec{...}: field is immutable"}),
			immutable:  true,
			wantReason: "immutable field changes: spec.template: field is immutable",
		},
		"plain validation error": {
			err: invalid(metav1.StatusCause{Field: "spec.ports[0].port", Message: "Invalid value: 0: must be between 1 and 65535"}),
		},
		"not an invalid error": {
			err: apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "web", errors.New("field is immutable")),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := isImmutable(tc.err); got != tc.immutable {
				t.Fatalf("isImmutable = %v, want %v", got, tc.immutable)
			}
			if tc.immutable {
				if got := immutableMessage(tc.err); got != tc.wantReason {
					t.Errorf("reason = %q, want %q", got, tc.wantReason)
				}
			}
		})
	}
}

func toFieldErrors(causes []metav1.StatusCause) field.ErrorList {
	var l field.ErrorList
	for _, c := range causes {
		// field.Invalid renders "Invalid value: <v>: <detail>"; keep the
		// message as the server would send it by using the detail only.
		msg := c.Message
		if i := strings.LastIndex(msg, ": "); i > 0 {
			msg = msg[i+2:]
		}
		l = append(l, field.Invalid(field.NewPath(c.Field), "x", msg))
	}
	return l
}

func TestProject(t *testing.T) {
	live := obj(t, `spec: {containers: [{name: a, image: x, terminationMessagePath: /dev/t}, {name: b, image: img-y}], dnsPolicy: ClusterFirst}`)
	desired := obj(t, `spec: {containers: [{name: b, image: z}]}`)
	got := diffFields(project(live.Object, desired.Object).(map[string]any), desired.Object)
	want := []FieldDiff{{Path: "spec.containers[name=b].image", Before: "img-y", After: "z"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestContains(t *testing.T) {
	tests := map[string]struct {
		have, want string
		ok         bool
	}{
		"server defaults are extra":       {"spec: {ports: [{port: 80, protocol: TCP}], type: ClusterIP}", "spec: {ports: [{port: 80}]}", true},
		"changed value":                   {"data: {a: x}", "data: {a: z}", false},
		"missing key":                     {"data: {}", "data: {a: x}", false},
		"other managers' named items":     {"c: [{name: a, image: i}, {name: injected}]", "c: [{name: a}]", true},
		"named item missing":              {"c: [{name: b}]", "c: [{name: a}]", false},
		"atomic list with an extra item":  {"args: [a, b]", "args: [a]", false},
		"numbers of different Go types":   {"spec: {replicas: 2}", "spec: {replicas: 2.0}", true},
		"normalised quantities go to dry": {"cpu: '1'", "cpu: 1000m", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := contains(obj(t, tc.have).Object, obj(t, tc.want).Object); got != tc.ok {
				t.Errorf("contains = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestSetDigestIdempotent(t *testing.T) {
	o := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\ndata: {k: v}")
	SetDigest(o)
	first := o.GetAnnotations()[AnnotationDigest]
	SetDigest(o)
	if got := o.GetAnnotations()[AnnotationDigest]; got != first || !strings.HasPrefix(got, "sha256:") {
		t.Errorf("digest %q after a second SetDigest, first %q", got, first)
	}
	s := obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: n}\ndata: {k: dg==}")
	SetDigest(s)
	if _, ok := s.GetAnnotations()[AnnotationDigest]; ok {
		t.Error("a Secret got a digest annotation")
	}
}

// TestDigestEncodesWithoutReflection wants Digest to hash encoding/json's
// bytes for the object (the digests in clusters and states stay the same)
// with a handful of allocations: a plan digests every object it renders,
// and encoding/json's reflection made some 70 allocations a Deployment.
func TestDigestEncodesWithoutReflection(t *testing.T) {
	o := obj(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: n, labels: {app: a, <x>: \"&\"}}\nspec: {replicas: 0, f: 2.5, big: 1e21, selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c, image: 'nginx:1.27', env: [{name: I, value: \"1\"}]}]}}}\n")
	b, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got, want := Digest(o), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Digest = %s, the SHA-256 of encoding/json's bytes %s", got, want)
	}
	if n := testing.AllocsPerRun(10, func() { Digest(o) }); n > 6 {
		t.Errorf("Digest made %.0f allocations, want at most 6", n)
	}
}

// TestNormalizeSharedMatchesNormalize: the fast path's normalizeShared
// gives what normalize gives, leaves its input as it was, and copies only
// the maps it changes (the live object's spec and data are shared).
func TestNormalizeSharedMatchesNormalize(t *testing.T) {
	for _, y := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, uid: u, resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{manager: m}]}\ndata: {k: v}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {" + AnnotationDigest + ": d}}\ndata: {k: v}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, generation: 3, selfLink: /x, annotations: {" + AnnotationDigest + ": d, keep: me}, labels: {l: v}}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {keep: me}}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 0, template: {spec: {containers: [{name: c, image: i}]}}}\nstatus: {replicas: 0}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s, annotations: {" + lastApplied + ": x}}\ndata: {k: dg==}\n",
		"kind: Odd\nmetadata: not-a-map\n",
		"kind: NoMetadata\n",
	} {
		u := obj(t, y)
		before := u.DeepCopy()
		want, got := normalize(u), normalizeShared(u)
		if diff := cmp.Diff(want.Object, got.Object); diff != "" {
			t.Errorf("normalizeShared of\n%s differs from normalize (-want +got):\n%s", y, diff)
		}
		if diff := cmp.Diff(before.Object, u.Object); diff != "" {
			t.Errorf("normalizeShared changed its input\n%s(-before +after):\n%s", y, diff)
		}
		if diff := cmp.Diff(mask(want).Object, mask(got).Object); diff != "" {
			t.Errorf("masked normalizeShared of\n%s differs (-want +got):\n%s", y, diff)
		}
	}
	u := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n")
	got := normalizeShared(u)
	got.Object["data"].(map[string]any)["probe"] = "x"
	if u.Object["data"].(map[string]any)["probe"] != "x" {
		t.Error("normalizeShared copied the data map")
	}
}
