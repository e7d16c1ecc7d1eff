package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// configMap is a ConfigMap manifest; extra lines go under metadata.
func configMap(ns, name string, metadata ...string) string {
	var m strings.Builder
	for _, l := range metadata {
		m.WriteString("  " + l + "\n")
	}
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n%sdata:\n  k: v\n", name, ns, m.String())
}

// writeFiles writes files under dir, removing those whose content is "".
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if content == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// liveConfigMap returns the ConfigMap, or nil when it does not exist.
func liveConfigMap(t *testing.T, c *testcluster.Cluster, ns, name string) *unstructured.Unstructured {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	u, err := dyn.Resource(gvrConfigMap).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if u.GetDeletionTimestamp() != nil {
		return nil
	}
	return u
}

// lineage returns the lineage of the stack's state.
func lineage(t *testing.T, opts Options) string {
	t.Helper()
	e, diags := Load(opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer e.Close()
	s, err := e.Store()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Lineage
}

// forceUnlock removes the lock a killed run left, as a user would.
func forceUnlock(t *testing.T, opts Options) {
	t.Helper()
	e, diags := Load(opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer e.Close()
	store, err := e.Store()
	if err != nil {
		t.Fatal(err)
	}
	li, err := store.LockStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if li != nil {
		if err := store.ForceUnlock(context.Background(), li.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// dieAfterWrite runs an apply of the stack in dir in a child process that
// exits, as if killed, right after it wrote its first object.
func dieAfterWrite(t *testing.T, c *testcluster.Cluster, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1", childDieEnv+"=1",
		"STRATA_PLANNER_TEST_DIR="+dir, "STRATA_PLANNER_TEST_KUBECONFIG="+c.Kubeconfig())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != childDieCode {
		t.Fatalf("child apply: %v, want exit code %d\n%s", err, childDieCode, out)
	}
}

// TestInterruptedApply kills an apply right after it created an object and
// before it recorded it, then reverts the change: the next plan deletes the
// object the killed apply left behind (before the revert, drift reports it
// and a plan records it), and after the apply nothing is left, neither in
// the cluster nor in the state.
func TestInterruptedApply(t *testing.T) {
	c := testcluster.Get(t)
	const v1 = "kustomization \"app\" {\n  path = \"app\"\n}\n"
	tests := map[string]struct {
		v2     map[string]string // added to v1, then removed again
		orphan string            // ConfigMap the killed apply creates
		block  string
	}{
		"new object of an applied block": {
			v2:     map[string]string{"app/extra.yaml": "extra"},
			orphan: "extra", block: "kustomization.app",
		},
		"new block": {
			v2: map[string]string{"main.hcl": v1 + "kustomization \"more\" {\n  path = \"more\"\n}\n",
				"more/more.yaml": "more"},
			orphan: "more", block: "kustomization.more",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "orphan")
			dir := writeStack(t, map[string]string{"main.hcl": v1, "app/keep.yaml": configMap(ns, "keep")})
			opts := testOptions(c, dir)
			applyStack(t, opts)

			v2 := map[string]string{}
			revert := map[string]string{}
			for f, content := range tt.v2 {
				if strings.HasSuffix(f, ".yaml") {
					content = configMap(ns, content)
					revert[f] = ""
				} else {
					revert[f] = v1
				}
				v2[f] = content
			}
			writeFiles(t, dir, v2)
			dieAfterWrite(t, c, dir)
			forceUnlock(t, opts)
			if liveConfigMap(t, c, ns, tt.orphan) == nil {
				t.Fatalf("the killed apply did not create ConfigMap %s", tt.orphan)
			}
			addr := tt.block + "/ConfigMap/" + ns + "/" + tt.orphan

			// Drift finds it.
			rep := checkDrift(t, opts)
			if diff := cmp.Diff([]string{"unrecorded " + addr + " "}, summary(rep)); diff != "" {
				t.Errorf("drift after the killed apply (-want +got):\n%s", diff)
			}
			if checked, _ := rep.Counts(); checked != 2 {
				t.Errorf("drift checked %d objects, want 2 (keep and %s)", checked, tt.orphan)
			}

			// Still in the stack: the plan records it.
			_, p := planStack(t, opts)
			if !slices.Contains(p.Record, addr) || len(changed(p)) != 0 {
				t.Fatalf("plan before the revert: record %v, changes %v; want %s recorded and no changes", p.Record, changed(p), addr)
			}

			// Reverted: the plan deletes it.
			writeFiles(t, dir, revert)
			_, p = planStack(t, opts)
			if diff := cmp.Diff([]string{"[delete] " + addr}, changed(p)); diff != "" {
				t.Fatalf("plan after the revert (-want +got):\n%s", diff)
			}
			res := applyStack(t, opts)
			if res.Destroyed != 1 {
				t.Errorf("apply destroyed %d objects, want 1", res.Destroyed)
			}
			if liveConfigMap(t, c, ns, tt.orphan) != nil {
				t.Errorf("ConfigMap %s is still in the cluster", tt.orphan)
			}
			e, p := planStack(t, opts)
			if p.HasChanges() {
				t.Errorf("plan after the apply has changes: %v", changed(p))
			}
			if rep := checkDrift(t, opts); rep.HasDrift() {
				t.Errorf("drift after the apply: %v", summary(rep))
			}
			want := []string{"kustomization.app/ConfigMap/" + ns + "/keep"}
			if diff := cmp.Diff(want, stateObjects(t, e)); diff != "" {
				t.Errorf("state objects (-want +got):\n%s", diff)
			}
			st, _ := e.Store()
			snap, err := st.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range snap.Blocks {
				if len(b.Intents) > 0 || b.Address != "kustomization.app" {
					t.Errorf("state block %s with intents %v after the apply", b.Address, b.Intents)
				}
			}
		})
	}
}

// TestStacksWithTheSameName applies two stacks whose directories have the
// same name (teamA/app and teamB/app) and render the same ConfigMap: the
// second stack's plan refuses it, naming the object and the first stack,
// and even with the object in its state (taken over by an older strata) it
// never deletes it: removed from its configuration, the object is only
// forgotten.
func TestStacksWithTheSameName(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "samename")
	base := t.TempDir()
	dirA, dirB := filepath.Join(base, "teamA", "app"), filepath.Join(base, "teamB", "app")
	const hcl = "kustomization \"app\" {\n  path = \"app\"\n}\n"
	writeFiles(t, dirA, map[string]string{"main.hcl": hcl, "app/shared.yaml": configMap(ns, "shared", "labels: {team: a}")})
	writeFiles(t, dirB, map[string]string{"main.hcl": hcl, "app/shared.yaml": configMap(ns, "shared", "labels: {team: b}"),
		"app/own.yaml": configMap(ns, "own-b")})
	if StackName(dirA) != StackName(dirB) {
		t.Fatalf("stack names %q and %q differ", StackName(dirA), StackName(dirB))
	}
	optsA, optsB := testOptions(c, dirA), testOptions(c, dirB)
	applyStack(t, optsA)
	idA := lineage(t, optsA)
	if got := liveConfigMap(t, c, ns, "shared").GetLabels()[kube.LabelStackID]; got != idA {
		t.Fatalf("shared has stack id %q, want teamA's lineage %q", got, idA)
	}

	e, p := planStack(t, optsB)
	obj := "kustomization.app/ConfigMap/" + ns + "/shared"
	if len(p.Errors) != 1 || p.Errors[0].Address != obj || !strings.Contains(p.Errors[0].Message, idA) ||
		!strings.Contains(p.Errors[0].Message, "another stack") {
		t.Fatalf("teamB's plan errors %+v; want one for %s owned by teamA's stack id %s", p.Errors, obj, idA)
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
		t.Fatalf("apply of teamB's plan: err = %v, want ErrPlanErrors", err)
	}
	if liveConfigMap(t, c, ns, "own-b") != nil {
		t.Fatal("the refused apply created own-b")
	}

	// teamB's state lists the object, as after a takeover by an older
	// strata; teamB then drops it from its configuration.
	st, err := e.Store()
	if err != nil {
		t.Fatal(err)
	}
	snap := &state.Snapshot{
		Blocks: []state.Block{{Address: "kustomization.app", Kind: "kustomization", Status: state.StatusApplied, AppliedAt: time.Now()}},
		Objects: []state.Object{{Block: "kustomization.app", Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "shared",
			Address: obj, Digest: "sha256:0"}},
	}
	if err := st.Write(context.Background(), snap, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dirB, map[string]string{"app/shared.yaml": ""})
	_, p = planStack(t, optsB)
	want := []string{"[create] kustomization.app/ConfigMap/" + ns + "/own-b", "[forget] " + obj}
	if diff := cmp.Diff(want, changed(p)); diff != "" {
		t.Fatalf("teamB's plan without shared (-want +got):\n%s", diff)
	}
	applyStack(t, optsB)
	live := liveConfigMap(t, c, ns, "shared")
	if live == nil {
		t.Fatal("teamB's apply deleted teamA's ConfigMap")
	}
	if l := live.GetLabels(); l[kube.LabelStackID] != idA || l["team"] != "a" {
		t.Errorf("teamA's ConfigMap was changed: labels %v", l)
	}
	eB, _ := planStack(t, optsB)
	if diff := cmp.Diff([]string{"kustomization.app/ConfigMap/" + ns + "/own-b"}, stateObjects(t, eB)); diff != "" {
		t.Errorf("teamB's state (-want +got):\n%s", diff)
	}
	if _, p := planStack(t, optsA); p.HasChanges() {
		t.Errorf("teamA's plan has changes: %v", changed(p))
	}
}

// TestKeptObject removes from the stack an object annotated
// strata.dev/prune: disabled: the plan forgets it, the apply succeeds and
// leaves it in the cluster but not in the state, and destroy succeeds.
func TestKeptObject(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "kept")
	dir := writeStack(t, map[string]string{
		"main.hcl":      "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/keep.yaml": configMap(ns, "keep", "annotations: {strata.dev/prune: disabled}"),
		"app/web.yaml":  configMap(ns, "web"),
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)

	writeFiles(t, dir, map[string]string{"app/keep.yaml": ""})
	_, p := planStack(t, opts)
	addr := "kustomization.app/ConfigMap/" + ns + "/keep"
	if diff := cmp.Diff([]string{"[forget] " + addr}, changed(p)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if s := p.Summary(); s.Forget != 1 || s.Destroy != 0 {
		t.Errorf("summary %+v, want 1 to forget", s)
	}
	applyStack(t, opts)
	if liveConfigMap(t, c, ns, "keep") == nil {
		t.Fatal("the kept ConfigMap was deleted")
	}
	e, p := planStack(t, opts)
	if p.HasChanges() {
		t.Errorf("plan after the apply has changes: %v", changed(p))
	}
	if diff := cmp.Diff([]string{"kustomization.app/ConfigMap/" + ns + "/web"}, stateObjects(t, e)); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}

	d := opts
	d.Destroy = true
	applyStack(t, d)
	if liveConfigMap(t, c, ns, "web") != nil {
		t.Error("destroy left ConfigMap web")
	}
	if liveConfigMap(t, c, ns, "keep") == nil {
		t.Error("destroy deleted the kept ConfigMap")
	}
}

// TestKeptObjectsOfRemovedBlock removes a block with an object annotated
// strata.dev/prune: disabled and one whose labels were removed by hand (no
// longer owned): the plan forgets both and deletes the block's other
// object, the apply succeeds, both stay in the cluster, and the block
// leaves the state.
func TestKeptObjectsOfRemovedBlock(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "keptblock")
	const app = "kustomization \"app\" {\n  path = \"app\"\n}\n"
	dir := writeStack(t, map[string]string{
		"main.hcl":         app + "kustomization \"other\" {\n  path = \"other\"\n}\n",
		"app/web.yaml":     configMap(ns, "web"),
		"other/keep.yaml":  configMap(ns, "keep", "annotations: {strata.dev/prune: disabled}"),
		"other/loose.yaml": configMap(ns, "loose"),
		"other/other.yaml": configMap(ns, "other"),
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	c.Kubectl(t, "-n", ns, "label", "configmap", "loose", kube.LabelStack+"-", kube.LabelStackID+"-", kube.LabelBlock+"-")

	writeFiles(t, dir, map[string]string{"main.hcl": app})
	_, p := planStack(t, opts)
	obj := "kustomization.other/ConfigMap/" + ns + "/"
	want := []string{"[delete] " + obj + "other", "[forget] " + obj + "keep", "[forget] " + obj + "loose"}
	if diff := cmp.Diff(want, changed(p)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	applyStack(t, opts)
	for _, name := range []string{"keep", "loose"} {
		if liveConfigMap(t, c, ns, name) == nil {
			t.Errorf("the kept ConfigMap %s was deleted", name)
		}
	}
	if liveConfigMap(t, c, ns, "other") != nil {
		t.Error("ConfigMap other of the removed block is still in the cluster")
	}
	e, p := planStack(t, opts)
	if p.HasChanges() {
		t.Errorf("plan after the apply has changes: %v", changed(p))
	}
	if diff := cmp.Diff([]string{"kustomization.app/ConfigMap/" + ns + "/web"}, stateObjects(t, e)); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

// TestKeptObjectOnDestroy destroys a stack whose object is annotated
// strata.dev/prune: disabled: the destroy succeeds and keeps the object.
func TestKeptObjectOnDestroy(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "keptdestroy")
	dir := writeStack(t, map[string]string{
		"main.hcl":      "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/keep.yaml": configMap(ns, "keep", "annotations: {strata.dev/prune: disabled}"),
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	d := opts
	d.Destroy = true
	_, p := planStack(t, d)
	if diff := cmp.Diff([]string{"[forget] kustomization.app/ConfigMap/" + ns + "/keep"}, changed(p)); diff != "" {
		t.Fatalf("destroy plan (-want +got):\n%s", diff)
	}
	applyStack(t, d)
	if liveConfigMap(t, c, ns, "keep") == nil {
		t.Error("destroy deleted the kept ConfigMap")
	}
	e, p := planStack(t, d)
	if p.HasChanges() || len(stateObjects(t, e)) != 0 {
		t.Errorf("after destroy: changes %v, state %v", changed(p), stateObjects(t, e))
	}
}

// TestOwnershipMigration: an object applied before stack ids (the stack's
// name, no id) that the state records is the stack's, and the next apply
// adds the id; one that the state does not record is refused.
func TestOwnershipMigration(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "migrate")
	dir := writeStack(t, map[string]string{
		"main.hcl":   "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/a.yaml": configMap(ns, "a"),
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	cms := dyn.Resource(gvrConfigMap).Namespace(ns)
	// As an older strata left it: no stack id.
	if _, err := cms.Patch(context.Background(), "a", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"strata.dev/stack-id":null}}}`), metav1.PatchOptions{FieldManager: kube.FieldManager}); err != nil {
		t.Fatal(err)
	}
	_, p := planStack(t, opts)
	addr := "kustomization.app/ConfigMap/" + ns + "/a"
	if diff := cmp.Diff([]string{"[update] " + addr}, changed(p)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	applyStack(t, opts)
	if got, want := liveConfigMap(t, c, ns, "a").GetLabels()[kube.LabelStackID], lineage(t, opts); got != want {
		t.Errorf("stack id label %q, want %q", got, want)
	}
	if _, p := planStack(t, opts); p.HasChanges() {
		t.Errorf("plan after the apply has changes: %v", changed(p))
	}

	// Not in the state: it may be another stack's of the same name.
	b := &unstructured.Unstructured{}
	b.SetAPIVersion("v1")
	b.SetKind("ConfigMap")
	b.SetName("b")
	b.SetNamespace(ns)
	b.SetLabels(map[string]string{kube.LabelStack: StackName(dir), kube.LabelBlock: "kustomization.app"})
	if _, err := cms.Create(context.Background(), b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"app/b.yaml": configMap(ns, "b")})
	_, p = planStack(t, opts)
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "no stack id") || !strings.Contains(p.Errors[0].Message, "another stack") {
		t.Fatalf("plan errors %+v, want one for an object of another stack without stack id", p.Errors)
	}
}

// TestSavedPlanCarriesStackID applies a saved plan made before the stack
// had a state: the objects carry the stack id the plan names, which
// becomes the state's lineage.
func TestSavedPlanCarriesStackID(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "savedid")
	dir := writeStack(t, map[string]string{
		"main.hcl":   "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/a.yaml": configMap(ns, "a"),
	})
	_, p := planStack(t, testOptions(c, dir))
	if p.StackID == "" || p.State.Lineage != "" {
		t.Fatalf("plan stack id %q, state lineage %q", p.StackID, p.State.Lineage)
	}
	file := filepath.Join(t.TempDir(), "plan.out")
	if err := plan.WriteFile(file, p); err != nil {
		t.Fatal(err)
	}
	if _, err := applySaved(t, c, file); err != nil {
		t.Fatal(err)
	}
	if got := lineage(t, testOptions(c, dir)); got != p.StackID {
		t.Errorf("state lineage %q, want the plan's stack id %q", got, p.StackID)
	}
	if got := liveConfigMap(t, c, ns, "a").GetLabels()[kube.LabelStackID]; got != p.StackID {
		t.Errorf("stack id label %q, want %q", got, p.StackID)
	}
}

// TestIntentOfSameNamedStack leaves in the state the intent of an apply
// that was interrupted before it created its object; meanwhile a stack of
// the same name applied by an older strata (its labels carry no stack id)
// created that object. An intent is never an object of the state, so the
// plan refuses the object while it is rendered and, once it is not, never
// deletes it.
func TestIntentOfSameNamedStack(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "intentname")
	dir := writeStack(t, map[string]string{
		"main.hcl":      "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/keep.yaml": configMap(ns, "keep"),
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)

	e, _ := planStack(t, opts)
	st, err := e.Store()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := snap.Block("kustomization.app")
	sb.Intents = []state.Intent{{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "foreign"}}
	snap.PutBlock(sb)
	if err := st.Write(context.Background(), snap, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	foreign := &unstructured.Unstructured{}
	foreign.SetAPIVersion("v1")
	foreign.SetKind("ConfigMap")
	foreign.SetName("foreign")
	foreign.SetNamespace(ns)
	foreign.SetLabels(map[string]string{kube.LabelStack: StackName(dir), kube.LabelBlock: "kustomization.app"})
	if _, err := dyn.Resource(gvrConfigMap).Namespace(ns).Create(context.Background(), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	writeFiles(t, dir, map[string]string{"app/foreign.yaml": configMap(ns, "foreign")})
	_, p := planStack(t, opts)
	addr := "kustomization.app/ConfigMap/" + ns + "/foreign"
	if len(p.Errors) != 1 || p.Errors[0].Address != addr || !strings.Contains(p.Errors[0].Message, "another stack") {
		t.Fatalf("plan with foreign rendered: errors %+v, changes %v; want one error: %s belongs to another stack", p.Errors, changed(p), addr)
	}

	writeFiles(t, dir, map[string]string{"app/foreign.yaml": ""})
	_, p = planStack(t, opts)
	if p.HasChanges() || len(p.Errors) != 0 {
		t.Fatalf("plan without foreign: changes %v, errors %+v; want none", changed(p), p.Errors)
	}
	applyStack(t, opts)
	if liveConfigMap(t, c, ns, "foreign") == nil {
		t.Fatal("the apply deleted the other stack's ConfigMap")
	}
}

// TestReleasesOfStacksWithTheSameName applies two stacks whose
// directories have the same name (teamA/app and teamB/app) and install a
// Helm release of the same name and namespace: strata labels the release's
// records with the stack id, so teamB's plan refuses the release, naming
// teamA's stack id, instead of upgrading it; and with the release in
// teamB's state (taken over by an older strata) and its block removed,
// teamB's plan refuses to uninstall it.
func TestReleasesOfStacksWithTheSameName(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "samerelease")
	base := t.TempDir()
	dirA, dirB := filepath.Join(base, "teamA", "app"), filepath.Join(base, "teamB", "app")
	stack := func(team string) map[string]string { return teamRelease(ns, team) }
	writeFiles(t, dirA, stack("a"))
	writeFiles(t, dirB, stack("b"))
	optsA, optsB := testOptions(c, dirA), testOptions(c, dirB)
	applyStack(t, optsA)
	idA := lineage(t, optsA)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	teamA := func() {
		t.Helper()
		list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=web"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Labels[kube.LabelStackID] != idA || list.Items[0].Labels["status"] != "deployed" {
			t.Fatalf("Helm's records of web: %d, want one deployed revision labelled with teamA's stack id", len(list.Items))
		}
		if got, _, _ := unstructured.NestedString(liveConfigMap(t, c, ns, "web-settings").Object, "data", "team"); got != "a" {
			t.Fatalf("the release's ConfigMap has team %q, want teamA's", got)
		}
	}
	teamA()

	e, p := planStack(t, optsB)
	if len(p.Errors) != 1 || p.Errors[0].Address != "release.web" || !strings.Contains(p.Errors[0].Message, idA) ||
		!strings.Contains(p.Errors[0].Message, "another stack") {
		t.Fatalf("teamB's plan errors %+v; want one for release.web owned by teamA's stack id %s", p.Errors, idA)
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
		t.Fatalf("apply of teamB's plan: err = %v, want ErrPlanErrors", err)
	}
	teamA()

	// teamB's state lists the release, as after a takeover by an older
	// strata; teamB then drops the block.
	st, err := e.Store()
	if err != nil {
		t.Fatal(err)
	}
	snap := &state.Snapshot{
		Blocks:   []state.Block{{Address: "release.web", Kind: "release", Status: state.StatusApplied, AppliedAt: time.Now()}},
		Releases: []state.Release{{Address: "release.web", Name: "web", Namespace: ns, Chart: "web", Version: "0.1.0", Revision: 1, Status: "deployed"}},
	}
	if err := st.Write(context.Background(), snap, state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dirB, map[string]string{"main.hcl": "# no blocks\n"})
	e, p = planStack(t, optsB)
	if len(p.Errors) != 1 || p.Errors[0].Address != "release.web" || !strings.Contains(p.Errors[0].Message, "does not uninstall") {
		t.Fatalf("teamB's plan without the block: errors %+v, releases %+v; want one refusing to uninstall release.web", p.Errors, p.Releases)
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
		t.Fatalf("apply of teamB's plan: err = %v, want ErrPlanErrors", err)
	}
	teamA()
	if _, p := planStack(t, optsA); p.HasChanges() || len(p.Errors) > 0 {
		t.Errorf("teamA's plan: changes %+v, errors %+v", p.Releases, p.Errors)
	}
}

// TestInterruptedInstall kills an apply while Helm installs a new release
// (its record exists, the apply waits for its Deployment), then removes the
// release block: the state recorded the release before the install, so
// drift reports it and the plan uninstalls it; nothing is left.
func TestInterruptedInstall(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "orphanrel")
	const v1 = "kustomization \"app\" {\n  path = \"app\"\n}\n"
	dir := writeStack(t, map[string]string{"main.hcl": v1, "app/keep.yaml": configMap(ns, "keep")})
	opts := testOptions(c, dir)
	applyStack(t, opts)

	writeFiles(t, dir, map[string]string{
		"main.hcl":              v1 + fmt.Sprintf("release \"web\" {\n  namespace = %q\n  chart     = \"charts/web\"\n  timeout   = \"2m\"\n}\n", ns),
		"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		// No node matches: the Deployment never becomes available.
		"charts/web/templates/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {strata.dev/no-such-node: "true"}
      containers: [{name: web, image: nginx}]
`,
	})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1", childDieReleaseEnv+"="+ns+"/web",
		"STRATA_PLANNER_TEST_DIR="+dir, "STRATA_PLANNER_TEST_KUBECONFIG="+c.Kubeconfig())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != childDieCode {
		t.Fatalf("child apply: %v, want exit code %d\n%s", err, childDieCode, out)
	}
	forceUnlock(t, opts)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	records := func() int {
		t.Helper()
		list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=web"})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	if records() == 0 {
		t.Fatal("the killed apply left no Helm release")
	}
	if diff := cmp.Diff([]string{"unrecorded release.web "}, summary(checkDrift(t, opts))); diff != "" {
		t.Errorf("drift after the killed install (-want +got):\n%s", diff)
	}

	writeFiles(t, dir, map[string]string{"main.hcl": v1})
	_, p := planStack(t, opts)
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Uninstall) {
		t.Fatalf("plan after the revert: releases %+v, want release.web uninstalled", p.Releases)
	}
	applyStack(t, opts)
	if n := records(); n != 0 {
		t.Errorf("%d Helm records of web are left", n)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment web of the release: got %v, want it deleted", err)
	}
	e, p := planStack(t, opts)
	if p.HasChanges() {
		t.Errorf("plan after the apply has changes: %v %+v", changed(p), p.Releases)
	}
	st, _ := e.Store()
	snap, err := st.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Release("release.web"); ok {
		t.Error("the state still lists release.web")
	}
}

