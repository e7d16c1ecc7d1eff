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

// TestReleaseFromRepository installs a chart from a real chart repository
// (in-process HTTP) and upgrades it when a newer version is asked for; the
// chart revision is recorded in the state.
func TestReleaseFromRepository(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "repo")
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
}
`, srv.URL(), ns, version)
	}
	dir := writeStack(t, map[string]string{"main.hcl": stack("1.0.0")})
	_, p := planStack(t, testOptions(c, dir))
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Install) || p.Releases[0].VersionAfter != "1.0.0" {
		t.Fatalf("releases %+v, want an install of 1.0.0", p.Releases)
	}
	applyStack(t, testOptions(c, dir))

	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(stack("~> 1.1")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, p = planStack(t, testOptions(c, dir))
	r := p.Releases[0]
	if !r.Actions.Is(plan.Upgrade) || r.VersionBefore != "1.0.0" || r.VersionAfter != "1.1.0" {
		t.Fatalf("release %+v, want an upgrade 1.0.0 -> 1.1.0", r)
	}
	applyStack(t, testOptions(c, dir))
	e, p := planStack(t, testOptions(c, dir))
	if p.HasChanges() {
		t.Fatalf("plan after the upgrade has changes: %+v %+v", p.Releases, p.Sources)
	}
	st, _ := e.Store()
	snap, err := st.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rel, ok := snap.Release("release.hello")
	if !ok || rel.Version != "1.1.0" {
		t.Errorf("state release %+v, want version 1.1.0", rel)
	}
	if b, _ := snap.Block("release.hello"); len(b.Revision) < len("1.1.0@sha256:") {
		t.Errorf("state block revision %q, want the chart revision", b.Revision)
	}
}
