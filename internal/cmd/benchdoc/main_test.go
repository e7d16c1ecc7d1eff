package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const input = `source: make bench BENCHTIME=3x
go: go version go1.26.8 linux/amd64
go: downloading example.com/dep v1.0.0
load: 15.2 14.0 13.1 (1, 5, 15 min) at the start, 2 cores
goos: linux
pkg: example.com/m/cmd/x
cpu: Intel(R) Xeon(R) Processor
BenchmarkScale
    scale_bench_test.go:10: strata v1.2.3 (the test binary); kubectl v1.37.2
BenchmarkScale/objects=1000/plan
    scale_bench_test.go:40: 1000 objects: plan 0.50s
BenchmarkScale/objects=1000/plan-2   	       3	1234000000 ns/op	   0.50 strata-plan-s	 100.0 strata-plan-peak-RSS-MB	 8.0 speedup
BenchmarkScale/objects=1000/drift-2   	       3	1234 ns/op	   0.20 strata-drift-s
BenchmarkScale/objects=10000/plan-2   	       3	1234 ns/op	   4.00 strata-plan-s	 150.0 strata-plan-peak-RSS-MB	 9.5 speedup
BenchmarkScale/objects=10000/drift-2   	       3	1234 ns/op	   1.50 strata-drift-s
PASS
goos: linux
pkg: example.com/m/other
BenchmarkOther-2 	1	99 ns/op
BenchmarkBuild/objects=5000/path=plain-2 	1	99 ns/op
BenchmarkBuild/objects=5000/path=kustomize-2 	1	990 ns/op
load: 16.0 15.0 14.0 (1, 5, 15 min) at the end
`

// TestRender turns benchmark output into the document: the run with the
// versions, the comparisons, per benchmark its doc comment and one table
// per thing measured with a row per case, the growth between sizes and the
// logged lines; it refuses output without results.
func TestRender(t *testing.T) {
	root := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":                    "module example.com/m\n\ngo 1.26\n",
		"cmd/x/scale_bench_test.go": "package x\n\n// BenchmarkScale measures plans:\n//\n//   - plan: the plan.\nfunc BenchmarkScale(b *testing.B) {}\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := render(strings.NewReader(input), &b, moduleDocs(root)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## The run\n\n- source: make bench BENCHTIME=3x\n- go: go version go1.26.8 linux/amd64\n- load: 15.2 14.0 13.1 (1, 5, 15 min) at the start, 2 cores\n- goos: linux\n- cpu: Intel(R) Xeon(R) Processor\n- load: 16.0 15.0 14.0 (1, 5, 15 min) at the end\n- versions: strata v1.2.3 (the test binary); kubectl v1.37.2\n",
		"| benchmark | figure | strata faster by |\n| --- | --- | --- |\n| BenchmarkScale/objects=1000/plan | speedup | 8.0× |\n| BenchmarkScale/objects=10000/plan | speedup | 9.5× |\n",
		"## BenchmarkScale: plan\n\n> BenchmarkScale measures plans:\n>\n>   - plan: the plan.\n\n" +
			"| objects | strata-plan-s | strata-plan-peak-RSS-MB | speedup | time/op |\n| --- | --- | --- | --- | --- |\n" +
			"| 1000 | 0.50 s | 100 MB | 8.0× | 1.23 s |\n| 10000 | 4.00 s | 150 MB | 9.5× | 1.2 µs |\n",
		"- objects 1000 → 10000 (10×): strata-plan-s 8.0×, strata-plan-peak-RSS-MB 1.5×\n\n- 1000 objects: plan 0.50s\n",
		"## BenchmarkScale: drift\n\n| objects | strata-drift-s | time/op |",
		"- objects 1000 → 10000 (10×): strata-drift-s 7.5×\n",
		"## BenchmarkOther\n\n| case | time/op |\n| --- | --- |\n| — | 99 ns |\n",
		"## BenchmarkBuild\n\n| objects | path | time/op |\n| --- | --- | --- |\n| 5000 | plain | 99 ns |\n| 5000 | kustomize | 990 ns |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "downloading") {
		t.Errorf("go's module download lines are in the run's context:\n%s", out)
	}
	if strings.Count(out, "goos: linux") != 1 || strings.Count(out, "> BenchmarkScale measures") != 1 {
		t.Errorf("context or doc comment repeated:\n%s", out)
	}
	if err := render(strings.NewReader("PASS\n"), &b, moduleDocs(root)); err == nil {
		t.Error("no error for output without results")
	}
}

