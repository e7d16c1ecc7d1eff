package kube_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
)

// TestDiffInPlace wants Diff to leave the objects given to it as they are
// without DiffOptions.InPlace (drift keeps its desired objects), and with
// it to hand the same objects on, prepared, in a change set equal to the
// one of copies; a second Diff of the prepared objects (diffBlock's again,
// with former blocks) gives that change set too.
func TestDiffInPlace(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	ns := testcluster.Get(t).Namespace(t, "inplace")
	block := "kustomization.inplace"
	files := map[string]string{
		"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: NS, labels: {app: x}}\ndata: {k: v}\n",
		"b.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: b}\nrules: []\n",
		"c.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: c-UNIQ, namespace: NS}\nrules: []\n",
	}
	objs := render(t, files, ns, ns)
	kept := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		kept[i] = o.DeepCopy()
	}
	opts := kube.DiffOptions{Stack: stack, Block: block}
	want, err := m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(kept, objs); d != "" {
		t.Fatalf("Diff changed the objects given to it (-before +after):\n%s", d)
	}

	opts.InPlace = true
	for round := 1; round <= 2; round++ {
		got, err := m.Diff(ctx, objs, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("round %d: change set in place differs (-copies +in place):\n%s", round, d)
		}
		given := map[*unstructured.Unstructured]bool{}
		for _, o := range objs {
			given[o] = true
		}
		for _, c := range got.Changes {
			if !given[c.Desired] {
				t.Errorf("round %d: %s: the change holds a copy, not the object given", round, c.Ref)
			}
		}
	}
	for _, o := range objs {
		wantNS := map[string]string{"ConfigMap": ns, "Role": "default", "ClusterRole": ""}[o.GetKind()]
		if o.GetNamespace() != wantNS || o.GetLabels()[kube.LabelBlock] != block || o.GetAnnotations()[kube.AnnotationDigest] == "" {
			t.Errorf("%s not prepared in place: namespace %q, labels %v, annotations %v", o.GetKind(), o.GetNamespace(), o.GetLabels(), o.GetAnnotations())
		}
	}
}
