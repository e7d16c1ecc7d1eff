package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
)

// fluxCRDs are stand-ins for Flux's Kustomization and HelmRelease CRDs:
// the names and versions strata looks up, with any fields.
const fluxCRDs = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: kustomizations.kustomize.toolkit.fluxcd.io
spec:
  group: kustomize.toolkit.fluxcd.io
  names: {kind: Kustomization, listKind: KustomizationList, plural: kustomizations, singular: kustomization}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: helmreleases.helm.toolkit.fluxcd.io
spec:
  group: helm.toolkit.fluxcd.io
  names: {kind: HelmRelease, listKind: HelmReleaseList, plural: helmreleases, singular: helmrelease}
  scope: Namespaced
  versions:
  - name: v2
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// installFluxCRDs creates the stand-in Flux CRDs unless they exist. Their
// names are fixed, so other tests may share them: they are never deleted.
func installFluxCRDs(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "crds.yaml")
	if err := os.WriteFile(f, []byte(fluxCRDs), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, "apply", "--server-side", "--field-manager=strata-test-flux-crds", "-f", f)
	c.Kubectl(t, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/kustomizations.kustomize.toolkit.fluxcd.io", "crd/helmreleases.helm.toolkit.fluxcd.io")
}

// kubectlApply applies manifest with kubectl's server-side apply as
// fieldManager.
func kubectlApply(t *testing.T, c *testcluster.Cluster, fieldManager, manifest string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(f, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Kubectl(t, "apply", "--server-side", "--field-manager="+fieldManager, "-f", f)
}

// TestAdoptFromFlux takes over objects that Flux's kustomize-controller
// applied (its field manager and labels) and a Helm release that
// helm-controller installed (its labels): the plan shows the adoption and
// changes no data or spec field, apply refuses while the Flux
// Kustomization and HelmRelease still reconcile, applies once they are
// suspended (strata becomes the objects' field manager, Flux's managers
// and labels are gone), the next plan is clean, and removing them from the
// stack prunes the objects and uninstalls the release.
func TestAdoptFromFlux(t *testing.T) {
	c := testcluster.Get(t)
	installFluxCRDs(t, c)
	ns := c.Namespace(t, "fluxadopt")
	fluxLabels := []string{"labels:", "  kustomize.toolkit.fluxcd.io/name: apps", "  kustomize.toolkit.fluxcd.io/namespace: " + ns}
	kubectlApply(t, c, "kustomize-controller", configMap(ns, "settings", fluxLabels...)+"---\n"+configMap(ns, "other", fluxLabels...))
	kubectlApply(t, c, "kubectl", fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: %s}
spec: {interval: 10m, path: ./apps, prune: true, suspend: false}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: %s}
spec: {interval: 10m, chart: {spec: {chart: web}}}
`, ns, ns))

	chart := map[string]string{
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  color: blue\n",
	}
	release := fmt.Sprintf("release \"web\" {\n  namespace = %q\n  chart     = \"charts/web\"\n}\n", ns)
	// The release as helm-controller left it: installed (here by another
	// stack, whose labels are then removed), its storage labelled with its
	// HelmRelease.
	helmDir := writeStack(t, merge(chart, map[string]string{"main.hcl": release}))
	applyStack(t, testOptions(c, helmDir))
	c.Kubectl(t, "-n", ns, "label", "secret", "-l", "owner=helm,name=web",
		"helm.toolkit.fluxcd.io/name=web", "helm.toolkit.fluxcd.io/namespace="+ns,
		"strata.dev/stack-", "strata.dev/stack-id-", "strata.dev/block-")

	dir := writeStack(t, merge(chart, map[string]string{
		"main.hcl":          "kustomization \"app\" {\n  path = \"app\"\n}\n" + release,
		"app/settings.yaml": configMap(ns, "settings"),
		"app/other.yaml":    configMap(ns, "other"),
	}))
	_, p := planStack(t, testOptions(c, dir))
	if errs := planErrors(p); len(errs) > 0 {
		t.Fatalf("plan errors %q", errs)
	}
	for _, name := range []string{"other", "settings"} {
		rc := change(t, p, "kustomization.app/ConfigMap/"+ns+"/"+name)
		if !rc.Adopt || rc.AdoptedFromFlux != "Kustomization "+ns+"/apps" || !rc.Actions.Is(plan.Update) {
			t.Errorf("%s: adopt %v from %q, actions %v; want an update adopted from Kustomization %s/apps", name, rc.Adopt, rc.AdoptedFromFlux, rc.Actions, ns)
		}
		for _, d := range rc.Diff {
			if !strings.HasPrefix(d.Path, "metadata.labels") {
				t.Errorf("%s: adoption changes %s, want only labels", name, d.Path)
			}
		}
		if !hasDiff(rc, `metadata.labels["kustomize.toolkit.fluxcd.io/name"]`) {
			t.Errorf("%s: the plan does not show Flux's label go: %+v", name, rc.Diff)
		}
	}
	if r := releaseChange(t, p, "release.web"); r.AdoptedFromFlux != "HelmRelease "+ns+"/web" || !r.Actions.IsNoOp() {
		t.Errorf("release: adopted from %q, actions %v; want a no-op adopted from HelmRelease %s/web", r.AdoptedFromFlux, r.Actions, ns)
	}
	wantFlux := []plan.FluxObject{
		{Kind: "HelmRelease", Namespace: ns, Name: "web", Adopted: []string{"release.web"}},
		{Kind: "Kustomization", Namespace: ns, Name: "apps", Adopted: []string{
			"kustomization.app/ConfigMap/" + ns + "/other", "kustomization.app/ConfigMap/" + ns + "/settings"}},
	}
	if d := cmp.Diff(wantFlux, p.Flux); d != "" {
		t.Fatalf("flux objects (-want +got):\n%s", d)
	}

	// Flux still reconciles: apply refuses and changes nothing.
	e, p := lockedPlan(t, testOptions(c, dir))
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrFluxManaged) ||
		!strings.Contains(err.Error(), "Kustomization "+ns+"/apps") || !strings.Contains(err.Error(), "--allow-flux-managed") {
		t.Fatalf("apply: err = %v, want ErrFluxManaged naming the Kustomization and the way out", err)
	}
	e.Unlock(context.Background())
	if l := liveConfigMap(t, c, ns, "settings").GetLabels(); l["strata.dev/block"] != "" {
		t.Fatalf("the refused apply labelled the ConfigMap: %v", l)
	}

	// Suspended (after the plan is enough): apply takes over.
	c.Kubectl(t, "-n", ns, "patch", "kustomizations.kustomize.toolkit.fluxcd.io", "apps", "--type=merge", "-p", `{"spec":{"suspend":true}}`)
	c.Kubectl(t, "-n", ns, "patch", "helmreleases.helm.toolkit.fluxcd.io", "web", "--type=merge", "-p", `{"spec":{"suspend":true}}`)
	e, p = lockedPlan(t, testOptions(c, dir))
	if len(p.ActiveFlux()) != 0 {
		t.Fatalf("active Flux objects %+v after suspending", p.ActiveFlux())
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	e.Unlock(context.Background())
	live := liveConfigMap(t, c, ns, "settings")
	if l := live.GetLabels(); l["strata.dev/block"] != "kustomization.app" || l["kustomize.toolkit.fluxcd.io/name"] != "" {
		t.Errorf("labels after adoption %v: want strata's, not Flux's", l)
	}
	for _, mf := range live.GetManagedFields() {
		if mf.Manager == "kustomize-controller" {
			t.Errorf("kustomize-controller still manages fields: %+v", mf)
		}
	}
	if _, p = planStack(t, testOptions(c, dir)); p.HasChanges() || len(p.Flux) != 0 {
		t.Fatalf("plan after adoption: changes %v, flux %+v; want none", changed(p), p.Flux)
	}

	// Removed from the stack: pruned and uninstalled.
	writeFiles(t, dir, map[string]string{"app/other.yaml": "", "main.hcl": "kustomization \"app\" {\n  path = \"app\"\n}\n"})
	applyStack(t, testOptions(c, dir))
	if liveConfigMap(t, c, ns, "other") != nil {
		t.Error("other was not pruned after it left the stack")
	}
	if liveConfigMap(t, c, ns, "web-settings") != nil {
		t.Error("the release web was not uninstalled after it left the stack")
	}
	if liveConfigMap(t, c, ns, "settings") == nil {
		t.Error("settings, still in the stack, is gone")
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func change(t *testing.T, p *plan.Plan, addr string) plan.ResourceChange {
	t.Helper()
	for _, rc := range p.Changes {
		if rc.Address == addr {
			return rc
		}
	}
	t.Fatalf("no change for %s in %v", addr, changed(p))
	return plan.ResourceChange{}
}

func releaseChange(t *testing.T, p *plan.Plan, addr string) plan.ReleaseChange {
	t.Helper()
	for _, rc := range p.Releases {
		if rc.Address == addr {
			return rc
		}
	}
	t.Fatalf("no release %s in the plan", addr)
	return plan.ReleaseChange{}
}

func hasDiff(rc plan.ResourceChange, path string) bool {
	for _, d := range rc.Diff {
		if d.Path == path {
			return true
		}
	}
	return false
}

// TestAdoptFromFluxAllowed applies over an active Flux Kustomization when
// told to (apply --allow-flux-managed), and adopts an object that shows
// Flux only through kustomize-controller's field manager.
func TestAdoptFromFluxAllowed(t *testing.T) {
	c := testcluster.Get(t)
	installFluxCRDs(t, c)
	ns := c.Namespace(t, "fluxallow")
	kubectlApply(t, c, "kustomize-controller", configMap(ns, "labelled", "labels:", "  kustomize.toolkit.fluxcd.io/name: apps",
		"  kustomize.toolkit.fluxcd.io/namespace: "+ns)+"---\n"+configMap(ns, "plain"))
	kubectlApply(t, c, "kubectl", fmt.Sprintf("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: %s}\nspec: {interval: 10m}\n", ns))
	dir := writeStack(t, map[string]string{
		"main.hcl":          "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/labelled.yaml": configMap(ns, "labelled"),
		"app/plain.yaml":    configMap(ns, "plain"),
	})
	e, p := lockedPlan(t, testOptions(c, dir))
	if rc := change(t, p, "kustomization.app/ConfigMap/"+ns+"/plain"); rc.AdoptedFromFlux != "field manager kustomize-controller" {
		t.Errorf("plain adopted from %q, want the field manager", rc.AdoptedFromFlux)
	}
	if a := p.ActiveFlux(); len(a) != 1 || a[0].String() != "Kustomization "+ns+"/apps" {
		t.Fatalf("active Flux objects %+v, want the Kustomization", a)
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{AllowFluxManaged: true}); err != nil {
		t.Fatalf("apply --allow-flux-managed: %v", err)
	}
	for _, name := range []string{"labelled", "plain"} {
		if l := liveConfigMap(t, c, ns, name).GetLabels(); l["strata.dev/block"] != "kustomization.app" || l["kustomize.toolkit.fluxcd.io/name"] != "" {
			t.Errorf("%s: labels %v, want strata's only", name, l)
		}
	}
}
