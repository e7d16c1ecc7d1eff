package planner

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
	"github.com/strata-gitops/strata/planner/plan"
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
