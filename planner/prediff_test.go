package planner_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// slowDiff is a Kube whose Diff takes a while and notes when each block's
// diff starts and ends, and how many run at once.
type slowDiff struct {
	planner.Kube
	mu      sync.Mutex
	running int
	most    int
	log     []string
}

func (s *slowDiff) Diff(ctx context.Context, objs []*unstructured.Unstructured, opts kube.DiffOptions) (*kube.ChangeSet, error) {
	s.mu.Lock()
	s.running++
	s.most = max(s.most, s.running)
	s.log = append(s.log, "diff "+opts.Block)
	s.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	cs, err := s.Kube.Diff(ctx, objs, opts)
	s.mu.Lock()
	s.running--
	s.log = append(s.log, "diffed "+opts.Block)
	s.mu.Unlock()
	return cs, err
}

// TestFakePlanDiffsKustomizationsInParallel plans eight independent
// kustomizations and a chain: up to Parallelism blocks are diffed at once
// (the plan used to diff one block after the other), a block only after
// the blocks it depends on, and the plan is the same as with one block at
// a time.
func TestFakePlanDiffsKustomizationsInParallel(t *testing.T) {
	files := map[string]string{"main.hcl": kustomizationBlock("b", "depends_on = [kustomization.a]") +
		kustomizationBlock("c", "depends_on = [kustomization.b]")}
	names := []string{"a", "b", "c"}
	for i := 0; i < 8; i++ {
		n := fmt.Sprint("free", i)
		files["main.hcl"] += kustomizationBlock(n)
		names = append(names, n)
	}
	files["main.hcl"] += kustomizationBlock("a")
	for _, n := range names {
		files[n+"/kustomization.yaml"] = kustomizationYAML("cm.yaml")
		files[n+"/cm.yaml"] = configMap("cm-"+n, "ns", map[string]string{"k": n})
	}
	w := newWorld(t, files)
	var plans []string
	for _, par := range []int{4, 1} {
		sd := &slowDiff{Kube: w.kube.As("")}
		opts := w.options()
		opts.Parallelism = par
		opts.Providers.Kube = func(string) (planner.Kube, error) { return sd, nil }
		_, p := w.plan(&opts)
		if sd.most != par {
			t.Errorf("parallelism %d: %d diffs at once at most, want %d", par, sd.most, par)
		}
		for _, pair := range [][2]string{{"a", "b"}, {"b", "c"}} {
			if !before(sd.log, "diffed kustomization."+pair[0], "diff kustomization."+pair[1]) {
				t.Errorf("parallelism %d: kustomization.%s diffed before kustomization.%s: %v", par, pair[1], pair[0], sd.log)
			}
		}
		if len(p.Blocks) != len(names) || len(p.Changes) != len(names) {
			t.Errorf("parallelism %d: %d blocks and %d changes, want %d", par, len(p.Blocks), len(p.Changes), len(names))
		}
		plans = append(plans, fmt.Sprint(changes(p), blockOrder(p)))
	}
	if plans[0] != plans[1] {
		t.Errorf("plans differ with 4 blocks at once and one at a time:\n%s\n%s", plans[0], plans[1])
	}
}

// blockOrder lists the addresses of the plan's blocks in order.
func blockOrder(p *plan.Plan) []string {
	var out []string
	for _, b := range p.Blocks {
		out = append(out, b.Address)
	}
	return out
}

// freeWatchingDiff is a Kube that notes, for every object it watches, when
// the garbage collector frees it, and at the last block's Diff how many of
// the earlier blocks' are still live. It watches the rendered objects
// handed to Diff or, with desired set, the desired objects of the change
// sets Diff returns.
type freeWatchingDiff struct {
	planner.Kube
	blocks  int
	desired bool

	mu        sync.Mutex
	diffs     int
	watched   int
	freed     atomic.Int64
	heldAtEnd int64 // watched objects of the earlier blocks still live at the last diff
}

