package planner_test

// The engine's fast tests: plan, apply, prune, order, saved plans and
// destroy against the in-memory providers of planner/internal/fake. They
// need no cluster and run under go test -short; the tests against the real
// API server (engine_test.go and the others) stay the reference.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/internal/fake"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// world is a stack directory with fake providers.
type world struct {
	t      *testing.T
	dir    string
	kube   *fake.Cluster
	helm   *fake.Helm
	git    *fake.Git
	charts *fake.Charts
}

func newWorld(t *testing.T, files map[string]string) *world {
	t.Helper()
	w := &world{t: t, dir: filepath.Join(t.TempDir(), "app"), kube: fake.NewCluster(), helm: fake.NewHelm(),
		git: fake.NewGit(), charts: fake.NewCharts()}
	w.helm.Journal = w.kube.Note // one log orders the cluster's and Helm's operations
	w.write(files)
	return w
}

// write writes files into the stack directory; an empty content removes
// the file.
func (w *world) write(files map[string]string) {
	w.t.Helper()
	for name, content := range files {
		p := filepath.Join(w.dir, name)
		if content == "" {
			if err := os.Remove(p); err != nil {
				w.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) providers() *planner.Providers {
	return &planner.Providers{
		Kube:   func(sa string) (planner.Kube, error) { return w.kube.As(sa), nil },
		Helm:   func(sa string) (planner.Helm, error) { return w.helm.As(sa), nil },
		Git:    w.git,
		Charts: w.charts,
	}
}

func (w *world) options() planner.Options {
	return planner.Options{Dir: w.dir, Providers: w.providers(), Getenv: func(string) string { return "" }, Parallelism: 4}
}

// plan loads and plans the stack with opts (w.options() when nil) under
// the state lock, and releases the lock.
func (w *world) plan(opts *planner.Options) (*planner.Engine, *plan.Plan) {
	w.t.Helper()
	e, p := w.lockedPlan(opts)
	if err := e.Unlock(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return e, p
}

// lockedPlan is plan that keeps the lock (released when the test ends).
func (w *world) lockedPlan(opts *planner.Options) (*planner.Engine, *plan.Plan) {
	w.t.Helper()
	o := w.options()
	if opts != nil {
		o = *opts
	}
	e, diags := planner.Load(o)
	if diags.HasErrors() {
		w.t.Fatalf("load: %v", diags)
	}
	ctx := context.Background()
	if err := e.Lock(ctx, "test", 10*time.Second); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = e.Unlock(context.Background()); _ = e.Close() })
	p, err := e.Plan(ctx)
	if err != nil {
		w.t.Fatalf("plan: %v", err)
	}
	return e, p
}

// apply plans and applies the stack, then releases the lock.
func (w *world) apply(opts *planner.Options) (*planner.Result, error) {
	w.t.Helper()
	e, p := w.lockedPlan(opts)
	res, err := e.Apply(context.Background(), p, planner.ApplyOptions{})
	if uerr := e.Unlock(context.Background()); uerr != nil {
		w.t.Fatal(uerr)
	}
	_ = e.Close()
	return res, err
}

// mustApply is apply that fails the test on error.
func (w *world) mustApply(opts *planner.Options) *planner.Result {
	w.t.Helper()
	res, err := w.apply(opts)
	if err != nil {
		w.t.Fatalf("apply: %v", err)
	}
	return res
}

// snapshot reads the stack's state.
func (w *world) snapshot() *state.Snapshot {
	w.t.Helper()
	e, diags := planner.Load(w.options())
	if diags.HasErrors() {
		w.t.Fatalf("load: %v", diags)
	}
	defer e.Close()
	s, err := e.Store()
	if err != nil {
		w.t.Fatal(err)
	}
	snap, err := s.Read(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return snap
}

// saved writes p to a plan file and reads it back, as strata plan -out
// and strata apply FILE do.
func (w *world) saved(p *plan.Plan) *plan.Plan {
	w.t.Helper()
	file := filepath.Join(w.t.TempDir(), "plan.bin")
	if err := plan.WriteFile(file, p); err != nil {
		w.t.Fatal(err)
	}
	back, err := plan.ReadFile(file)
	if err != nil {
		w.t.Fatal(err)
	}
	return back
}

// applySaved applies a saved plan on a fresh engine, as strata apply FILE.
func (w *world) applySaved(p *plan.Plan) (*planner.Result, error) {
	w.t.Helper()
	e, err := planner.ForPlan(p, planner.Options{Providers: w.providers(), Getenv: func(string) string { return "" }, Parallelism: 4})
	if err != nil {
		w.t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if err := e.Lock(ctx, "apply", 10*time.Second); err != nil {
		w.t.Fatal(err)
	}
	defer func() { _ = e.Unlock(ctx) }()
	return e.Apply(ctx, p, planner.ApplyOptions{Saved: true})
}

// changes lists "<actions> <address>" of the plan's object changes that
// are not no-ops, sorted.
func changes(p *plan.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if !c.Actions.IsNoOp() {
			out = append(out, fmt.Sprintf("%v %s", c.Actions, c.Address))
		}
	}
	sort.Strings(out)
	return out
}

func change(t *testing.T, p *plan.Plan, addr string) plan.ResourceChange {
	t.Helper()
	for _, c := range p.Changes {
		if c.Address == addr {
			return c
		}
	}
	t.Fatalf("no change of %s in the plan: %v", addr, changes(p))
	return plan.ResourceChange{}
}

func configMap(name, ns string, data map[string]string, annotations ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for i := 0; i+1 < len(annotations); i += 2 {
			fmt.Fprintf(&b, "    %s: %q\n", annotations[i], annotations[i+1])
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("data:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %q\n", k, data[k])
	}
	return b.String()
}

func kustomizationYAML(resources ...string) string {
	return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " + strings.Join(resources, "\n  - ") + "\n"
}

// kustomizationBlock is a kustomization block of path name, with extra
// attributes.
func kustomizationBlock(name string, extra ...string) string {
	return fmt.Sprintf("kustomization %q {\n  path  = %q\n  prune = true\n%s}\n", name, name, indent(extra))
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// oneBlock is a stack with one kustomization "a" of two ConfigMaps.
func oneBlock(extra ...string) map[string]string {
	return map[string]string{
		"main.hcl":             kustomizationBlock("a", extra...),
		"a/kustomization.yaml": kustomizationYAML("one.yaml", "two.yaml"),
		"a/one.yaml":           configMap("one", "ns", map[string]string{"color": "blue"}),
		"a/two.yaml":           configMap("two", "ns", map[string]string{"size": "m"}),
	}
}

const (
	addrOne = "kustomization.a/ConfigMap/ns/one"
	addrTwo = "kustomization.a/ConfigMap/ns/two"
)

func TestFakePlanCreates(t *testing.T) {
	w := newWorld(t, oneBlock())
	_, p := w.plan(nil)
	want := []string{"[create] " + addrOne, "[create] " + addrTwo}
	if got := changes(p); !slices.Equal(got, want) {
		t.Errorf("plan = %v, want %v", got, want)
	}
	if len(w.kube.Names()) != 0 {
		t.Errorf("plan wrote to the cluster: %v", w.kube.Names())
	}
}

func TestFakeApplyCreatesAndRecords(t *testing.T) {
	w := newWorld(t, oneBlock())
	res := w.mustApply(nil)
	if res.Added != 2 || res.Changed != 0 || res.Destroyed != 0 {
		t.Errorf("result = %+v, want 2 added", res)
	}
	live := w.kube.Object("", "ConfigMap", "ns", "one")
	if live == nil {
		t.Fatal("ConfigMap one was not created")
	}
	l := live.GetLabels()
	if l[kube.LabelStack] != "app" || l[kube.LabelBlock] != "kustomization.a" || l[kube.LabelStackID] == "" {
		t.Errorf("ownership labels = %v", l)
	}
	snap := w.snapshot()
	if l[kube.LabelStackID] != snap.Lineage {
		t.Errorf("stack id label %q is not the state's lineage %q", l[kube.LabelStackID], snap.Lineage)
	}
	var recorded []string
	for _, o := range snap.BlockObjects("kustomization.a") {
		recorded = append(recorded, o.Address)
	}
	if want := []string{addrOne, addrTwo}; !slices.Equal(recorded, want) {
		t.Errorf("state records %v, want %v", recorded, want)
	}
	if o, _ := snap.Object(addrOne); o.UID != string(live.GetUID()) || o.ResourceVersion != live.GetResourceVersion() {
		t.Errorf("state object %+v does not record the live uid %s and resourceVersion %s", o, live.GetUID(), live.GetResourceVersion())
	}
}

func TestFakeNoChangePlan(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	_, p := w.plan(nil)
	if p.HasChanges() {
		t.Errorf("plan after apply has changes: %v", changes(p))
	}
	serial := w.snapshot().Serial
	res := w.mustApply(nil)
	if res.Added+res.Changed+res.Destroyed != 0 {
		t.Errorf("apply of an unchanged stack = %+v, want nothing", res)
	}
	if got := w.snapshot().Serial; got != serial {
		t.Errorf("state serial %d -> %d: an unchanged apply changed the state", serial, got)
	}
}

func TestFakePlanUpdate(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	w.write(map[string]string{"a/one.yaml": configMap("one", "ns", map[string]string{"color": "green"})})
	_, p := w.plan(nil)
	if got, want := changes(p), []string{"[update] " + addrOne}; !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	c := change(t, p, addrOne)
	if len(c.Diff) != 1 || c.Diff[0].Path != "data.color" {
		t.Errorf("diff = %+v, want data.color", c.Diff)
	}
	res := w.mustApply(nil)
	if res.Changed != 1 {
		t.Errorf("result = %+v, want 1 changed", res)
	}
	if got, _, _ := unstructured.NestedString(w.kube.Object("", "ConfigMap", "ns", "one").Object, "data", "color"); got != "green" {
		t.Errorf("live color = %q, want green", got)
	}
}

func TestFakeDriftIsCorrected(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	if err := w.kube.Edit("", "ConfigMap", "ns", "one", func(u *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(u.Object, "red", "data", "color")
	}); err != nil {
		t.Fatal(err)
	}
	w.kube.Delete("", "ConfigMap", "ns", "two")
	_, p := w.plan(nil)
	if got, want := changes(p), []string{"[create] " + addrTwo, "[update] " + addrOne}; !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	kinds := map[string]string{}
	for _, d := range p.Drift {
		kinds[d.Address] = string(d.Kind)
	}
	if kinds[addrOne] != string(plan.DriftModified) || kinds[addrTwo] != string(plan.DriftDeleted) {
		t.Errorf("drift = %v, want one modified and two deleted", kinds)
	}
	if r := change(t, p, addrOne).Reason; !strings.Contains(r, "changed in the cluster outside strata") {
		t.Errorf("reason of the update = %q", r)
	}
	w.mustApply(nil)
	if _, p := w.plan(nil); p.HasChanges() {
		t.Errorf("plan after correcting the drift has changes: %v", changes(p))
	}
}

// immutableStack is oneBlock whose ConfigMap one has an immutable field
// that changes.
func immutableWorld(t *testing.T, extra ...string) *world {
	w := newWorld(t, oneBlock(extra...))
	w.kube.Immutable["ConfigMap"] = []string{"data.color"}
	w.mustApply(nil)
	w.write(map[string]string{"a/one.yaml": configMap("one", "ns", map[string]string{"color": "green"})})
	return w
}

func TestFakeReplaceRefusedWithoutForce(t *testing.T) {
	w := immutableWorld(t)
	e, p := w.lockedPlan(nil)
	if !p.HasErrors() || !strings.Contains(p.Errors[0].Message, "force") {
		t.Fatalf("plan errors = %+v, want a replace refused without force", p.Errors)
	}
	uid := w.kube.Object("", "ConfigMap", "ns", "one").GetUID()
	_, err := e.Apply(context.Background(), p, planner.ApplyOptions{})
	if !errors.Is(err, planner.ErrPlanErrors) {
		t.Fatalf("apply err = %v, want ErrPlanErrors", err)
	}
	if got := w.kube.Object("", "ConfigMap", "ns", "one").GetUID(); got != uid {
		t.Error("the refused plan replaced the object")
	}
}

func TestFakeReplaceWithForce(t *testing.T) {
	w := immutableWorld(t, "force = true")
	_, p := w.plan(nil)
	c := change(t, p, addrOne)
	if !c.Actions.IsReplace() || !strings.Contains(c.Reason, "force = true") {
		t.Fatalf("change = %v (%s), want a replace because of force = true", c.Actions, c.Reason)
	}
	uid := w.kube.Object("", "ConfigMap", "ns", "one").GetUID()
	res := w.mustApply(nil)
	if res.Added != 1 || res.Destroyed != 1 {
		t.Errorf("result = %+v, want 1 added and 1 destroyed", res)
	}
	live := w.kube.Object("", "ConfigMap", "ns", "one")
	if live.GetUID() == uid {
		t.Error("the object was not created again (same uid)")
	}
	if o, _ := w.snapshot().Object(addrOne); o.UID != string(live.GetUID()) {
		t.Errorf("state uid %s, live %s", o.UID, live.GetUID())
	}
}

func TestFakePruneOfObjectNoLongerRendered(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	w.write(map[string]string{"a/kustomization.yaml": kustomizationYAML("one.yaml")})
	_, p := w.plan(nil)
	if got, want := changes(p), []string{"[delete] " + addrTwo}; !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	if r := change(t, p, addrTwo).Reason; r != "no longer rendered by kustomization.a" {
		t.Errorf("reason = %q", r)
	}
	res := w.mustApply(nil)
	if res.Destroyed != 1 || w.kube.Object("", "ConfigMap", "ns", "two") != nil {
		t.Errorf("result %+v; ConfigMap two still there: %v", res, w.kube.Names())
	}
	if _, ok := w.snapshot().Object(addrTwo); ok {
		t.Error("the state still records the pruned object")
	}
}

func TestFakePruneDisabledKeepsObject(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.write(map[string]string{"a/two.yaml": configMap("two", "ns", map[string]string{"size": "m"}, kube.AnnotationPrune, kube.PruneDisabled)})
	w.mustApply(nil)
	w.write(map[string]string{"a/kustomization.yaml": kustomizationYAML("one.yaml")})
	_, p := w.plan(nil)
	c := change(t, p, addrTwo)
	if !c.Actions.Is(plan.Forget) || !strings.Contains(c.Reason, kube.PruneDisabled) {
		t.Fatalf("change = %v (%s), want a forget because pruning is disabled", c.Actions, c.Reason)
	}
	res := w.mustApply(nil)
	if res.Destroyed != 0 || w.kube.Object("", "ConfigMap", "ns", "two") == nil {
		t.Errorf("result %+v: the object with pruning disabled was deleted", res)
	}
	if _, ok := w.snapshot().Object(addrTwo); ok {
		t.Error("the state still records the kept object")
	}
}

func TestFakePruneFalseKeepsObject(t *testing.T) {
	files := oneBlock()
	files["main.hcl"] = "kustomization \"a\" {\n  path  = \"a\"\n  prune = false\n}\n"
	w := newWorld(t, files)
	w.mustApply(nil)
	w.write(map[string]string{"a/kustomization.yaml": kustomizationYAML("one.yaml")})
	_, p := w.plan(nil)
	for _, c := range changes(p) {
		if strings.HasPrefix(c, "[delete]") {
			t.Errorf("prune = false plans a delete: %s", c)
		}
	}
	w.mustApply(nil)
	if w.kube.Object("", "ConfigMap", "ns", "two") == nil {
		t.Error("prune = false deleted the object no longer rendered")
	}
}

func TestFakePruneSparesObjectOwnedByOthers(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	// Another stack took the object over (its labels say so).
	if err := w.kube.Edit("", "ConfigMap", "ns", "two", func(u *unstructured.Unstructured) {
		u.SetLabels(map[string]string{kube.LabelStack: "other", kube.LabelStackID: "other-id", kube.LabelBlock: "kustomization.x"})
	}); err != nil {
		t.Fatal(err)
	}
	w.write(map[string]string{"a/kustomization.yaml": kustomizationYAML("one.yaml")})
	_, p := w.plan(nil)
	if c := change(t, p, addrTwo); !c.Actions.Is(plan.Forget) {
		t.Fatalf("change = %v (%s), want a forget of an object another stack owns", c.Actions, c.Reason)
	}
	w.mustApply(nil)
	if w.kube.Object("", "ConfigMap", "ns", "two") == nil {
		t.Error("the prune deleted an object of another stack")
	}
}

func TestFakeUnlabelledObjectNeedsAdopt(t *testing.T) {
	w := newWorld(t, oneBlock())
	existing := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "one", "namespace": "ns"}, "data": map[string]any{"color": "old"}}}
	w.kube.Put(existing)
	_, p := w.plan(nil)
	if !p.HasErrors() || p.Errors[0].Address != addrOne || !strings.Contains(p.Errors[0].Message, "without strata's labels") {
		t.Fatalf("plan errors = %+v, want one for the unlabelled object", p.Errors)
	}
	if _, err := w.apply(nil); !errors.Is(err, planner.ErrPlanErrors) {
		t.Fatalf("apply err = %v, want ErrPlanErrors", err)
	}
	if got, _, _ := unstructured.NestedString(w.kube.Object("", "ConfigMap", "ns", "one").Object, "data", "color"); got != "old" {
		t.Fatal("the refused apply changed the unlabelled object")
	}

	opts := w.options()
	opts.Adopt = []string{addrOne}
	_, p = w.plan(&opts)
	if c := change(t, p, addrOne); !c.Adopt {
		t.Fatalf("change %+v is not an adoption", c)
	}
	w.mustApply(&opts)
	if l := w.kube.Object("", "ConfigMap", "ns", "one").GetLabels(); l[kube.LabelBlock] != "kustomization.a" {
		t.Errorf("labels after adoption = %v", l)
	}
}

func TestFakeObjectOfAnotherStackRefused(t *testing.T) {
	w := newWorld(t, oneBlock("adopt = true"))
	w.kube.Put(&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "one", "namespace": "ns",
			"labels": map[string]any{kube.LabelStack: "other", kube.LabelStackID: "other-id", kube.LabelBlock: "kustomization.a"}}}})
	_, p := w.plan(nil)
	if !p.HasErrors() || !strings.Contains(p.Errors[0].Message, "belongs to another stack") {
		t.Fatalf("plan errors = %+v, want the object of another stack refused even with adopt = true", p.Errors)
	}
}

