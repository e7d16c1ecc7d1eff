package planner

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

// gadgetStack is a stack whose release installs the chart
// testdata/charts/gadgets (its crds/ directory defines the Gadget CRD, its
// templates a Gadget and the cluster-scoped Doohickey CRD) into a namespace
// it creates,
// and whose kustomization "things" depends on the release and declares
// Gadgets and a ConfigMap in that namespace, and a Doohickey.
func gadgetStack(t *testing.T, uniq, relns string) string {
	t.Helper()
	dir := writeStack(t, map[string]string{
		"main.hcl": `
release "gadgets" {
  namespace = "` + relns + `"
  chart     = "charts/gadgets"
  values    = { group = "` + uniq + `.strata.test" }
  install {
    create_namespace = true
    crds             = "create_replace"
  }
  upgrade { crds = "create_replace" }
}

kustomization "things" {
  path       = "things"
  depends_on = [release.gadgets]
}
`,
		"things/kustomization.yaml": "resources: [gadget.yaml, settings.yaml, doohickey.yaml]\n",
		"things/doohickey.yaml":     "apiVersion: " + uniq + ".strata.test/v1\nkind: Doohickey\nmetadata: {name: d1}\nspec: {}\n",
		"things/gadget.yaml":        gadgetYAML(uniq, "v1", "g1", relns, "size: 2"),
		"things/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: " + relns +
			"}\ndata: {mode: test}\n",
	})
	copyDir(t, "testdata/charts/gadgets", filepath.Join(dir, "charts/gadgets"))
	replaceInFile(t, filepath.Join(dir, "charts/gadgets/crds/gadgets.yaml"), "UNIQ", uniq)
	return dir
}

