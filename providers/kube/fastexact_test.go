package kube_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/providers/kustomize"
	"github.com/strata-gitops/strata/providers/kustomize/kustomizetest"
)

// TestFastDiffMatchesExact plans every tree of the kustomize provider's
// tests (kustomizetest.Corpus) with the fast diff (no dry run for an object
// that the apply recorded and nobody changed) and with ExactDiff (a dry run
// for every object), and wants the same changes: before the apply (all
// creates), after it (none), with objects edited in the plan (a label, a
// data value, replicas) and with a field the apply set edited in the
// cluster; the fast diff also with the reads of a plan shared
// (DiffOptions.Shared). (A field that another manager adds, such as a label of kubectl
// label, is no change for either: server-side apply keeps it.)
func TestFastDiffMatchesExact(t *testing.T) {
	c := testcluster.Get(t)
	ctx := context.Background()
	fast := newManager(t)
	exact, err := kube.NewManager(c.RESTConfig(), kube.Options{ExactDiff: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range kustomizetest.Corpus() {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "fastexact")
			objs := buildCorpus(t, tc, ns)
			opts := kube.DiffOptions{Stack: stack, Block: "kustomization.corpus"}
			same := func(step string, objs []*unstructured.Unstructured, want int) {
				t.Helper()
				f, err := fast.Diff(ctx, objs, opts)
				if err != nil {
					t.Fatal(err)
				}
				e, err := exact.Diff(ctx, objs, opts)
				if err != nil {
					t.Fatal(err)
				}
				if changed(f) != changed(e) {
					t.Fatalf("%s: fast diff:\n%s\nexact diff:\n%s", step, changed(f), changed(e))
				}
				if n := strings.Count(changed(f), "\n"); n != want {
					t.Fatalf("%s: %d changes, want %d:\n%s", step, n, want, changed(f))
				}
				// With the reads of a plan shared between its blocks: the
				// live objects from the stack's list, then (taken by the
				// first diff) read one by one.
				sh := opts
				sh.Shared = kube.NewSharedReads(opts.Block, "kustomization.other")
				for _, pass := range []string{"shared list", "shared list taken"} {
					s, err := fast.Diff(ctx, objs, sh)
					if err != nil {
						t.Fatal(err)
					}
					if changed(s) != changed(e) {
						t.Fatalf("%s, %s: fast diff:\n%s\nexact diff:\n%s", step, pass, changed(s), changed(e))
					}
				}
				// The same with the shared lists started before the diff
				// (as a plan starts them while it renders).
				refs := make([]kube.ObjectRef, len(objs))
				for i, o := range objs {
					refs[i] = kube.RefOf(o)
				}
				sh.Shared = kube.NewSharedReads()
				fast.StartPrefetch(ctx, sh.Shared, refs, sh.Stack)
				s, err := fast.Diff(ctx, objs, sh)
				if err != nil {
					t.Fatal(err)
				}
				if changed(s) != changed(e) {
					t.Fatalf("%s, early shared lists: fast diff:\n%s\nexact diff:\n%s", step, changed(s), changed(e))
				}
			}
			same("before the apply", objs, len(objs))
			cs, err := fast.Diff(ctx, objs, opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fast.Apply(ctx, cs, kube.ApplyOptions{Stack: opts.Stack, Block: opts.Block}, nil); err != nil {
				t.Fatal(err)
			}
			same("after the apply", objs, 0)

			edited := make([]*unstructured.Unstructured, len(objs))
			for i, o := range objs {
				edited[i] = o.DeepCopy()
			}
			edit(t, edited[0])
			same("edited in the plan", edited, 1)

			i, patch := ownedField(objs)
			if i < 0 {
				return
			}
			if out, err := c.KubectlCommand(t, "-n", ns, "patch", strings.ToLower(objs[i].GetKind()), objs[i].GetName(),
				"--type=merge", "-p", patch).CombinedOutput(); err != nil {
				t.Fatalf("kubectl patch: %v\n%s", err, out)
			}
			same("edited in the cluster too", edited, 1+boolInt(i != 0))
		})
	}
}

// ownedField returns the last object with a data value or a label (fields
// the apply owns), and a merge patch that changes it.
func ownedField(objs []*unstructured.Unstructured) (int, string) {
	for i := len(objs) - 1; i >= 0; i-- {
		data, _, _ := unstructured.NestedMap(objs[i].Object, "data")
		for k := range data {
			return i, fmt.Sprintf(`{"data":{%q:"edited-in-cluster"}}`, k)
		}
		for k := range objs[i].GetLabels() {
			return i, fmt.Sprintf(`{"metadata":{"labels":{%q:"edited-in-cluster"}}}`, k)
		}
	}
	return -1, ""
}

// buildCorpus renders a corpus tree and puts its objects into ns, with no
// replicas (no pods on the shared cluster).
func buildCorpus(t *testing.T, tc kustomizetest.Case, ns string) []*unstructured.Unstructured {
	t.Helper()
	root := t.TempDir()
	for p, content := range tc.Files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := tc.Options
	opts.Root = root
	objs, err := kustomize.Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.SetNamespace(ns)
		if o.GetKind() == "Deployment" {
			if err := unstructured.SetNestedField(o.Object, int64(0), "spec", "replicas"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return objs
}

// edit changes one object: a label, and a data value or the replicas.
func edit(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	l := o.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l["edited"] = "yes"
	o.SetLabels(l)
	var err error
	switch o.GetKind() {
	case "ConfigMap":
		err = unstructured.SetNestedField(o.Object, "edited", "data", "edited")
	case "Deployment":
		err = unstructured.SetNestedField(o.Object, int64(1), "spec", "replicas")
	}
	if err != nil {
		t.Fatal(err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