func TestFakeRemovedBlockIsDeleted(t *testing.T) {
	files := oneBlock()
	files["main.hcl"] += kustomizationBlock("b")
	files["b/kustomization.yaml"] = kustomizationYAML("cm.yaml")
	files["b/cm.yaml"] = configMap("bee", "ns", map[string]string{"k": "v"})
	w := newWorld(t, files)
	w.mustApply(nil)
	w.write(map[string]string{"main.hcl": kustomizationBlock("a")})
	_, p := w.plan(nil)
	c := change(t, p, "kustomization.b/ConfigMap/ns/bee")
	if !c.Actions.Is(plan.Delete) || c.Reason != "kustomization.b is no longer in the stack" {
		t.Fatalf("change = %v (%q), want a delete of the removed block's object", c.Actions, c.Reason)
	}
	w.mustApply(nil)
	if w.kube.Object("", "ConfigMap", "ns", "bee") != nil {
		t.Error("the object of the removed block is still there")
	}
	if _, ok := w.snapshot().Block("kustomization.b"); ok {
		t.Error("the state still holds the removed block")
	}
}

// chain is a stack of kustomizations a <- b <- c (c depends on b, b on a)
// and d, which depends on nothing.
func chain(t *testing.T) *world {
	files := map[string]string{"main.hcl": kustomizationBlock("a") +
		kustomizationBlock("b", "depends_on = [kustomization.a]") +
		kustomizationBlock("c", "depends_on = [kustomization.b]") +
		kustomizationBlock("d")}
	for _, n := range []string{"a", "b", "c", "d"} {
		files[n+"/kustomization.yaml"] = kustomizationYAML("cm.yaml")
		files[n+"/cm.yaml"] = configMap("cm-"+n, "ns", map[string]string{"k": n})
	}
	return newWorld(t, files)
}

