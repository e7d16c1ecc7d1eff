package planner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// TestMovedBlock renames kustomization "web" to "site": without a moved
// block the plan has errors that suggest one (and apply changes nothing);
// with `moved { from = kustomization.web  to = kustomization.site }`, or
// after `strata state mv` (Snapshot.Move), the plan moves the block in the
// state and only rewrites the objects' strata.dev/block labels, the apply
// keeps the objects (same uids), and destroy then deletes them.
func TestMovedBlock(t *testing.T) {
	c := testcluster.Get(t)
	for _, how := range []string{"moved block", "state mv"} {
		t.Run(how, func(t *testing.T) {
			ns := c.Namespace(t, "moved")
			dir := writeStack(t, map[string]string{
				"main.hcl":   "kustomization \"web\" {\n  path = \"app\"\n}\n",
				"app/a.yaml": configMap(ns, "a"), "app/b.yaml": configMap(ns, "b"),
			})
			opts := testOptions(c, dir)
			applyStack(t, opts)
			uid := liveConfigMap(t, c, ns, "a").GetUID()

			writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"site\" {\n  path = \"app\"\n}\n"})
			e, p := planStack(t, opts)
			if len(p.Errors) != 2 || !strings.Contains(p.Errors[0].Message, "moved { from = kustomization.web  to = kustomization.site }") {
				t.Fatalf("plan of the rename: errors %+v, want two suggesting a moved block", p.Errors)
			}
			// The plan also deletes web's objects: apply refuses all of it.
			if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
				t.Fatalf("apply of the rename: err = %v, want ErrPlanErrors", err)
			}
			if live := liveConfigMap(t, c, ns, "a"); live == nil || live.GetUID() != uid {
				t.Fatal("the refused apply deleted ConfigMap a")
			}

			if how == "moved block" {
				writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"site\" {\n  path = \"app\"\n}\n" +
					"moved {\n  from = kustomization.web\n  to   = kustomization.site\n}\n"})
			} else {
				e, _ := planStack(t, opts)
				st, err := e.Store()
				if err != nil {
					t.Fatal(err)
				}
				snap, err := st.Read(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := snap.Move("kustomization.web", "kustomization.site"); err != nil {
					t.Fatal(err)
				}
				if err := st.Write(context.Background(), snap, state.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			_, p = planStack(t, opts)
			if p.HasErrors() {
				t.Fatalf("plan errors: %+v", p.Errors)
			}
			want := []string{"[update] kustomization.site/ConfigMap/" + ns + "/a", "[update] kustomization.site/ConfigMap/" + ns + "/b"}
			if diff := cmp.Diff(want, changed(p)); diff != "" {
				t.Fatalf("plan changes (-want +got):\n%s", diff)
			}
			for _, rc := range p.Changes {
				if rc.MovedFrom != "kustomization.web" {
					t.Errorf("%s: moved from %q", rc.Address, rc.MovedFrom)
				}
				for _, d := range rc.Diff {
					if !strings.HasPrefix(d.Path, "metadata.") {
						t.Errorf("%s: the move changes %s", rc.Address, d.Path)
					}
				}
			}
			if how == "moved block" && (len(p.Moves) != 1 || p.Moves[0] != (plan.Move{From: "kustomization.web", To: "kustomization.site"})) {
				t.Errorf("plan moves %+v", p.Moves)
			}
			res := applyStack(t, opts)
			if res.Added != 0 || res.Destroyed != 0 {
				t.Errorf("apply: %+v", res)
			}
			live := liveConfigMap(t, c, ns, "a")
			if live.GetUID() != uid || live.GetLabels()[kube.LabelBlock] != "kustomization.site" {
				t.Errorf("after the move: uid %s (was %s), labels %v", live.GetUID(), uid, live.GetLabels())
			}
			e, p = planStack(t, opts)
			if p.HasChanges() || p.HasErrors() {
				t.Errorf("plan after the move: changes %v, errors %+v", changed(p), p.Errors)
			}
			want = []string{"kustomization.site/ConfigMap/" + ns + "/a", "kustomization.site/ConfigMap/" + ns + "/b"}
			if diff := cmp.Diff(want, stateObjects(t, e)); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			d := opts
			d.Destroy = true
			applyStack(t, d)
			if liveConfigMap(t, c, ns, "a") != nil {
				t.Error("destroy left ConfigMap a")
			}
		})
	}
}

