package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/gitserver"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
)

// TestDriftSources checks a kustomization from a Git source: objects are
// compared with what was applied (the recorded commit), not with the
// branch's new head, and --sources reports the branch that moved on.
func TestDriftSources(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "dsrc")
	repo, cm, first, dir := gitStack(t, ns)
	opts := testOptions(c, dir)
	applyStack(t, opts)
	second := repo.Commit(t, cm("green"), gitserver.CommitOptions{})
	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"color":"red"}}`)

	rep := checkDriftWith(t, opts, DriftOptions{Sources: true})
	want := []string{
		"modified kustomization.app/ConfigMap/" + ns + "/settings data.color",
		"source source.git.platform revision",
	}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Fatalf("drift (-want +got):\n%s", d)
	}
	f := rep.Block("kustomization.app").Items[0].Fields[0]
	if f.Live != "red" || f.Applied != "blue" {
		t.Errorf("data.color: live %v, applied %v; want red, blue (the applied commit, not the new head)", f.Live, f.Applied)
	}
	src := rep.Block("source.git.platform").Items[0].Fields[0]
	if !strings.HasSuffix(fmt.Sprint(src.Live), first.String()) || !strings.HasSuffix(fmt.Sprint(src.Applied), second.String()) {
		t.Errorf("source revision %v -> %v, want %s -> %s", src.Live, src.Applied, first, second)
	}
	if n := rep.Block("kustomization.app").Notes; len(n) != 0 {
		t.Errorf("notes %v, want none", n)
	}
}

// TestDriftChartSource checks that drift --sources reports a release whose
// chart repository serves a newer version matching the block's constraint,
// and only then.
func TestDriftChartSource(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "dchart")
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, helmserver.Chart("hello", "1.0.0"))
	dir := writeStack(t, map[string]string{"main.hcl": fmt.Sprintf(`source "helm" "charts" {
  url = %q
}
release "hello" {
  namespace = %q
  chart     = "hello"
  version   = "~> 1.0.0"
  source    = source.helm.charts
}
`, srv.URL(), ns)})
	opts := testOptions(c, dir)
	applyStack(t, opts)

	drifted := func() []string {
		t.Helper()
		rep := checkDriftWith(t, opts, DriftOptions{Sources: true})
		if rep.HasErrors() {
			t.Fatalf("drift errors: %+v", rep.Blocks)
		}
		var out []string
		for _, b := range rep.Blocks {
			for _, it := range b.Items {
				for _, f := range it.Fields {
					out = append(out, fmt.Sprintf("%s %s %s %v -> %v", it.Kind, it.Address, f.Path, f.Live, f.Applied))
				}
			}
		}
		return out
	}
	srv.AddChart(t, helmserver.Chart("hello", "1.1.0")) // outside the constraint
	if got := drifted(); len(got) != 0 {
		t.Fatalf("drift with no matching newer chart: %v", got)
	}
	srv.AddChart(t, helmserver.Chart("hello", "1.0.1"))
	want := []string{"source release.hello chart.version 1.0.0 -> 1.0.1"}
	if d := cmp.Diff(want, drifted()); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
}