// before reports whether log has first before second.
func before(log []string, first, second string) bool {
	i, j := slices.Index(log, first), slices.Index(log, second)
	return i >= 0 && j >= 0 && i < j
}

func TestFakeApplyInDependencyOrder(t *testing.T) {
	w := chain(t)
	w.mustApply(nil)
	log := w.kube.Log()
	for _, pair := range [][2]string{{"a", "b"}, {"b", "c"}} {
		if !before(log, "applied kustomization."+pair[0], "apply kustomization."+pair[1]) {
			t.Errorf("kustomization.%s started before kustomization.%s was done: %v", pair[1], pair[0], log)
		}
	}
}

func TestFakeFailureStopsDependentsOnly(t *testing.T) {
	w := chain(t)
	w.kube.FailApply["cm-a"] = errors.New("admission webhook denied the request")
	res, err := w.apply(nil)
	if err == nil || !strings.Contains(err.Error(), "kustomization.a") || !strings.Contains(err.Error(), "admission webhook denied") {
		t.Fatalf("apply err = %v, want the failure of kustomization.a", err)
	}
	if _, ok := res.Failed["kustomization.a"]; !ok || len(res.Failed) != 1 {
		t.Errorf("failed = %v, want kustomization.a only", res.Failed)
	}
	for _, b := range []string{"kustomization.b", "kustomization.c"} {
		if why := res.Skipped[b]; why != "dependency kustomization.a failed" {
			t.Errorf("skipped[%s] = %q, want the failed dependency named", b, why)
		}
	}
	if w.kube.Object("", "ConfigMap", "ns", "cm-d") == nil {
		t.Error("the independent kustomization.d was not applied")
	}
	for _, n := range []string{"cm-b", "cm-c"} {
		if w.kube.Object("", "ConfigMap", "ns", n) != nil {
			t.Errorf("%s of a skipped block was applied", n)
		}
	}
	snap := w.snapshot()
	if b, _ := snap.Block("kustomization.a"); b.Status != state.StatusFailed {
		t.Errorf("state status of the failed block = %q, want failed", b.Status)
	}

	// Once the cause is gone, the next apply converges.
	delete(w.kube.FailApply, "cm-a")
	w.mustApply(nil)
	if _, p := w.plan(nil); p.HasChanges() {
		t.Errorf("plan after the repaired apply has changes: %v", changes(p))
	}
}