// full is the output of a whole make bench run (abridged), with every
// figure the targets of issue 19 are judged by.
const full = `source: make bench BENCHTIME=3x
date: 2026-12-01T09:30:00Z
go: go version go1.26.8 linux/amd64
commit: 0123abc
load: 0.10 0.20 0.30 (1, 5, 15 min) at the start, 2 cores, 8 GB memory
progress 09:30:01 step 1/4: go test ./cmd/strata
goos: linux
pkg: example.com/m/cmd/x
BenchmarkCommandVersusKubectl/no-change
    command_bench_test.go:59: strata v1.2.3 (go1.26.8, linux/amd64); kubectl: Client Version: v1.37.2, built by internal/testcluster
BenchmarkCommandVersusKubectl/no-change-2 	3	1 ns/op	0.2500 strata-plan-s	0.2000 strata-drift-s	4.000 kubectl-diff-s	16.00 plan-speedup	20.00 drift-speedup	2.000 strata-exact-plan-s	2.000 exact-plan-speedup	0.5000 strata-plan-cold-s	8.000 plan-cold-speedup	3.000 runs
BenchmarkOneKustomization5000/edited=0-2 	3	1 ns/op	2.000 strata-plan-s	20.00 kubectl-diff-s	10.00 speedup	4.000 strata-exact-plan-s	5.000 exact-speedup	3.000 runs
BenchmarkOneKustomization5000/edited=10-2 	3	1 ns/op	10.00 strata-plan-s	20.00 kubectl-diff-s	2.000 speedup	12.00 strata-exact-plan-s	1.667 exact-speedup	3.000 runs
BenchmarkDrift5000/drift-50-edited-2 	3	1 ns/op	1.000 s/check	3.000 runs
BenchmarkDrift5000/drift-50-edited-cold-2 	3	1 ns/op	6.000 s/check	3.000 runs
BenchmarkScale/objects=1000/plan-2 	3	1 ns/op	0.5000 strata-plan-s	100.0 strata-plan-peak-RSS-MB	2.000 kubectl-diff-s	4.000 speedup-vs-kubectl-diff	1.000 strata-exact-plan-s	2.000 exact-speedup-vs-kubectl-diff	3.000 runs
BenchmarkScale/objects=1000/drift-2 	3	1 ns/op	0.2000 strata-drift-s	80.00 strata-drift-peak-RSS-MB	3.000 runs
BenchmarkScale/objects=10000/apply-2 	3	1 ns/op	40.00 strata-apply-s	600.0 strata-apply-peak-RSS-MB	200.0 kubectl-apply-s	5.000 speedup-vs-kubectl-apply	3.000 runs
BenchmarkScale/objects=10000/plan-2 	3	1 ns/op	2.000 strata-plan-s	300.0 strata-plan-peak-RSS-MB	20.00 kubectl-diff-s	10.00 speedup-vs-kubectl-diff	8.000 strata-exact-plan-s	2.500 exact-speedup-vs-kubectl-diff	3.000 runs
BenchmarkScale/objects=10000/drift-2 	3	1 ns/op	3.000 strata-drift-s	200.0 strata-drift-peak-RSS-MB	3.000 runs
BenchmarkScale/objects=50000/plan-2 	3	1 ns/op	12.00 strata-plan-s	900.0 strata-plan-peak-RSS-MB	3.000 runs
BenchmarkScale/objects=50000/drift-2 	3	1 ns/op	14.00 strata-drift-s	500.0 strata-drift-peak-RSS-MB	3.000 runs
PASS
load: 0.50 0.40 0.30 (1, 5, 15 min) at the end
`

