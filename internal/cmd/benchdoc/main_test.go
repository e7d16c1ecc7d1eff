package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const input = `source: make bench BENCHTIME=3x
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
		"## The run\n\n- source: make bench BENCHTIME=3x\n- load: 15.2 14.0 13.1 (1, 5, 15 min) at the start, 2 cores\n- goos: linux\n- cpu: Intel(R) Xeon(R) Processor\n- load: 16.0 15.0 14.0 (1, 5, 15 min) at the end\n- versions: strata v1.2.3 (the test binary); kubectl v1.37.2\n",
		"| benchmark | figure | strata faster by |\n| --- | --- | --- |\n| BenchmarkScale/objects=1000/plan | speedup | 8.0× |\n| BenchmarkScale/objects=10000/plan | speedup | 9.5× |\n",
		"## BenchmarkScale: plan\n\n> BenchmarkScale measures plans:\n>\n>   - plan: the plan.\n\n" +
			"| objects | strata-plan-s | strata-plan-peak-RSS-MB | speedup | time/op |\n| --- | --- | --- | --- | --- |\n" +
			"| 1000 | 0.50 s | 100 MB | 8.0× | 1.23 s |\n| 10000 | 4.00 s | 150 MB | 9.5× | 1.2 µs |\n",
		"- to objects=10000 (10×): strata-plan-s 8.0×, strata-plan-peak-RSS-MB 1.5×\n\n- 1000 objects: plan 0.50s\n",
		"## BenchmarkScale: drift\n\n| objects | strata-drift-s | time/op |",
		"- to objects=10000 (10×): strata-drift-s 7.5×\n",
		"## BenchmarkOther\n\n| case | time/op |\n| --- | --- |\n| — | 99 ns |\n",
		"## BenchmarkBuild\n\n| objects | path | time/op |\n| --- | --- | --- |\n| 5000 | plain | 99 ns |\n| 5000 | kustomize | 990 ns |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "goos: linux") != 1 || strings.Count(out, "> BenchmarkScale measures") != 1 {
		t.Errorf("context or doc comment repeated:\n%s", out)
	}
	if err := render(strings.NewReader("PASS\n"), &b, moduleDocs(root)); err == nil {
		t.Error("no error for output without results")
	}
}