// TestReleaseOfAnotherStackWithoutLabels: a release that another stack
// installed is refused by a second stack whose state does not list it
// also when its latest record lacks strata's labels (a rollback to a
// revision an older strata or the Helm CLI wrote copies that revision's
// labels): an earlier record names the owner. With no labels on any record
// (installed by an older strata), the second stack takes it only when it
// adopts it. Nothing changes in the cluster.
func TestReleaseOfAnotherStackWithoutLabels(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "unlabelledrel")
	base := t.TempDir()
	dirA, dirB := filepath.Join(base, "teamA", "app"), filepath.Join(base, "teamB", "app")
	stack := func(team string) map[string]string { return teamRelease(ns, team) }
	writeFiles(t, dirA, stack("a1"))
	writeFiles(t, dirB, stack("b"))
	optsA, optsB := testOptions(c, dirA), testOptions(c, dirB)
	applyStack(t, optsA)
	writeFiles(t, dirA, stack("a2"))
	applyStack(t, optsA)
	idA := lineage(t, optsA)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	unchanged := func() {
		t.Helper()
		list, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=web"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 2 {
			t.Fatalf("Helm's records of web: %d, want teamA's 2", len(list.Items))
		}
		if got, _, _ := unstructured.NestedString(liveConfigMap(t, c, ns, "web-settings").Object, "data", "team"); got != "a2" {
			t.Fatalf("the release's ConfigMap has team %q, want teamA's a2", got)
		}
	}
	refusedB := func(want ...string) {
		t.Helper()
		e, p := planStack(t, optsB)
		if len(p.Errors) != 1 || p.Errors[0].Address != "release.web" {
			t.Fatalf("teamB's plan errors %+v; want one for release.web", p.Errors)
		}
		for _, w := range want {
			if !strings.Contains(p.Errors[0].Message, w) {
				t.Errorf("teamB's plan error %q does not say %q", p.Errors[0].Message, w)
			}
		}
		if _, err := e.Apply(ctx, p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
			t.Fatalf("apply of teamB's plan: err = %v, want ErrPlanErrors", err)
		}
		unchanged()
	}

	unlabelHelmRecord(t, cs, ns, 2)
	refusedB("another stack", idA, "app/release.web")

	unlabelHelmRecord(t, cs, ns, 1)
	refusedB("not in this stack's state", "adopt = true", "strata apply --adopt release.web")
	if _, p := planStack(t, optsA); p.HasChanges() || len(p.Errors) > 0 {
		t.Errorf("teamA's plan: changes %+v, errors %+v", p.Releases, p.Errors)
	}

	// Asked to adopt it, teamB upgrades it, and labels it as its own.
	optsB.Adopt = []string{"release.web"}
	_, p := planStack(t, optsB)
	if len(p.Errors) > 0 || len(p.Releases) != 1 || !strings.Contains(p.Releases[0].Reason, "adopted") {
		t.Fatalf("teamB's plan with --adopt release.web: errors %+v, releases %+v; want the release adopted", p.Errors, p.Releases)
	}
}