func gadgetYAML(uniq, version, name, ns, spec string) string {
	return "apiVersion: " + uniq + ".strata.test/" + version + "\nkind: Gadget\nmetadata: {name: " + name +
		", namespace: " + ns + "}\nspec: {" + spec + "}\n"
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// planErr loads and plans the stack and returns the plan's error.
func planErr(t *testing.T, opts Options) error {
	t.Helper()
	e, diags := Load(opts)
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	defer e.Close()
	_, err := e.Plan(context.Background())
	return err
}

// schemaPlanError plans a stack where the planned CRD's schema refuses the
// object at address: the plan is made, with one error at that object
// naming want, and every block planned; apply refuses it and writes nothing.
func schemaPlanError(t *testing.T, opts Options, address, want string) {
	t.Helper()
	e, p := lockedPlan(t, opts)
	if len(p.Errors) != 1 || p.Errors[0].Address != address || !strings.Contains(p.Errors[0].Message, want) {
		t.Fatalf("plan errors %q, want one at %s naming %s", planErrors(p), address, want)
	}
	if len(p.Blocks) == 0 || (len(p.Changes) == 0 && len(p.Releases) == 0) {
		t.Errorf("the rest of the plan is missing: %d blocks, changes %v, %d releases", len(p.Blocks), changed(p), len(p.Releases))
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
		t.Fatalf("apply of the plan: %v, want %v", err, ErrPlanErrors)
	}
	if err := e.Unlock(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// deleteGadgets removes what a gadget test leaves in the cluster: the CRDs
// (Helm keeps CRDs on uninstall) and the release's namespace (if any).
func deleteGadgets(t *testing.T, c *testcluster.Cluster, uniq, relns string) {
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		crd := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		for _, name := range []string{"gadgets", "doohickeys"} {
			if err := dyn.Resource(crd).Delete(ctx, name+"."+uniq+".strata.test", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Logf("cleanup: %v", err)
			}
		}
		if relns == "" {
			return
		}
		if err := dyn.Resource(gvrNamespace).Delete(ctx, relns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Logf("cleanup: %v", err)
		}
	})
}

// findChange returns the change of the object at address.
func findChange(t *testing.T, p *plan.Plan, address string) plan.ResourceChange {
	t.Helper()
	for _, c := range p.Changes {
		if c.Address == address {
			return c
		}
	}
	t.Fatalf("no change for %s in %v", address, changed(p))
	return plan.ResourceChange{}
}

// TestCRDFromRelease plans custom resources whose CRD a release installs
// from its chart's crds/ directory in the same plan, in a namespace the
// release creates (create_namespace): they are checked against the CRD's
// schema (a typo is a plan error naming the field), planned as creates
// marked schema-checked-only, applied, and re-planned clean. A second
// plan changes the CRD (a new field and a new version) together with
// resources using them.
func TestCRDFromRelease(t *testing.T) {
	c := testcluster.Get(t)
	uniq := testcluster.UniqueName("gadgets")
	relns := testcluster.UniqueName("relns")
	deleteGadgets(t, c, uniq, relns)
	dir := gadgetStack(t, uniq, relns)
	opts := testOptions(c, dir)
	group := "Gadget." + uniq + ".strata.test"

	// A typo is caught at plan time, with the object and the field.
	good := gadgetYAML(uniq, "v1", "g1", relns, "size: 2")
	writeFile(t, filepath.Join(dir, "things/gadget.yaml"), gadgetYAML(uniq, "v1", "g1", relns, "size: 2, colour: red"))
	// It is an error at the object; the rest of the plan is made and apply
	// refuses it.
	schemaPlanError(t, opts, "kustomization.things/"+group+"/"+relns+"/g1", "spec.colour: unknown field")
	writeFile(t, filepath.Join(dir, "things/gadget.yaml"), gadgetYAML(uniq, "v1", "g1", relns, "size: many"))
	schemaPlanError(t, opts, "kustomization.things/"+group+"/"+relns+"/g1", "spec.size")
	writeFile(t, filepath.Join(dir, "things/gadget.yaml"), good)

	_, p := planStack(t, opts)
	g1 := findChange(t, p, "kustomization.things/"+group+"/"+relns+"/g1")
	if !g1.Actions.Is(plan.Create) || !g1.SchemaOnly || g1.AfterCRD != "gadgets."+uniq+".strata.test" ||
		!strings.Contains(g1.Reason, "checked against the CRD's schema only") || !strings.Contains(g1.Reason, "release.gadgets") {
		t.Errorf("Gadget change: %v schema_only=%v after_crd=%q reason=%q", g1.Actions, g1.SchemaOnly, g1.AfterCRD, g1.Reason)
	}
	if diff := cmp.Diff(map[string]any{"size": int64(2), "color": "blue"}, g1.After["spec"]); diff != "" {
		t.Errorf("Gadget after, with the schema's defaults (-want +got):\n%s", diff)
	}
	if b, _ := json.Marshal(g1); !strings.Contains(string(b), `"schema_only":true`) {
		t.Errorf("plan JSON of the change lacks schema_only: %s", b)
	}
	d1 := findChange(t, p, "kustomization.things/Doohickey."+uniq+".strata.test/d1")
	if !d1.Actions.Is(plan.Create) || !d1.SchemaOnly || d1.AfterCRD != "doohickeys."+uniq+".strata.test" || d1.After["spec"].(map[string]any)["enabled"] != true {
		t.Errorf("Doohickey change (CRD in the chart's templates): %v schema_only=%v after_crd=%q after=%v", d1.Actions, d1.SchemaOnly, d1.AfterCRD, d1.After["spec"])
	}
	var def plan.ResourceChange
	for _, rc := range p.Releases[0].Changes {
		if rc.Name == "gadgets-default" {
			def = rc
		}
	}
	if !def.SchemaOnly || !strings.HasSuffix(def.Reason, "(crds/ of chart gadgets); checked against the CRD's schema only") {
		t.Errorf("the chart's own Gadget: schema_only=%v %q", def.SchemaOnly, def.Reason)
	}
	cm := findChange(t, p, "kustomization.things/ConfigMap/"+relns+"/settings")
	if !cm.Actions.Is(plan.Create) || cm.Reason != "after Namespace "+relns+" (release.gadgets)" {
		t.Errorf("ConfigMap change: %v %q", cm.Actions, cm.Reason)
	}

	applyStack(t, opts)
	if _, p := planStack(t, opts); p.HasChanges() {
		t.Fatalf("plan after apply has changes: %v %+v", changed(p), p.Releases)
	}

	// The chart's next version changes the CRD; the kustomization uses the
	// new field and the new version in the same plan.
	crd, err := os.ReadFile("testdata/gadgets-crd-v2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "charts/gadgets/crds/gadgets.yaml"), strings.ReplaceAll(string(crd), "UNIQ", uniq))
	replaceInFile(t, filepath.Join(dir, "charts/gadgets/Chart.yaml"), "version: 0.1.0", "version: 0.2.0")
	writeFile(t, filepath.Join(dir, "things/gadget.yaml"), gadgetYAML(uniq, "v2", "g1", relns, "size: 2, shape: square")+
		"---\n"+gadgetYAML(uniq, "v2", "g2", relns, "size: 5"))
	_, p = planStack(t, opts)
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Upgrade) {
		t.Fatalf("release: %+v, want an upgrade", p.Releases)
	}
	g1 = findChange(t, p, "kustomization.things/"+group+"/"+relns+"/g1")
	if !g1.Actions.Is(plan.Update) || !g1.SchemaOnly {
		t.Errorf("Gadget g1: %v schema_only=%v %q", g1.Actions, g1.SchemaOnly, g1.Reason)
	}
	if diff := cmp.Diff([]plan.FieldDiff{
		{Path: "apiVersion", Op: plan.OpChange, Before: uniq + ".strata.test/v1", After: uniq + ".strata.test/v2"},
		{Path: "spec.shape", Op: plan.OpAdd, After: "square"},
	}, g1.Diff); diff != "" {
		t.Errorf("Gadget g1 diff (-want +got):\n%s", diff)
	}
	g2 := findChange(t, p, "kustomization.things/"+group+"/"+relns+"/g2")
	if !g2.Actions.Is(plan.Create) || !g2.SchemaOnly || g2.APIVersion != uniq+".strata.test/v2" || g2.After["spec"].(map[string]any)["shape"] != "round" {
		t.Errorf("Gadget g2: %v schema_only=%v %s %v", g2.Actions, g2.SchemaOnly, g2.APIVersion, g2.After["spec"])
	}
	// Applied from a saved plan: the objects' version v2 is served only
	// once the release's upgrade replaced the CRD.
	file := filepath.Join(t.TempDir(), "plan.out")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	if _, err := applySaved(t, c, file); err != nil {
		t.Fatalf("apply the saved plan: %v", err)
	}
	if _, p := planStack(t, opts); p.HasChanges() {
		t.Fatalf("plan after the CRD change has changes: %v %+v", changed(p), p.Releases)
	}
}

// TestCRDFromKustomization plans custom resources whose CRD, and objects
// whose namespace, another kustomization creates in the same plan. Without
// a dependency on that block the plan refuses them (the block could apply
// first) and says which dependency to add; with it, the custom resources
// are checked against the CRD's schema.
func TestCRDFromKustomization(t *testing.T) {
	c := testcluster.Get(t)
	uniq := testcluster.UniqueName("gadgets")
	ns := c.Namespace(t, "crdk")
	newNS := testcluster.UniqueName("crdk-new")
	crd, err := os.ReadFile("testdata/charts/gadgets/crds/gadgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	stack := func(deps string) string {
		return `
kustomization "a_crds" {
  path = "crds"
}
kustomization "b_users" {
  path       = "users"
  ` + deps + `
}
`
	}
	dir := writeStack(t, map[string]string{
		"main.hcl":                 stack(""),
		"crds/kustomization.yaml":  "resources: [gadgets.yaml, ns.yaml]\n",
		"crds/gadgets.yaml":        strings.ReplaceAll(string(crd), "UNIQ", uniq),
		"crds/ns.yaml":             "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + newNS + "}\n",
		"users/kustomization.yaml": "resources: [gadget.yaml, cm.yaml]\n",
		"users/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: " + newNS + "}\n",
		"users/gadget.yaml":        gadgetYAML(uniq, "v1", "g1", ns, "size: 3, color: red"),
	})
	opts := testOptions(c, dir)
	err = planErr(t, opts)
	if err == nil || !strings.Contains(err.Error(), "whose CRD gadgets."+uniq+".strata.test is created by kustomization.a_crds in this plan, "+
		"but kustomization.b_users does not depend on kustomization.a_crds: add it to depends_on") ||
		!strings.Contains(err.Error(), "ConfigMap/"+newNS+"/settings is in namespace "+newNS+", which kustomization.a_crds creates in this plan") {
		t.Fatalf("plan without depends_on: %v, want errors asking for it", err)
	}

	writeFile(t, filepath.Join(dir, "main.hcl"), stack("depends_on = [kustomization.a_crds]"))
	_, p := planStack(t, opts)
	g1 := findChange(t, p, "kustomization.b_users/Gadget."+uniq+".strata.test/"+ns+"/g1")
	if !g1.Actions.Is(plan.Create) || !g1.SchemaOnly || !strings.Contains(g1.Reason, "(kustomization.a_crds); checked against the CRD's schema only") {
		t.Errorf("Gadget change: %v schema_only=%v reason=%q", g1.Actions, g1.SchemaOnly, g1.Reason)
	}
	if cm := findChange(t, p, "kustomization.b_users/ConfigMap/"+newNS+"/settings"); cm.Reason != "after Namespace "+newNS+" (kustomization.a_crds)" {
		t.Errorf("ConfigMap change: %v %q", cm.Actions, cm.Reason)
	}

	writeFile(t, filepath.Join(dir, "users/gadget.yaml"), gadgetYAML(uniq, "v1", "g1", ns, "color: red"))
	schemaPlanError(t, opts, "kustomization.b_users/Gadget."+uniq+".strata.test/"+ns+"/g1", "spec.size: Required value")

	// Applied, then the CRD gains a field that the other block uses in the
	// same plan: the live CRD would drop it, the planned one checks it.
	deleteGadgets(t, c, uniq, newNS)
	writeFile(t, filepath.Join(dir, "users/gadget.yaml"), gadgetYAML(uniq, "v1", "g1", ns, "size: 3, color: red"))
	applyStack(t, opts)
	writeFile(t, filepath.Join(dir, "crds/gadgets.yaml"), strings.ReplaceAll(string(crd), "UNIQ", uniq)+
		"              shape: {type: string, enum: [round, square]}\n")
	writeFile(t, filepath.Join(dir, "users/gadget.yaml"), gadgetYAML(uniq, "v1", "g1", ns, "size: 3, color: red, shape: oval"))
	schemaPlanError(t, opts, "kustomization.b_users/Gadget."+uniq+".strata.test/"+ns+"/g1", "spec.shape: Unsupported value")
	writeFile(t, filepath.Join(dir, "users/gadget.yaml"), gadgetYAML(uniq, "v1", "g1", ns, "size: 3, color: red, shape: square"))
	_, p = planStack(t, opts)
	g1 = findChange(t, p, "kustomization.b_users/Gadget."+uniq+".strata.test/"+ns+"/g1")
	if !g1.Actions.Is(plan.Update) || !g1.SchemaOnly || !strings.Contains(g1.Reason, "(kustomization.a_crds); checked against the CRD's schema only") {
		t.Errorf("Gadget change after the CRD change: %v schema_only=%v reason=%q", g1.Actions, g1.SchemaOnly, g1.Reason)
	}
	if diff := cmp.Diff([]plan.FieldDiff{{Path: "spec.shape", Op: plan.OpAdd, After: "square"}}, g1.Diff); diff != "" {
		t.Errorf("Gadget diff (-want +got):\n%s", diff)
	}
	applyStack(t, opts)
	if _, p := planStack(t, opts); p.HasChanges() {
		t.Fatalf("plan after the CRD change has changes: %v", changed(p))
	}
}