func TestFakeWaitFailureStopsDependents(t *testing.T) {
	w := chain(t)
	w.write(map[string]string{"main.hcl": kustomizationBlock("a", "wait = true") +
		kustomizationBlock("b", "depends_on = [kustomization.a]") +
		kustomizationBlock("c", "depends_on = [kustomization.b]") + kustomizationBlock("d")})
	w.kube.NotReady["cm-a"] = true
	res, err := w.apply(nil)
	var we *kube.WaitError
	if !errors.As(err, &we) {
		t.Fatalf("apply err = %v, want a wait error", err)
	}
	if res.Skipped["kustomization.b"] == "" || res.Skipped["kustomization.c"] == "" {
		t.Errorf("skipped = %v, want b and c", res.Skipped)
	}
	// The objects were written: the state records them for the next plan.
	if _, ok := w.snapshot().Object("kustomization.a/ConfigMap/ns/cm-a"); !ok {
		t.Error("the state does not record the object written before the wait failed")
	}
}

// A health_check is waited for without wait = true, as Flux's healthChecks;
// the wait covers the health check's object only, and a failed apply's
// block waits for it again on the next apply.
func TestFakeHealthCheckWithoutWait(t *testing.T) {
	w := chain(t)
	w.write(map[string]string{"main.hcl": kustomizationBlock("a", "wait = false") +
		kustomizationBlock("b", "wait = false", `health_check {
    api_version = "v1"
    kind        = "ConfigMap"
    name        = "cm-a"
    namespace   = "ns"
  }`, "depends_on = [kustomization.a]") + kustomizationBlock("c") + kustomizationBlock("d")})
	w.kube.NotReady["cm-a"] = true
	w.kube.NotReady["cm-b"] = true // not a health check: wait = false ignores it
	for _, run := range []string{"first apply", "apply of the unchanged block"} {
		_, err := w.apply(nil)
		var we *kube.WaitError
		if !errors.As(err, &we) {
			t.Fatalf("%s: err = %v, want a wait error", run, err)
		}
		if len(we.NotReady) != 1 || we.NotReady[0].Ref.Name != "cm-a" {
			t.Errorf("%s: not ready = %+v, want cm-a only", run, we.NotReady)
		}
	}
	delete(w.kube.NotReady, "cm-a")
	w.mustApply(nil)
}