// TestTargets computes the table of the targets of issue 19 from the
// figures: each target's measured figure and whether it is met, the growth
// between 1,000, 10,000 and 50,000 objects step by step, and the honesty
// of the run.
func TestTargets(t *testing.T) {
	out := renderString(t, full)
	for _, want := range []string{
		"## Targets of issue 19\n",
		"| 0. no-change `strata plan`, 1,010 objects | ≥ 15× faster than `kubectl diff --server-side` (about 0.25 s) | 0.25 s vs 4.00 s: 16.0× (exact diff: 2.00 s, 2.0×) | yes |\n",
		"| 0. no-change `strata plan`, 1,010 objects, no render cache (a fresh clone) | ≥ 15× faster than `kubectl diff --server-side` (about 0.25 s) | 0.50 s vs 4.00 s: 8.0× | no |\n",
		"| 0. no-change `strata drift`, 1,010 objects | ≥ 15× faster than `kubectl diff --server-side` (about 0.25 s) | 0.20 s vs 4.00 s: 20.0× | yes |\n",
		"| 1. plan of one kustomization of 5,000 objects, 0 edited | ≥ 5× faster than `kubectl diff --server-side --force-conflicts -k` | 2.00 s vs 20.0 s: 10.0× (exact diff: 4.00 s, 5.0×) | yes |\n",
		"| 1. plan of one kustomization of 5,000 objects, 10 edited | ≥ 3× faster than `kubectl diff --server-side --force-conflicts -k` | 10.0 s vs 20.0 s: 2.0× (exact diff: 12.0 s, 1.7×) | no |\n",
		"| 1. `strata drift`, 5,000 objects in one kustomization, 50 edited | < 5 s | 6.00 s without the render cache, 1.00 s with it | no |\n",
		"| 2. no-change plan, 10,000 objects (100 kustomizations) | ≤ 10× the time of the 1,010-object plan | 2.00 s, 8.0× the 1,010-object plan's 0.25 s | yes |\n",
		"| 2. no-change plan, 10,000 objects | ≥ 5× faster than `kubectl diff --server-side` | 2.00 s vs 20.0 s: 10.0× (exact diff: 8.00 s, 2.5×) | yes |\n",
		"| 2. apply of a new set, 10,000 objects | ≥ 5× faster than `kubectl apply --server-side` | 40.0 s vs 200 s: 5.0× | yes |\n",
		"| 2. peak RSS, 10,000 objects | reported, < 500 MB | plan 300 MB, apply 600 MB | no |\n",
		"| 3. plan time, 1,000 → 10,000 → 50,000 objects | grows at most linearly (×10, then ×5) | 0.50 s → 2.00 s → 12.0 s: 4.0× (objects 10×), 6.0× (objects 5×) | no |\n",
		"| 3. plan peak RSS, 1,000 → 10,000 → 50,000 objects | grows at most linearly (×10, then ×5) | 100 MB → 300 MB → 900 MB: 3.0× (objects 10×), 3.0× (objects 5×) | yes |\n",
		"| 3. drift time, 1,000 → 10,000 → 50,000 objects | grows at most linearly (×10, then ×5) | 0.20 s → 3.00 s → 14.0 s: 15.0× (objects 10×), 4.7× (objects 5×) | no |\n",
		"| 4. honest figures | versions of both tools; ≥ 3 runs (median) per ratio; exact diff beside the fast path; load at start and end; generated by `make bench` | versions named; every ratio the median of ≥ 3 runs; exact diff beside each plan ratio; load at start and end | yes |\n",
		"- objects 1000 → 10000 (10×): strata-plan-s 4.0×, strata-plan-peak-RSS-MB 3.0×, strata-exact-plan-s 8.0×, kubectl-diff-s 10.0×\n- objects 10000 → 50000 (5×): strata-plan-s 6.0×, strata-plan-peak-RSS-MB 3.0×\n- objects 1000 → 50000 (50×): strata-plan-s 24.0×, strata-plan-peak-RSS-MB 9.0×\n",
		"- commit: 0123abc\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Not the full record") || strings.Contains(out, "## Failures") || strings.Contains(out, "progress") {
		t.Errorf("a whole, passing run is marked as a subset or failed, or shows progress lines:\n%s", out)
	}
}

