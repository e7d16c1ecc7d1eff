package planner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// createConfigMap creates a ConfigMap outside strata, without labels.
func createConfigMap(t *testing.T, c *testcluster.Cluster, ns, name string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns}, "data": map[string]any{"k": "old"}}}
	if _, err := dyn.Resource(gvrConfigMap).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// planErrors returns "ADDRESS: MESSAGE" of each plan error.
func planErrors(p *plan.Plan) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Address+": "+e.Message)
	}
	return out
}

// TestPlanErrors: objects the plan cannot change (without strata's labels
// and not adopted, owned by another block, rendered by two blocks) are plan
// errors naming the object, the owner and the way out, not updates; apply
// refuses such a plan before it changes anything.
func TestPlanErrors(t *testing.T) {
	c := testcluster.Get(t)
	t.Run("without labels", func(t *testing.T) {
		ns := c.Namespace(t, "noadopt")
		createConfigMap(t, c, ns, "existing")
		dir := writeStack(t, map[string]string{
			"main.hcl":          "kustomization \"app\" {\n  path = \"app\"\n}\n",
			"app/existing.yaml": configMap(ns, "existing"),
			"app/new.yaml":      configMap(ns, "new"),
		})
		e, p := planStack(t, testOptions(c, dir))
		addr := "kustomization.app/ConfigMap/" + ns + "/existing"
		if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], addr+": ") ||
			!strings.Contains(errs[0], "adopt = true in kustomization.app") || !strings.Contains(errs[0], "strata apply --adopt "+addr) {
			t.Fatalf("plan errors %q; want one for %s with the ways to adopt it", errs, addr)
		}
		if diff := cmp.Diff([]string{"[create] kustomization.app/ConfigMap/" + ns + "/new"}, changed(p)); diff != "" {
			t.Errorf("plan changes (-want +got):\n%s", diff)
		}
		if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
			t.Fatalf("apply: err = %v, want ErrPlanErrors", err)
		}
		if liveConfigMap(t, c, ns, "new") != nil {
			t.Error("the refused apply created a ConfigMap")
		}
	})
	t.Run("owned by another block", func(t *testing.T) {
		ns := c.Namespace(t, "otherblock")
		files := map[string]string{
			"main.hcl": "kustomization \"a\" {\n  path = \"a\"\n}\nkustomization \"b\" {\n  path = \"b\"\n}\n",
			"a/x.yaml": configMap(ns, "x"), "b/y.yaml": configMap(ns, "y"),
		}
		dir := writeStack(t, files)
		applyStack(t, testOptions(c, dir))
		writeFiles(t, dir, map[string]string{"a/x.yaml": "", "b/x.yaml": configMap(ns, "x")})
		e, p := planStack(t, testOptions(c, dir))
		addr := "kustomization.b/ConfigMap/" + ns + "/x"
		if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], addr+": the object belongs to kustomization.a") {
			t.Fatalf("plan errors %q; want one for %s owned by kustomization.a", errs, addr)
		}
		if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
			t.Fatalf("apply: err = %v, want ErrPlanErrors", err)
		}
		if liveConfigMap(t, c, ns, "x") == nil {
			t.Error("the refused apply pruned x from kustomization.a")
		}
	})
	t.Run("rendered by two blocks", func(t *testing.T) {
		ns := c.Namespace(t, "twoblocks")
		dir := writeStack(t, map[string]string{
			"main.hcl": "kustomization \"a\" {\n  path = \"a\"\n}\nkustomization \"b\" {\n  path = \"b\"\n}\n",
			"a/x.yaml": configMap(ns, "x"), "b/x.yaml": configMap(ns, "x"),
		})
		_, p := planStack(t, testOptions(c, dir))
		if errs := planErrors(p); len(errs) != 1 || !strings.Contains(errs[0], "is rendered by both kustomization.a and kustomization.b") {
			t.Fatalf("plan errors %q; want one naming both blocks", errs)
		}
	})
}

// TestAdopt takes over an object that exists without strata's labels,
// asked for with apply --adopt (Options.Adopt) or adopt = true on the
// block: the plan shows an adoption, the apply labels and configures the
// object, and the next plan has no changes.
func TestAdopt(t *testing.T) {
	c := testcluster.Get(t)
	for _, how := range []string{"option", "attribute"} {
		t.Run(how, func(t *testing.T) {
			ns := c.Namespace(t, "adopt")
			createConfigMap(t, c, ns, "existing")
			hcl := "kustomization \"app\" {\n  path = \"app\"\n}\n"
			if how == "attribute" {
				hcl = "kustomization \"app\" {\n  path  = \"app\"\n  adopt = true\n}\n"
			}
			dir := writeStack(t, map[string]string{"main.hcl": hcl, "app/existing.yaml": configMap(ns, "existing")})
			addr := "kustomization.app/ConfigMap/" + ns + "/existing"
			opts := testOptions(c, dir)
			if how == "option" {
				opts.Adopt = []string{addr}
			}
			_, p := planStack(t, opts)
			i := slices.IndexFunc(p.Changes, func(rc plan.ResourceChange) bool { return rc.Address == addr })
			if p.HasErrors() || i < 0 || !p.Changes[i].Adopt || !p.Changes[i].Actions.Is(plan.Update) {
				t.Fatalf("plan: errors %q, changes %+v; want %s adopted", planErrors(p), changed(p), addr)
			}
			applyStack(t, opts)
			live := liveConfigMap(t, c, ns, "existing")
			if live.GetLabels()[kube.LabelBlock] != "kustomization.app" || live.Object["data"].(map[string]any)["k"] != "v" {
				t.Errorf("adopted ConfigMap: labels %v, data %v", live.GetLabels(), live.Object["data"])
			}
			if _, p := planStack(t, testOptions(c, dir)); p.HasChanges() || p.HasErrors() {
				t.Errorf("plan after the adoption: changes %v, errors %q", changed(p), planErrors(p))
			}
		})
	}
}
