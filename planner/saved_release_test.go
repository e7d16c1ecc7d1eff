package planner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// TestSavedPlanReleaseFromRepository saves a plan that upgrades a release
// from a chart repository to the newest 1.1.x (1.1.0). A 1.1.1 published
// before the apply changes nothing: apply FILE installs exactly the planned
// chart, from the plan file, without asking the repository.
func TestSavedPlanReleaseFromRepository(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "savedrepo")
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, helmserver.Chart("hello", "1.0.0"))
	srv.AddChart(t, helmserver.Chart("hello", "1.1.0"))
	stack := func(version string) string {
		return fmt.Sprintf(`source "helm" "charts" {
  url = %q
}
release "hello" {
  namespace = %q
  chart     = "hello"
  version   = %q
  source    = source.helm.charts
  values    = { message = "planned" }
}
`, srv.URL(), ns, version)
	}
	dir := writeStack(t, map[string]string{"main.hcl": stack("1.0.0")})
	applyStack(t, testOptions(c, dir))

	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(stack("~> 1.1.0")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, p := planStack(t, testOptions(c, dir))
	if r := p.Releases[0]; !r.Actions.Is(plan.Upgrade) || r.VersionAfter != "1.1.0" {
		t.Fatalf("release %+v, want an upgrade to 1.1.0", r)
	}
	file := filepath.Join(t.TempDir(), "plan.out")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}

	srv.AddChart(t, helmserver.Chart("hello", "1.1.1"))
	srv.ResetRequests()
	res, err := applySaved(t, c, file)
	if err != nil {
		t.Fatalf("apply FILE: %v", err)
	}
	if res.Changed != 1 {
		t.Errorf("apply FILE changed %d, want 1", res.Changed)
	}
	if reqs := srv.Requests(); len(reqs) != 0 {
		t.Errorf("apply FILE asked the chart repository: %+v", reqs)
	}
	e, p := planStack(t, testOptions(c, dir))
	st, _ := e.Store()
	snap, err := st.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rel, ok := snap.Release("release.hello"); !ok || rel.Version != "1.1.0" {
		t.Errorf("state release %+v, want version 1.1.0", rel)
	}
	// The stack now resolves ~> 1.1.0 to 1.1.1: the next plan upgrades
	// again, from 1.1.0, so the apply installed 1.1.0.
	if r := p.Releases[0]; !r.Actions.Is(plan.Upgrade) || r.VersionBefore != "1.1.0" || r.VersionAfter != "1.1.1" {
		t.Errorf("next plan %+v, want an upgrade 1.1.0 -> 1.1.1", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(stack("1.1.0")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, p := planStack(t, testOptions(c, dir)); p.HasChanges() {
		t.Errorf("plan pinned to 1.1.0 after apply FILE has changes: %+v", p.Releases)
	}
}

// TestSavedAdoptionRefusedWhenClaimed saves a plan in which a release from
// a chart repository adopts an existing object (adopt = true): Helm takes
// such objects with its take-ownership option, which would also take the
// object from whoever claimed it between plan and apply. Apply FILE
// refuses, changing nothing, when another Helm release claimed the object
// since, or when it was deleted and created again; once it is as planned,
// the same file applies.
func TestSavedAdoptionRefusedWhenClaimed(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "savedadopt")
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, helmserver.Chart("hello", "1.0.0"))
	createConfigMap(t, c, ns, "web-hello")
	dir := writeStack(t, map[string]string{"main.hcl": fmt.Sprintf(`source "helm" "charts" {
  url = %q
}
release "web" {
  namespace = %q
  chart     = "hello"
  version   = "1.0.0"
  source    = source.helm.charts
  adopt     = true
}
`, srv.URL(), ns)})
	addr := "release.web/ConfigMap/" + ns + "/web-hello"
	savePlan := func() string {
		t.Helper()
		_, p := planStack(t, testOptions(c, dir))
		if rc, ok := objectOfRelease(p, addr); p.HasErrors() || !ok || !rc.Adopt {
			t.Fatalf("plan: errors %q, releases %+v; want %s adopted", planErrors(p), p.Releases, addr)
		}
		file := filepath.Join(t.TempDir(), "plan.out")
		if err := plan.WriteFile(file, p); err != nil {
			t.Fatal(err)
		}
		return file
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	cms := dyn.Resource(gvrConfigMap).Namespace(ns)
	secrets := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace(ns)
	setClaim := func(annotations map[string]any, labels map[string]any) {
		t.Helper()
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations, "labels": labels}})
		if _, err := cms.Patch(t.Context(), "web-hello", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(file, want string) {
		t.Helper()
		before := liveConfigMap(t, c, ns, "web-hello")
		_, err := applySaved(t, c, file)
		if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), "ConfigMap/"+ns+"/web-hello") || !strings.Contains(err.Error(), want) {
			t.Fatalf("apply FILE: %v, want a refusal naming the ConfigMap and %q", err, want)
		}
		after := liveConfigMap(t, c, ns, "web-hello")
		if after.GetResourceVersion() != before.GetResourceVersion() {
			t.Errorf("the refused apply changed the ConfigMap: %v %v", after.GetAnnotations(), after.Object["data"])
		}
		if _, err := secrets.Get(t.Context(), "sh.helm.release.v1.web.v1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the refused apply installed the release")
		}
	}

	// Another Helm release claims the object after the plan.
	file := savePlan()
	setClaim(map[string]any{kube.HelmReleaseNameAnnotation: "other", kube.HelmReleaseNSAnnotation: ns},
		map[string]any{kube.HelmManagedByLabel: "Helm"})
	refused(file, "was unclaimed when planned and is now claimed by app.kubernetes.io/managed-by=Helm, meta.helm.sh/release-name=other")

	// Unclaimed again, but deleted and created again.
	setClaim(map[string]any{kube.HelmReleaseNameAnnotation: nil, kube.HelmReleaseNSAnnotation: nil},
		map[string]any{kube.HelmManagedByLabel: nil})
	if err := cms.Delete(t.Context(), "web-hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	createConfigMap(t, c, ns, "web-hello")
	refused(file, "which the plan adopts, was deleted and created again")

	// As planned: the saved plan applies and Helm owns the object.
	file = savePlan()
	if _, err := applySaved(t, c, file); err != nil {
		t.Fatalf("apply FILE of the adoption: %v", err)
	}
	if live := liveConfigMap(t, c, ns, "web-hello"); !kube.HelmOwns(live, "web", ns) {
		t.Errorf("adopted ConfigMap: labels %v, annotations %v", live.GetLabels(), live.GetAnnotations())
	}
}
