package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/gitserver"
	"github.com/strata-gitops/strata/planner/plan"
)

// TestKustomizationFromGit renders a kustomization from a Git source served
// over smart HTTP: the plan names the revision, a new commit shows as a
// revision move with the field change it brings, and apply records it.
func TestKustomizationFromGit(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "git")
	repo, cm, first, dir := gitStack(t, ns)

	_, p := planStack(t, testOptions(c, dir))
	if len(p.Sources) != 1 || !p.Sources[0].Actions.Is(plan.Create) || !strings.HasSuffix(p.Sources[0].After, first.String()) {
		t.Fatalf("sources %+v, want the first commit %s", p.Sources, first)
	}
	applyStack(t, testOptions(c, dir))
	if _, p = planStack(t, testOptions(c, dir)); p.HasChanges() {
		t.Fatalf("plan after apply has changes: %v %+v", changed(p), p.Sources)
	}

	second := repo.Commit(t, cm("green"), gitserver.CommitOptions{})
	_, p = planStack(t, testOptions(c, dir))
	s := p.Sources[0]
	if !s.Actions.Is(plan.Update) || !strings.HasSuffix(s.Before, first.String()) || !strings.HasSuffix(s.After, second.String()) {
		t.Fatalf("source change %+v, want %s -> %s", s, first, second)
	}
	if got := changed(p); len(got) != 1 || !strings.Contains(got[0], "ConfigMap/"+ns+"/settings") {
		t.Fatalf("changes %v, want the ConfigMap", got)
	}
	applyStack(t, testOptions(c, dir))
	e, p := planStack(t, testOptions(c, dir))
	if p.HasChanges() {
		t.Fatalf("plan after the second apply has changes: %v %+v", changed(p), p.Sources)
	}
	st, _ := e.Store()
	snap, err := st.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"source.git.platform", "kustomization.app"} {
		if b, ok := snap.Block(addr); !ok || !strings.HasSuffix(b.Revision, second.String()) {
			t.Errorf("state block %s revision %q, want the second commit", addr, b.Revision)
		}
	}
}

// gitStack serves a Git repository "platform" whose first commit holds a
// ConfigMap "settings" in ns with color blue, and writes a stack that
// applies it from branch main. cm returns the files of a commit with
// another color.
func gitStack(t *testing.T, ns string) (repo *gitserver.Repo, cm func(color string) map[string]string, first plumbing.Hash, dir string) {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	repo = srv.NewRepo(t, "platform")
	cm = func(color string) map[string]string {
		return map[string]string{"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: " + ns + "\ndata:\n  color: " + color + "\n"}
	}
	first = repo.Commit(t, cm("blue"), gitserver.CommitOptions{})
	dir = writeStack(t, map[string]string{"main.hcl": fmt.Sprintf(`source "git" "platform" {
  url    = %q
  branch = "main"
}
kustomization "app" {
  source = source.git.platform
  path   = "deploy"
}
`, srv.HTTPURL("platform"))})
	return repo, cm, first, dir
}
