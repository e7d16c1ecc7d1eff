package main

import (
	"strings"
	"testing"
)

// TestRender turns benchmark output into tables, with the logged lines and
// the run's context, and refuses output without results.
func TestRender(t *testing.T) {
	in := `load: 15.2 14.0 13.1 9/900 1
goos: linux
cpu: Intel(R) Xeon(R) Processor
BenchmarkParent
    bench_test.go:10: parent log
BenchmarkBuild/objects=5000/path=plain
    bench_test.go:40: strata v1.2.3; kubectl v1.37.2
BenchmarkBuild/objects=5000/path=plain-2   	       3	1234 ns/op	   0.50 s/check
PASS
goos: linux
BenchmarkOther-2 	1	99 ns/op
`
	var b strings.Builder
	if err := render(strings.NewReader(in), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"- load: 15.2 14.0 13.1 9/900 1\n- goos: linux\n- cpu: Intel(R) Xeon(R) Processor\n\n",
		"## BenchmarkBuild/objects=5000/path=plain\n\n| figure | value |\n| --- | --- |\n| ns/op | 1234 |\n| s/check | 0.50 |\n\n- strata v1.2.3; kubectl v1.37.2\n",
		"## BenchmarkOther\n",
		"## BenchmarkParent\n\n- parent log\n\n## BenchmarkBuild",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "goos: linux") != 1 {
		t.Errorf("context repeated:\n%s", out)
	}
	if err := render(strings.NewReader("PASS\n"), &b); err == nil {
		t.Error("no error for output without results")
	}
}
