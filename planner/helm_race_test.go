package planner

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
	"github.com/strata-gitops/strata/planner/plan"
)

// TestSavedDestroyOfReleasesInParallel destroys two releases with one saved
// plan, on a fresh engine that applies blocks in parallel: the uninstalls
// are the engine's first use of Helm, from two goroutines of the apply walk
// at once. Under -race this caught the Helm client being created lazily
// without a lock.
func TestSavedDestroyOfReleasesInParallel(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "destroyrels")
	srv := helmserver.New(t, helmserver.Options{})
	srv.AddChart(t, helmserver.Chart("hello", "1.0.0"))
	stack := fmt.Sprintf(`source "helm" "charts" {
  url = %q
}
`, srv.URL())
	for _, name := range []string{"one", "two", "three"} {
		stack += fmt.Sprintf(`release %q {
  namespace = %q
  chart     = "hello"
  version   = "1.0.0"
  source    = source.helm.charts
}
`, name, ns)
	}
	dir := writeStack(t, map[string]string{"main.hcl": stack})
	applyStack(t, testOptions(c, dir))

	opts := testOptions(c, dir)
	opts.Destroy = true
	_, p := planStack(t, opts)
	if len(p.Releases) != 3 {
		t.Fatalf("destroy plan has %d releases, want 3: %+v", len(p.Releases), p.Releases)
	}
	file := filepath.Join(t.TempDir(), "destroy.out")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	res, err := applySaved(t, c, file)
	if err != nil {
		t.Fatalf("apply FILE: %v", err)
	}
	if len(res.Failed) != 0 || res.Destroyed < 3 {
		t.Errorf("apply FILE failed %v, destroyed %d, want the 3 releases destroyed", res.Failed, res.Destroyed)
	}
}