func TestFakeTargets(t *testing.T) {
	w := chain(t)
	opts := w.options()
	opts.Targets = []string{"kustomization.b"}
	_, p := w.plan(&opts)
	var blocks []string
	for _, b := range p.Blocks {
		blocks = append(blocks, b.Address)
	}
	sort.Strings(blocks)
	if want := []string{"kustomization.a", "kustomization.b"}; !slices.Equal(blocks, want) {
		t.Errorf("targeted plan blocks = %v, want %v (the target and what it depends on)", blocks, want)
	}
	opts.Targets = []string{"kustomization.nope"}
	e, diags := planner.Load(opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer e.Close()
	if _, err := e.Plan(context.Background()); err == nil || !strings.Contains(err.Error(), "no block kustomization.nope") {
		t.Errorf("plan of an unknown target: err = %v", err)
	}
}

func TestFakeDestroyInReverseOrder(t *testing.T) {
	w := chain(t)
	w.mustApply(nil)
	opts := w.options()
	opts.Destroy = true
	_, p := w.plan(&opts)
	for _, b := range p.Blocks {
		if !b.Remove {
			t.Errorf("destroy plan block %s is not a removal", b.Address)
		}
	}
	if got := len(changes(p)); got != 4 {
		t.Errorf("destroy plan has %d changes, want 4 deletes: %v", got, changes(p))
	}
	applied := len(w.kube.Log())
	res := w.mustApply(&opts)
	if res.Destroyed != 4 {
		t.Errorf("destroyed %d, want 4", res.Destroyed)
	}
	log := w.kube.Log()[applied:]
	for _, pair := range [][2]string{{"c", "b"}, {"b", "a"}} {
		if !before(log, "applied kustomization."+pair[0], "apply kustomization."+pair[1]) {
			t.Errorf("kustomization.%s was destroyed before kustomization.%s, which depends on it: %v", pair[1], pair[0], log)
		}
	}
	if names := w.kube.Names(); len(names) != 0 {
		t.Errorf("objects left after destroy: %v", names)
	}
	if snap := w.snapshot(); len(snap.Blocks) != 0 {
		t.Errorf("state blocks left after destroy: %v", snap.Blocks)
	}
}

func TestFakeSavedPlanApplies(t *testing.T) {
	w := newWorld(t, oneBlock())
	_, p := w.plan(nil)
	res, err := w.applySaved(w.saved(p))
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 {
		t.Errorf("result = %+v, want 2 added", res)
	}
	if _, p := w.plan(nil); p.HasChanges() {
		t.Errorf("plan after the saved apply has changes: %v", changes(p))
	}
}

func TestFakeSavedPlanRefusedWhenStateMoved(t *testing.T) {
	w := newWorld(t, oneBlock())
	_, p := w.plan(nil)
	saved := w.saved(p)
	w.mustApply(nil) // someone else applied meanwhile
	w.write(map[string]string{"a/one.yaml": configMap("one", "ns", map[string]string{"color": "green"})})
	_, err := w.applySaved(saved)
	if !errors.Is(err, planner.ErrStalePlan) || !strings.Contains(err.Error(), "state changed") {
		t.Fatalf("err = %v, want a stale state", err)
	}
}

func TestFakeSavedPlanRefusedWhenObjectChanged(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	w.write(map[string]string{"a/one.yaml": configMap("one", "ns", map[string]string{"color": "green"})})
	_, p := w.plan(nil)
	saved := w.saved(p)
	if err := w.kube.Edit("", "ConfigMap", "ns", "one", func(u *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(u.Object, "purple", "data", "color")
	}); err != nil {
		t.Fatal(err)
	}
	_, err := w.applySaved(saved)
	if !errors.Is(err, planner.ErrStalePlan) || !strings.Contains(err.Error(), addrOne+" was changed in the cluster") {
		t.Fatalf("err = %v, want ErrStalePlan naming %s", err, addrOne)
	}
	if got, _, _ := unstructured.NestedString(w.kube.Object("", "ConfigMap", "ns", "one").Object, "data", "color"); got != "purple" {
		t.Errorf("the stale plan overwrote the edit: color %q", got)
	}
}

func TestFakeSavedPlanRefusedForAnotherStack(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	w.write(map[string]string{"a/one.yaml": configMap("one", "ns", map[string]string{"color": "green"})})
	_, p := w.plan(nil)
	saved := w.saved(p)
	saved.StackID = "another-stack"
	_, err := w.applySaved(saved)
	if !errors.Is(err, planner.ErrStalePlan) || !strings.Contains(err.Error(), "stack id another-stack") {
		t.Fatalf("err = %v, want ErrStalePlan for another stack id", err)
	}
}

// releaseFiles is a stack with a kustomization a and releases depending
// on it, each with a local chart.
func releaseFiles(releases ...string) map[string]string {
	files := oneBlock()
	files["charts/web/Chart.yaml"] = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
	for _, r := range releases {
		files["main.hcl"] += fmt.Sprintf("release %q {\n  namespace  = \"ns\"\n  chart      = \"charts/web\"\n  values     = { color = \"blue\" }\n  depends_on = [kustomization.a]\n}\n", r)
	}
	return files
}

func TestFakeReleaseInstallUpgrade(t *testing.T) {
	w := newWorld(t, releaseFiles("web"))
	_, p := w.plan(nil)
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Install) {
		t.Fatalf("releases = %+v, want an install", p.Releases)
	}
	res := w.mustApply(nil)
	if rev, status := w.helm.Revision("ns", "web"); rev != 1 || status != "deployed" {
		t.Fatalf("release revision %d %s, want 1 deployed", rev, status)
	}
	if res.Added != 3 {
		t.Errorf("added %d, want 3 (two objects and the release)", res.Added)
	}
	if log := w.kube.Log(); !before(log, "applied kustomization.a", "install ns/web") {
		t.Errorf("the release was installed before the kustomization it depends on: %v", log)
	}
	if _, p := w.plan(nil); p.HasChanges() {
		t.Errorf("plan after install has changes: %+v", p.Releases)
	}
	w.write(map[string]string{"main.hcl": strings.Replace(releaseFiles("web")["main.hcl"], `"blue"`, `"green"`, 1)})
	_, p = w.plan(nil)
	if len(p.Releases) != 1 || !p.Releases[0].Actions.Is(plan.Upgrade) {
		t.Fatalf("releases = %+v, want an upgrade", p.Releases)
	}
	w.mustApply(nil)
	if rev, _ := w.helm.Revision("ns", "web"); rev != 2 {
		t.Errorf("revision after upgrade %d, want 2", rev)
	}
	if rel, _ := w.snapshot().Release("release.web"); rel.Revision != 2 {
		t.Errorf("state records revision %d, want 2", rel.Revision)
	}
}