func (c *freeWatchingDiff) Diff(ctx context.Context, objs []*unstructured.Unstructured, opts kube.DiffOptions) (*kube.ChangeSet, error) {
	c.mu.Lock()
	c.diffs++
	last := c.diffs == c.blocks
	earlier := int64(c.watched)
	c.mu.Unlock()
	if last {
		// Every earlier block is diffed, and the plan's pass can take its
		// change set into the plan by now: its watched objects must become
		// garbage while this block is diffed.
		deadline := time.Now().Add(5 * time.Second)
		for c.freed.Load() < earlier && time.Now().Before(deadline) {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		c.heldAtEnd = earlier - c.freed.Load()
	}
	if !c.desired {
		c.watch(objs...)
	}
	cs, err := c.Kube.Diff(ctx, objs, opts)
	if err != nil || !c.desired {
		return cs, err
	}
	for _, ch := range cs.Changes {
		if ch.Desired != nil {
			c.watch(ch.Desired)
		}
	}
	return cs, nil
}

func (c *freeWatchingDiff) watch(objs ...*unstructured.Unstructured) {
	for _, o := range objs {
		runtime.AddCleanup(o, func(int) { c.freed.Add(1) }, 0)
	}
	c.mu.Lock()
	c.watched += len(objs)
	c.mu.Unlock()
}

// independentBlocksPlan plans, one block at a time, a stack of blocks
// independent kustomizations of 5 ConfigMaps each through d, whose Kube it
// sets, and returns the plan.
func independentBlocksPlan(t *testing.T, blocks int, d *freeWatchingDiff) *plan.Plan {
	t.Helper()
	files := map[string]string{"main.hcl": ""}
	for i := 0; i < blocks; i++ {
		n := fmt.Sprint("k", i)
		files["main.hcl"] += kustomizationBlock(n)
		files[n+"/kustomization.yaml"] = kustomizationYAML("cm.yaml")
		var y strings.Builder
		for j := 0; j < 5; j++ {
			y.WriteString("---\n" + configMap(fmt.Sprintf("cm-%s-%d", n, j), "ns", map[string]string{"k": n}))
		}
		files[n+"/cm.yaml"] = y.String()
	}
	w := newWorld(t, files)
	d.Kube, d.blocks = w.kube.As(""), blocks
	opts := w.options()
	opts.Parallelism = 1
	opts.Providers.Kube = func(string) (planner.Kube, error) { return d, nil }
	_, p := w.plan(&opts)
	return p
}

// TestFakePlanReleasesRenderedObjects plans independent kustomizations
// one at a time and wants the rendered objects of each released once it
// is diffed (the plan keeps the change sets, which hold prepared copies):
// the plan used to hold every block's render until its end, which made
// its memory grow with the stack beyond what the plan itself needs.
func TestFakePlanReleasesRenderedObjects(t *testing.T) {
	const blocks = 6
	cd := &freeWatchingDiff{}
	p := independentBlocksPlan(t, blocks, cd)
	if cd.diffs != blocks || len(p.Changes) != blocks*5 {
		t.Fatalf("%d diffs and %d changes, want %d and %d", cd.diffs, len(p.Changes), blocks, blocks*5)
	}
	if cd.heldAtEnd != 0 {
		t.Errorf("%d rendered objects of the blocks diffed earlier still live at the last diff, want 0", cd.heldAtEnd)
	}
}

// TestFakePlanTakesChangeSetsAsTheyAreReady plans independent
// kustomizations one at a time and wants the change sets of the blocks
// diffed earlier released (their entries written into the plan) while the
// last one is diffed: the plan's pass used to start after every block was
// diffed, so that the change sets of the whole stack (a prepared copy of
// every object and its live counterpart) were held at once, which made a
// 50,000-object plan's memory peak, and the collector's work, grow with
// the stack beyond what the plan itself holds.
func TestFakePlanTakesChangeSetsAsTheyAreReady(t *testing.T) {
	const blocks = 6
	cd := &freeWatchingDiff{desired: true}
	p := independentBlocksPlan(t, blocks, cd)
	if cd.diffs != blocks || len(p.Changes) != blocks*5 || cd.watched != blocks*5 {
		t.Fatalf("%d diffs, %d changes and %d desired objects, want %d, %d and %d", cd.diffs, len(p.Changes), cd.watched, blocks, blocks*5, blocks*5)
	}
	if cd.heldAtEnd != 0 {
		t.Errorf("%d desired objects of the blocks diffed earlier still live at the last diff, want 0", cd.heldAtEnd)
	}
}

// earlyKube is a Kube that can start a block's lists early: it notes the
// calls of StartPrefetch and of Diff, and the shared reads each was given.
type earlyKube struct {
	planner.Kube
	mu     sync.Mutex
	log    []string
	early  map[string]*kube.SharedReads
	passed map[string]*kube.SharedReads
}

func (k *earlyKube) StartPrefetch(ctx context.Context, s *kube.SharedReads, refs []kube.ObjectRef, stack string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	block := refs[0].Name[len("one-"):] // one-NAME, two-NAME
	k.log = append(k.log, fmt.Sprintf("prefetch kustomization.%s %d", block, len(refs)))
	k.early["kustomization."+block] = s
}

func (k *earlyKube) Diff(ctx context.Context, objs []*unstructured.Unstructured, opts kube.DiffOptions) (*kube.ChangeSet, error) {
	k.mu.Lock()
	k.log = append(k.log, "diff "+opts.Block)
	k.passed[opts.Block] = opts.Shared
	k.mu.Unlock()
	return k.Kube.Diff(ctx, objs, opts)
}

// TestFakePlanStartsListsBeforeDiff: the plan of an applied kustomization
// starts the lists of the objects the state records for it (while it
// renders, before its diff) in the plan's shared reads, which its Diff is
// given, with one kustomization and with several (prediff); a
// kustomization without state starts none.
func TestFakePlanStartsListsBeforeDiff(t *testing.T) {
	for _, names := range [][]string{{"a"}, {"a", "b"}} {
		files := map[string]string{"main.hcl": ""}
		for _, n := range names {
			files["main.hcl"] += kustomizationBlock(n)
			files[n+"/kustomization.yaml"] = kustomizationYAML("cm.yaml")
			files[n+"/cm.yaml"] = configMap("one-"+n, "ns", map[string]string{"k": n}) + "---\n" + configMap("two-"+n, "ns", map[string]string{"k": n})
		}
		w := newWorld(t, files)
		ek := &earlyKube{Kube: w.kube.As(""), early: map[string]*kube.SharedReads{}, passed: map[string]*kube.SharedReads{}}
		opts := w.options()
		opts.Providers.Kube = func(string) (planner.Kube, error) { return ek, nil }
		w.plan(&opts)
		if len(ek.early) != 0 {
			t.Errorf("%v: lists started for blocks without state: %v", names, ek.log)
		}
		w.mustApply(nil)
		ek.log, ek.passed = nil, map[string]*kube.SharedReads{}
		w.plan(&opts)
		for _, n := range names {
			block := "kustomization." + n
			if !before(ek.log, "prefetch "+block+" 2", "diff "+block) {
				t.Errorf("%v: the lists of %s did not start before its diff with its 2 objects: %v", names, block, ek.log)
			}
			if ek.passed[block] == nil || ek.passed[block] != ek.early[block] {
				t.Errorf("%v: the diff of %s was not given the shared reads its lists started in", names, block)
			}
		}
	}
}