// TestTargetsFailedOrMissing shows a failed benchmark, a benchmark missing
// from the output, too few runs and a subset in the document instead of
// leaving them out.
func TestTargetsFailedOrMissing(t *testing.T) {
	in := strings.Replace(full, "source: make bench BENCHTIME=3x\n",
		"source: make bench BENCHTIME=1x BENCH=Scale|Drift\nsetting: STRATA_BENCH_SIZES=1000 (not the default)\nsubset: BENCH=Scale|Drift: the benchmarks that match, not the set of issue 19\n", 1)
	// OneKustomization5000 with 10 edits failed; Drift5000 is missing.
	in = strings.Replace(in, "BenchmarkOneKustomization5000/edited=10-2 \t3", "--- FAIL: BenchmarkOneKustomization5000/edited=10\n    kustomization_bench_test.go:140: kubectl diff: exit 2\n--- FAIL: BenchmarkOneKustomization5000\nFAIL\nBenchmarkOneKustomization5000/edited=10-2 \t3", 1)
	in = strings.Replace(in, "FAIL\nBenchmarkOneKustomization5000/edited=10-2", "FAIL\texample.com/m/cmd/x\t9.1s\nstep-failed: go test ./cmd/x -bench 'x' exited with 1\nBenchmarkOneKustomization5000/edited=10-2", 1)
	var kept []string
	for _, l := range strings.Split(in, "\n") {
		if !strings.HasPrefix(l, "BenchmarkDrift5000") {
			kept = append(kept, l)
		}
	}
	in = strings.Join(kept, "\n")
	in = strings.Replace(in, "0.2000 strata-drift-s\t80.00 strata-drift-peak-RSS-MB\t3.000 runs", "0.2000 strata-drift-s\t80.00 strata-drift-peak-RSS-MB\t1.000 runs", 1)
	in = strings.Replace(in, "2.000 exact-speedup-vs-kubectl-diff\t3.000 runs", "2.000 exact-speedup-vs-kubectl-diff\t1.000 runs", 1)
	// The 10,000-object plan ran without kubectl.
	in = strings.Replace(in, "20.00 kubectl-diff-s\t10.00 speedup-vs-kubectl-diff", "", 1)
	out := renderString(t, in)
	for _, want := range []string{
		"setting: STRATA_BENCH_SIZES=1000 (not the default); subset: BENCH=Scale\\|Drift: the benchmarks that match",
		"**Not the full record: this run is a subset or has non-default settings** (setting: STRATA_BENCH_SIZES=1000 (not the default); subset: BENCH=Scale|Drift: the benchmarks that match, not the set of issue 19).\n",
		"**3 failure(s) in this run: see Failures below",
		"| 1. plan of one kustomization of 5,000 objects, 10 edited | ≥ 3× faster than `kubectl diff --server-side --force-conflicts -k` | not measured: BenchmarkOneKustomization5000/edited=10 is missing from the output (failed or not run) | no: missing |\n",
		"| 1. `strata drift`, 5,000 objects in one kustomization, 50 edited | < 5 s | not measured: BenchmarkDrift5000/drift-50-edited-cold is missing from the output (failed or not run) | no: missing |\n",
		"a ratio rests on 1 run(s)",
		"| 2. no-change plan, 10,000 objects | ≥ 5× faster than `kubectl diff --server-side` | not measured: BenchmarkScale/objects=10000/plan ran without kubectl-diff-s, speedup-vs-kubectl-diff | no: missing |\n",
		"3 failure(s), see Failures",
		"## Failures\n\n- BenchmarkOneKustomization5000/edited=10 failed: kubectl diff: exit 2\n- FAIL example.com/m/cmd/x 9.1s\n- step-failed: go test ./cmd/x -bench 'x' exited with 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "- BenchmarkOneKustomization5000 failed") {
		t.Errorf("the parent of a failed benchmark is listed as failed too:\n%s", out)
	}
	// A run in which every benchmark failed still renders, with its failures.
	out = renderString(t, "source: make bench BENCHTIME=3x\n--- FAIL: BenchmarkScale\n    scale_bench_test.go:1: no cluster\nFAIL\tx\t1s\n")
	if !strings.Contains(out, "- BenchmarkScale failed: no cluster\n") || !strings.Contains(out, "| 0. no-change `strata plan`, 1,010 objects | ≥ 15× faster than `kubectl diff --server-side` (about 0.25 s) | not measured") {
		t.Errorf("a failed run:\n%s", out)
	}
}

func renderString(t *testing.T, in string) string {
	t.Helper()
	var b strings.Builder
	if err := render(strings.NewReader(in), &b, func(string, string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