func TestFakeSavedPlanRefusedWhenReleaseMoved(t *testing.T) {
	w := newWorld(t, releaseFiles("web"))
	w.mustApply(nil)
	w.write(map[string]string{"main.hcl": strings.Replace(releaseFiles("web")["main.hcl"], `"blue"`, `"green"`, 1)})
	_, p := w.plan(nil)
	saved := w.saved(p)
	w.helm.Upgrade("ns", "web") // helm upgrade outside strata
	_, err := w.applySaved(saved)
	if !errors.Is(err, planner.ErrStalePlan) || !strings.Contains(err.Error(), "release.web") {
		t.Fatalf("err = %v, want ErrStalePlan naming release.web", err)
	}
	if rev, _ := w.helm.Revision("ns", "web"); rev != 2 {
		t.Errorf("revision %d: the stale plan upgraded the release", rev)
	}
}

// TestFakeDestroyOfReleasesInParallel destroys releases with a saved plan
// on a fresh engine: the uninstalls run from several goroutines of the
// walk at once (under -race: the providers are not created by the walk),
// each before the kustomization they depend on.
func TestFakeDestroyOfReleasesInParallel(t *testing.T) {
	w := newWorld(t, releaseFiles("one", "two", "three"))
	w.mustApply(nil)
	opts := w.options()
	opts.Destroy = true
	_, p := w.plan(&opts)
	applied := len(w.kube.Log())
	res, err := w.applySaved(w.saved(p))
	if err != nil {
		t.Fatal(err)
	}
	log := w.kube.Log()[applied:]
	for _, r := range []string{"one", "two", "three"} {
		if !before(log, "uninstall ns/"+r, "apply kustomization.a") {
			t.Errorf("kustomization.a was destroyed before release.%s, which depends on it: %v", r, log)
		}
	}
	if res.Destroyed != 5 {
		t.Errorf("destroyed %d, want 5 (three releases, two objects)", res.Destroyed)
	}
	for _, r := range []string{"one", "two", "three"} {
		if rev, _ := w.helm.Revision("ns", r); rev != 0 {
			t.Errorf("release %s still installed", r)
		}
	}
	if names := w.kube.Names(); len(names) != 0 {
		t.Errorf("objects left: %v", names)
	}
}