// TestMovedRelease renames a release block whose Helm release name is set:
// the plan moves it in the state and changes nothing in the cluster.
func TestMovedRelease(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "movedrel")
	release := func(block string) string {
		return "release \"" + block + "\" {\n  name      = \"web\"\n  namespace = \"" + ns + "\"\n  chart     = \"charts/web\"\n}\n"
	}
	dir := writeStack(t, map[string]string{
		"main.hcl":                     release("web"),
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\ndata:\n  k: v\n",
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	writeFiles(t, dir, map[string]string{"main.hcl": release("site") + "moved {\n  from = release.web\n  to   = release.site\n}\n"})
	_, p := planStack(t, opts)
	if len(p.Moves) != 1 || len(p.Releases) != 1 || !p.Releases[0].Actions.IsNoOp() {
		t.Fatalf("plan: moves %+v, releases %+v; want the move and no release change", p.Moves, p.Releases)
	}
	applyStack(t, opts)
	e, p := planStack(t, opts)
	if p.HasChanges() {
		t.Errorf("plan after the move has changes: moves %+v, releases %+v", p.Moves, p.Releases)
	}
	st, _ := e.Store()
	snap, err := st.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := snap.Release("release.site"); !ok || r.Name != "web" {
		t.Errorf("state release.site: %+v, %v", r, ok)
	}
	if _, ok := snap.Block("release.web"); ok {
		t.Error("the state still has release.web")
	}
}

// TestStateMvOfAnOlderStrata: an older strata's `strata state mv` moved a
// block in the state without recording its old address (moved_from), so
// the objects still carry the old strata.dev/block label and no stack id.
// The state records them in the new block and no block of the state has
// the old address: they are the block's. The plan only rewrites their
// labels, the apply keeps them, and once removed from the stack they are
// pruned (not forgotten).
func TestStateMvOfAnOlderStrata(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "oldmv")
	dir := writeStack(t, map[string]string{
		"main.hcl":   "kustomization \"web\" {\n  path = \"app\"\n}\n",
		"app/a.yaml": configMap(ns, "a"), "app/b.yaml": configMap(ns, "b"),
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	uid := liveConfigMap(t, c, ns, "a").GetUID()

	e, _ := planStack(t, opts)
	st, err := e.Store()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Move("kustomization.web", "kustomization.site"); err != nil {
		t.Fatal(err)
	}
	sb, _ := snap.Block("kustomization.site")
	sb.MovedFrom = nil // as an older strata moved it
	snap.PutBlock(sb)
	if err := st.Write(context.Background(), snap, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"site\" {\n  path = \"app\"\n}\n"})

	_, p := planStack(t, opts)
	if p.HasErrors() {
		t.Fatalf("plan errors: %+v", p.Errors)
	}
	want := []string{"[update] kustomization.site/ConfigMap/" + ns + "/a", "[update] kustomization.site/ConfigMap/" + ns + "/b"}
	if diff := cmp.Diff(want, changed(p)); diff != "" {
		t.Fatalf("plan changes (-want +got):\n%s", diff)
	}
	applyStack(t, opts)
	live := liveConfigMap(t, c, ns, "a")
	if live.GetUID() != uid || live.GetLabels()[kube.LabelBlock] != "kustomization.site" {
		t.Errorf("ConfigMap a: uid %s (was %s), labels %v", live.GetUID(), uid, live.GetLabels())
	}
	if _, p := planStack(t, opts); p.HasChanges() || p.HasErrors() {
		t.Fatalf("plan after the apply: changes %v, errors %+v", changed(p), p.Errors)
	}

	// A stray label on an object no longer rendered: pruned, not forgotten.
	e, _ = planStack(t, opts)
	st, _ = e.Store()
	if snap, err = st.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Move("kustomization.site", "kustomization.web"); err != nil {
		t.Fatal(err)
	}
	sb, _ = snap.Block("kustomization.web")
	sb.MovedFrom = nil
	snap.PutBlock(sb)
	if err := st.Write(context.Background(), snap, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"web\" {\n  path = \"app\"\n}\n", "app/b.yaml": ""})
	_, p = planStack(t, opts)
	want = []string{"[delete] kustomization.web/ConfigMap/" + ns + "/b", "[update] kustomization.web/ConfigMap/" + ns + "/a"}
	if diff := cmp.Diff(want, changed(p)); diff != "" || p.HasErrors() {
		t.Fatalf("plan without b (-want +got):\n%s\nerrors %+v", diff, p.Errors)
	}
	applyStack(t, opts)
	if liveConfigMap(t, c, ns, "b") != nil {
		t.Error("ConfigMap b is still in the cluster")
	}
}