// TestReleaseAfterKustomizationCRD installs a release whose chart renders a
// custom resource of a CRD that a kustomization it depends on creates in
// the same plan: it is checked against the planned CRD (a typo is a plan
// error), and installed. Helm's cached discovery, read at plan time, did
// not know the kind at apply time ("resource mapping not found ... ensure
// CRDs are installed first").
func TestReleaseAfterKustomizationCRD(t *testing.T) {
	c := testcluster.Get(t)
	uniq := testcluster.UniqueName("gadgets")
	ns := c.Namespace(t, "crdr")
	deleteGadgets(t, c, uniq, "")
	crd, err := os.ReadFile("testdata/charts/gadgets/crds/gadgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := writeStack(t, map[string]string{
		"main.hcl": `
kustomization "crds" {
  path = "crds"
}
release "user" {
  namespace  = "` + ns + `"
  chart      = "charts/user"
  depends_on = [kustomization.crds]
}
`,
		"crds/kustomization.yaml":           "resources: [gadgets.yaml]\n",
		"crds/gadgets.yaml":                 strings.ReplaceAll(string(crd), "UNIQ", uniq),
		"charts/user/Chart.yaml":            "apiVersion: v2\nname: user\nversion: 0.1.0\n",
		"charts/user/templates/gadget.yaml": gadgetYAML(uniq, "v1", "g1", ns, "size: 1"),
	})
	opts := testOptions(c, dir)
	tmpl := filepath.Join(dir, "charts/user/templates/gadget.yaml")
	writeFile(t, tmpl, gadgetYAML(uniq, "v1", "g1", ns, "size: 1, colr: red"))
	schemaPlanError(t, opts, "release.user/Gadget."+uniq+".strata.test/"+ns+"/g1", "spec.colr: unknown field")
	writeFile(t, tmpl, gadgetYAML(uniq, "v1", "g1", ns, "size: 1"))

	_, p := planStack(t, opts)
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Install) || len(p.Releases[0].Changes) != 1 {
		t.Fatalf("release: %+v", p.Releases)
	}
	g1 := p.Releases[0].Changes[0]
	if !g1.SchemaOnly || !strings.HasSuffix(g1.Reason, "(kustomization.crds); checked against the CRD's schema only") ||
		g1.After["spec"].(map[string]any)["color"] != "blue" {
		t.Errorf("release's Gadget: schema_only=%v %q %v", g1.SchemaOnly, g1.Reason, g1.After["spec"])
	}
	applyStack(t, opts)
	if _, p := planStack(t, opts); p.HasChanges() {
		t.Fatalf("plan after apply has changes: %v %+v", changed(p), p.Releases)
	}
}