// TestUnlabelledReleaseInState: a release an older strata installed (its
// Helm records carry no strata labels) that this stack's state records
// under the same namespace and name is the stack's own: the plan upgrades
// it without adopt (no "adopted" reason, no plan error), and the upgrade's
// record carries strata's labels. A second stack whose state does not list
// it is still refused without adopt. (A state record under another
// namespace or name is a plan error of its own, see renamedRelease.)
func TestUnlabelledReleaseInState(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "oldstratarel")
	base := t.TempDir()
	dirA, dirB := filepath.Join(base, "teamA", "app"), filepath.Join(base, "teamB", "app")
	stack := func(team string) map[string]string { return teamRelease(ns, team) }
	writeFiles(t, dirA, stack("a1"))
	writeFiles(t, dirB, stack("b"))
	optsA, optsB := testOptions(c, dirA), testOptions(c, dirB)
	applyStack(t, optsA)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// As an older strata left it: no strata labels on Helm's record.
	unlabelHelmRecord(t, cs, ns, 1)

	if _, p := planStack(t, optsB); len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "adopt = true") {
		t.Fatalf("teamB's plan errors %+v; want the release refused without adopt", p.Errors)
	}
	writeFiles(t, dirA, stack("a2"))
	e, p := planStack(t, optsA)
	if len(p.Errors) > 0 || len(p.Releases) != 1 || strings.Contains(p.Releases[0].Reason, "adopted") {
		t.Fatalf("teamA's plan: errors %+v, releases %+v; want an upgrade of its own release", p.Errors, p.Releases)
	}
	if _, err := e.Apply(ctx, p, ApplyOptions{}); err != nil {
		t.Fatalf("teamA's apply: %v", err)
	}
	if got, _, _ := unstructured.NestedString(liveConfigMap(t, c, ns, "web-settings").Object, "data", "team"); got != "a2" {
		t.Errorf("the release's ConfigMap has team %q, want a2", got)
	}
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, "sh.helm.release.v1.web.v2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels[kube.LabelStackID] != lineage(t, optsA) || s.Labels[kube.LabelBlock] != "release.web" {
		t.Errorf("the upgrade's record has labels %v, want teamA's", s.Labels)
	}
}

// teamRelease is a stack of one Helm release "web" in namespace ns, from
// a local chart whose ConfigMap web-settings holds team: two stacks of it
// (teamA/app, teamB/app) claim the same release.
func teamRelease(ns, team string) map[string]string {
	return map[string]string{
		"main.hcl":                     fmt.Sprintf("release \"web\" {\n  namespace = %q\n  chart     = \"charts/web\"\n  values    = { team = %q }\n}\n", ns, team),
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\ndata:\n  team: {{ .Values.team | quote }}\n",
	}
}

// unlabelHelmRecord removes strata's labels from Helm's record of revision
// rev of release web in ns, as an older strata (or the Helm CLI) left it.
func unlabelHelmRecord(t *testing.T, cs kubernetes.Interface, ns string, rev int) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("sh.helm.release.v1.web.v%d", rev)
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{kube.LabelStack, kube.LabelStackID, kube.LabelBlock} {
		delete(s.Labels, l)
	}
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