func TestFakeKustomizationFromGitSource(t *testing.T) {
	files := map[string]string{
		"main.hcl": "source \"git\" \"repo\" {\n  url    = \"https://git.example/repo.git\"\n  branch = \"main\"\n}\n" +
			"kustomization \"a\" {\n  source = source.git.repo\n  path   = \"deploy\"\n  prune  = true\n}\n",
	}
	w := newWorld(t, files)
	tree := filepath.Join(t.TempDir(), "tree")
	write := func(color string) {
		for name, content := range map[string]string{"deploy/kustomization.yaml": kustomizationYAML("one.yaml"),
			"deploy/one.yaml": configMap("one", "ns", map[string]string{"color": color})} {
			_ = os.MkdirAll(filepath.Dir(filepath.Join(tree, name)), 0o755)
			if err := os.WriteFile(filepath.Join(tree, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("blue")
	w.git.Set("https://git.example/repo.git", tree, "main@sha1:1111111111111111111111111111111111111111")
	_, p := w.plan(nil)
	if len(p.Sources) != 1 || !p.Sources[0].Actions.Is(plan.Create) {
		t.Fatalf("sources = %+v, want the Git source created", p.Sources)
	}
	w.mustApply(nil)
	if b, _ := w.snapshot().Block("kustomization.a"); b.Revision != "main@sha1:1111111111111111111111111111111111111111" {
		t.Errorf("state revision of the kustomization = %q", b.Revision)
	}
	write("green")
	w.git.Set("https://git.example/repo.git", tree, "main@sha1:2222222222222222222222222222222222222222")
	_, p = w.plan(nil)
	if len(p.Sources) != 1 || !p.Sources[0].Actions.Is(plan.Update) {
		t.Errorf("sources = %+v, want the Git source updated", p.Sources)
	}
	if got, want := changes(p), []string{"[update] " + addrOne}; !slices.Equal(got, want) {
		t.Errorf("plan = %v, want %v", got, want)
	}
}

func TestFakeMovedBlockKeepsItsObjects(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	uid := w.kube.Object("", "ConfigMap", "ns", "one").GetUID()
	w.write(map[string]string{
		"main.hcl":             "kustomization \"b\" {\n  path  = \"a\"\n  prune = true\n}\nmoved {\n  from = kustomization.a\n  to   = kustomization.b\n}\n",
		"a/kustomization.yaml": kustomizationYAML("one.yaml", "two.yaml"),
	})
	_, p := w.plan(nil)
	if len(p.Moves) != 1 || p.Moves[0].From != "kustomization.a" || p.Moves[0].To != "kustomization.b" {
		t.Fatalf("moves = %+v", p.Moves)
	}
	for _, c := range changes(p) {
		if strings.Contains(c, "[delete]") || strings.Contains(c, "[create]") {
			t.Errorf("the moved block deletes or creates objects: %s", c)
		}
	}
	w.mustApply(nil)
	live := w.kube.Object("", "ConfigMap", "ns", "one")
	if live.GetUID() != uid || live.GetLabels()[kube.LabelBlock] != "kustomization.b" {
		t.Errorf("after the move: uid %s (was %s), block label %q", live.GetUID(), uid, live.GetLabels()[kube.LabelBlock])
	}
	snap := w.snapshot()
	if _, ok := snap.Block("kustomization.a"); ok {
		t.Error("the state still holds the old address")
	}
	if len(snap.BlockObjects("kustomization.b")) != 2 {
		t.Errorf("the state records %d objects at the new address, want 2", len(snap.BlockObjects("kustomization.b")))
	}
}

func TestFakeSuspendedBlockIsLeftAlone(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	w.write(map[string]string{
		"main.hcl":   kustomizationBlock("a", "suspend = true"),
		"a/one.yaml": configMap("one", "ns", map[string]string{"color": "green"}),
	})
	_, p := w.plan(nil)
	if p.HasChanges() {
		t.Errorf("plan of a suspended block has changes: %v", changes(p))
	}
	w.mustApply(nil)
	if got, _, _ := unstructured.NestedString(w.kube.Object("", "ConfigMap", "ns", "one").Object, "data", "color"); got != "blue" {
		t.Errorf("the suspended block was applied: color %q", got)
	}
	if _, ok := w.snapshot().Block("kustomization.a"); !ok {
		t.Error("the suspended block was removed from the state")
	}
}

// TestFakeSomeProviders gives the engine only a Git source: a stack of
// sources plans with it, without a cluster and without the real Git.
func TestFakeSomeProviders(t *testing.T) {
	w := newWorld(t, map[string]string{
		"main.hcl": "source \"git\" \"repo\" {\n  url    = \"https://git.example/repo.git\"\n  branch = \"main\"\n}\n",
	})
	w.git.Set("https://git.example/repo.git", t.TempDir(), "main@sha1:1111111111111111111111111111111111111111")
	opts := w.options()
	opts.Providers = &planner.Providers{Git: w.git}
	opts.Kubeconfig = filepath.Join(t.TempDir(), "none") // no cluster: the plan must not need one
	_, p := w.plan(&opts)
	if len(p.Sources) != 1 || p.Sources[0].After != "main@sha1:1111111111111111111111111111111111111111" {
		t.Errorf("sources = %+v, want the fake's revision", p.Sources)
	}
	if w.git.Fetches() != 1 {
		t.Errorf("the fake Git was asked %d times, want 1", w.git.Fetches())
	}
}

// TestFakeInvalidObject: an object whose change the server refuses as
// invalid is a plan error at the object, the rest of the plan is made,
// apply refuses the plan; drift of an applied object the server now
// refuses is the block's error, not a modification.
func TestFakeInvalidObject(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	w.kube.Refused["two"] = &kube.Refusal{Kind: kube.RefusedAsInvalid,
		Message: "data[bad key!]: a valid config key must consist of alphanumeric characters"}
	w.write(map[string]string{
		"a/one.yaml": configMap("one", "ns", map[string]string{"color": "green"}),
		"a/two.yaml": configMap("two", "ns", map[string]string{"bad key!": "v"}),
	})
	e, p := w.lockedPlan(nil)
	if len(p.Errors) != 1 || p.Errors[0].Address != addrTwo || !strings.Contains(p.Errors[0].Message, "data[bad key!]") {
		t.Fatalf("plan errors = %+v, want one at %s", p.Errors, addrTwo)
	}
	if got, want := changes(p), []string{"[update] " + addrOne}; !slices.Equal(got, want) {
		t.Errorf("plan = %v, want %v", got, want)
	}
	if _, err := e.Apply(context.Background(), p, planner.ApplyOptions{}); !errors.Is(err, planner.ErrPlanErrors) {
		t.Fatalf("apply err = %v, want ErrPlanErrors", err)
	}
	if err := e.Unlock(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Drift: two, as applied, edited in the cluster and now refused.
	w.write(oneBlock())
	if err := w.kube.Edit("", "ConfigMap", "ns", "two", func(u *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(u.Object, "red", "data", "color")
	}); err != nil {
		t.Fatal(err)
	}
	d, diags := planner.Load(w.options())
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	defer d.Close()
	rep, err := d.Drift(context.Background(), planner.DriftOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.Blocks {
		if len(b.Items) > 0 || !strings.Contains(b.Error, "refused by the API server as invalid") {
			t.Errorf("drift of %s: items %+v, error %q; want the refusal as the block's error", b.Address, b.Items, b.Error)
		}
	}
}

// TestFakeApplyReleasesAppliedBlocks checks that the apply drops the
// objects and field diffs of each kustomization once it applied it, while
// the blocks still to apply keep theirs: when kustomization.b starts,
// kustomization.a's are gone and b's and c's are there.
func TestFakeApplyReleasesAppliedBlocks(t *testing.T) {
	w := chain(t)
	var p *plan.Plan
	held := func(block string) (objects, details int) {
		objects = len(p.Block(block).Objects)
		for _, rc := range p.Changes {
			if rc.Block == block && (rc.After != nil || rc.Before != nil || len(rc.Diff) > 0) {
				details++
			}
		}
		return objects, details
	}
	var atB [3][2]int
	opts := w.options()
	// One block at a time: held reads every block's changes, which
	// kustomization.d (independent of the chain) would otherwise release
	// while kustomization.b starts.
	opts.Parallelism = 1
	opts.OnEvent = func(ev planner.Event) {
		if ev.Type == planner.BlockStarted && ev.Block == "kustomization.b" {
			for i, blk := range []string{"kustomization.a", "kustomization.b", "kustomization.c"} {
				atB[i][0], atB[i][1] = held(blk)
			}
		}
	}
	e, pl := w.lockedPlan(&opts)
	p = pl
	for _, blk := range []string{"kustomization.a", "kustomization.b", "kustomization.c"} {
		if o, d := held(blk); o == 0 || d == 0 {
			t.Fatalf("the plan holds %d objects and %d changes with details for %s, want some", o, d, blk)
		}
	}
	if _, err := e.Apply(context.Background(), p, planner.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Unlock(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	if atB[0] != [2]int{} {
		t.Errorf("when kustomization.b started, kustomization.a still held %d objects and %d changes with details", atB[0][0], atB[0][1])
	}
	if atB[1][0] == 0 || atB[1][1] == 0 || atB[2][0] == 0 || atB[2][1] == 0 {
		t.Errorf("when kustomization.b started, b and c held %v objects and changes with details, want theirs", atB[1:])
	}
	for _, blk := range []string{"kustomization.a", "kustomization.b", "kustomization.c", "kustomization.d"} {
		if o, d := held(blk); o != 0 || d != 0 {
			t.Errorf("after the apply %s still holds %d objects and %d changes with details", blk, o, d)
		}
	}
	if len(p.Changes) != 4 || !p.HasChanges() {
		t.Errorf("after the apply the plan has %d changes (has changes: %v), want its 4 creates", len(p.Changes), p.HasChanges())
	}
}
