package kube_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
)

// TestScanMetadata checks the live metadata scan: a listed object carries
// its resourceVersion and strata's field sets, a relabelled one is found
// by name, a deleted one and one of a kind the cluster does not serve do
// not exist, the same from the lists a whole check shares (SharedScan), and
// the scan impersonates as the manager does.
func TestScanMetadata(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	ns := testcluster.Get(t).Namespace(t, "scan")
	block := "kustomization.scan"
	objs := render(t, map[string]string{
		"kustomization.yaml": "resources: [a.yaml, b.yaml]\n",
		"a.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: NS}\ndata: {k: v}\n",
		"b.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: NS}\ndata: {k: v}\n",
	}, ns, "")
	cs, err := m.Diff(ctx, objs, kube.DiffOptions{Stack: stack, Block: block})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: block, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rv := map[string]string{}
	for _, o := range res.Objects {
		rv[o.Ref.Name] = o.ResourceVersion
	}
	// b no longer carries the block label.
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{kube.LabelBlock: nil}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns).
		Patch(ctx, "b", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := func(name string) kube.ObjectRef {
		return kube.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: name}
	}
	refs := []kube.ObjectRef{cm("a"), cm("b"), cm("gone"),
		{Group: "nowhere.example.com", Version: "v1", Kind: "Widget", Namespace: ns, Name: "w"}}
	opts := kube.ScanOptions{Selector: kube.LabelStack + "=" + stack + "," + kube.LabelBlock + "=" + block, Concurrency: 2}
	got, err := m.ScanMetadata(ctx, refs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(refs) {
		t.Fatalf("%d results for %d refs", len(got), len(refs))
	}
	if a := got[0]; !a.Exists || !a.Listed || a.UID == "" || a.ResourceVersion != rv["a"] || a.FieldsHash == "" || len(a.FieldSets) == 0 {
		t.Errorf("a: %+v, want listed at resourceVersion %s with strata's field sets", a, rv["a"])
	}
	if b := got[1]; !b.Exists || b.Listed || b.UID == "" || b.FieldsHash != "" {
		t.Errorf("b: %+v, want found by name only", b)
	}
	for i, name := range []string{"gone", "unknown kind"} {
		if o := got[2+i]; o.Exists {
			t.Errorf("%s: %+v, want not existing", name, o)
		}
	}

	// The same scan from the lists of a whole check (the stack's objects)
	// finds the same: b, which the stack's list holds but the block's
	// selector no longer matches, by name.
	shared := kube.NewSharedScan(kube.LabelStack+"="+stack, 2)
	m.PrefetchScan(ctx, shared, refs)
	sopts := opts
	sopts.Shared = shared
	fromShared, err := m.ScanMetadata(ctx, refs, sopts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range refs {
		if got, want := fromShared[i], got[i]; got.Exists != want.Exists || got.Listed != want.Listed || got.UID != want.UID ||
			got.ResourceVersion != want.ResourceVersion || got.FieldsHash != want.FieldsHash {
			t.Errorf("%s from the shared lists: %+v, want %+v", refs[i].Name, got, want)
		}
	}

	imp, err := m.Impersonate(ns + "/nobody")
	if err != nil {
		t.Fatal(err)
	}
	_, err = imp.ScanMetadata(ctx, refs[:1], opts)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "system:serviceaccount:"+ns+":nobody") {
		t.Errorf("impersonated scan: %v, want forbidden for the service account", err)
	}
}
