// Command benchdoc turns the output of `go test -bench -v` (as `make bench`
// writes it) into docs/performance.md: the run (date, load, machine, the
// tools' versions), a summary of every side-by-side comparison as a
// speed-up ratio, then per benchmark what it measures (the doc comment of
// its function, read from the package's source) and its figures as tables,
// one row per case (objects=1000, objects=10000, ...), with the growth
// between the sizes where the cases are sizes, and the lines the
// benchmarks log. The document is generated: edit the benchmarks, not the
// document.
//
//	benchdoc [-src DIR] < bench.txt > docs/performance.md
//
// DIR (default ".") is the module's root, where the packages named by the
// "pkg:" lines of the output are looked up for the doc comments.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	src := flag.String("src", ".", "the module's root, for the benchmarks' doc comments")
	flag.Parse()
	if err := render(os.Stdin, os.Stdout, moduleDocs(*src)); err != nil {
		fmt.Fprintln(os.Stderr, "benchdoc:", err)
		os.Exit(1)
	}
}

// result is one benchmark's line: its name, package, figures (value, unit)
// and the lines it logged.
type result struct {
	name    string
	pkg     string
	figures []figure
	logs    []string
	failed  bool // go test reported it as failed ("--- FAIL:")
}

// figure is one value a benchmark reported, in unit.
type figure struct {
	value float64
	unit  string
}

// run is the parsed output: the context lines and the results in order.
type run struct {
	context  []string
	versions []string
	results  []*result
	failures []string // the benchmarks that failed, in order
	problems []string // other failures: a package that failed, a step that exited non-zero, a panic
	subset   []string // what makes the run differ from the whole set with its defaults
}

// parse reads benchmark output.
func parse(r io.Reader) (*run, error) {
	out := &run{}
	byName := map[string]*result{}
	section := func(name, pkg string) *result {
		if r, ok := byName[name]; ok {
			return r
		}
		r := &result{name: name, pkg: pkg}
		byName[name] = r
		out.results = append(out.results, r)
		return r
	}
	var last *result
	var pkg string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "\t"):
			name, figs := parseResult(line)
			last = section(name, pkg)
			last.figures = figs
		case strings.HasPrefix(line, "Benchmark") && !strings.ContainsAny(trimmed, " \t"):
			// The header -v prints before a benchmark's logs.
			last = section(trimmed, pkg)
		case strings.HasPrefix(line, "--- FAIL: "):
			name := benchName(strings.TrimPrefix(line, "--- FAIL: "))
			last = section(name, pkg)
			if !last.failed && !hasFailedChild(out.failures, name) {
				last.failed = true
				out.failures = append(out.failures, name)
			}
		case hasAnyPrefix(line, "step-failed:", "panic:", "FAIL\t"):
			out.problems = append(out.problems, line)
		case strings.HasPrefix(line, "pkg:"):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg:"))
		case hasAnyPrefix(line, "subset:", "setting:"):
			out.subset = appendNew(out.subset, line)
			out.context = appendNew(out.context, line)
		case hasAnyPrefix(line, "source:", "goos:", "goarch:", "cpu:", "load:", "date:", "go: go version", "commit:"):
			// "go: go version ..." is bench.sh's; go's own "go: downloading
			// MODULE" lines (a cold module cache) are not the run's context.
			out.context = appendNew(out.context, line)
		case last != nil && strings.Contains(trimmed, "_test.go:"):
			_, msg, _ := strings.Cut(trimmed, ": ")
			if strings.HasPrefix(msg, "strata v") {
				out.versions = appendNew(out.versions, msg)
				continue
			}
			last.logs = append(last.logs, msg)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var kept []*result
	for _, r := range out.results {
		if len(r.figures) > 0 || len(r.logs) > 0 || r.failed {
			kept = append(kept, r)
		}
	}
	out.results = kept
	if len(kept) == 0 && len(out.failures) == 0 && len(out.problems) == 0 {
		return nil, fmt.Errorf("no benchmark results in the input")
	}
	return out, nil
}

// render reads benchmark output from r and writes the document to w; docs
// maps a package path and benchmark function name to its doc comment.
func render(r io.Reader, w io.Writer, docs func(pkg, fn string) string) error {
	run, err := parse(r)
	if err != nil {
		return err
	}
	fmt.Fprint(w, header)
	writeWarnings(w, run)
	writeTargets(w, run)
	fmt.Fprint(w, "\n## The run\n\n")
	for _, c := range run.context {
		fmt.Fprintf(w, "- %s\n", c)
	}
	for _, v := range run.versions {
		fmt.Fprintf(w, "- versions: %s\n", v)
	}
	writeFailures(w, run)
	writeSummary(w, run.results)
	documented := map[string]bool{}
	for _, g := range groupResults(run.results) {
		doc := ""
		if !documented[g.top] {
			documented[g.top] = true
			doc = docs(g.pkg, g.top)
		}
		writeGroup(w, g, doc)
	}
	return nil
}

const header = `# Performance

Generated from the output of ` + "`make bench`" + ` by internal/cmd/benchdoc: do not edit by hand.
Each benchmark runs strata and its peer side by side in one run on a local cluster
started for the run, the tools taking turns at going first in each round. The peer is
kubectl, built by the test-cluster harness (internal/testcluster) from
k8s.io/kubernetes/cmd/kubectl at the Kubernetes version of the API server it runs, and
run by path as a user runs it; both tools' versions are listed under the run. strata's
client setup (API discovery included) is inside every timed region; wherever a plan is
compared, the exact diff (a server-side dry run for every object) is reported beside
the fast path. Absolute times depend on the machine and its load (below), the ratios
less so. Units: "-s" figures are seconds of wall time, the median of the runs ("runs"
says how many; the single runs are listed under each benchmark), "-cpu-s" seconds of
CPU time, "-MB" megabytes (peak resident memory), "speedup" the peer's time over
strata's; "time/op" is the Go benchmark timer's time per iteration (which includes
untimed work the benchmark's own figures leave out).
`

// writeWarnings says at the top when the run is a subset, has non-default
// settings or had failures: its figures are then not the full record.
func writeWarnings(w io.Writer, run *run) {
	if len(run.subset) > 0 {
		fmt.Fprintf(w, "\n**Not the full record: this run is a subset or has non-default settings** (%s).\n", strings.Join(run.subset, "; "))
	}
	if n := len(run.failures) + len(run.problems); n > 0 {
		fmt.Fprintf(w, "\n**%d failure(s) in this run: see Failures below; the figures of a failed benchmark are left out.**\n", n)
	}
}

// writeFailures lists the benchmarks that failed, with what they logged,
// and the other failures of the run.
func writeFailures(w io.Writer, run *run) {
	if len(run.failures) == 0 && len(run.problems) == 0 {
		return
	}
	fmt.Fprint(w, "\n## Failures\n\n")
	for _, r := range run.results {
		if !r.failed {
			continue
		}
		fmt.Fprintf(w, "- %s failed", r.name)
		if len(r.logs) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(r.logs, " / "))
		}
		fmt.Fprintln(w)
	}
	for _, p := range run.problems {
		fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(p, "\t", " "))
	}
}

// hasFailedChild tells whether a sub-benchmark of name failed (go test
// reports the parents of a failed benchmark as failed too).
func hasFailedChild(failures []string, name string) bool {
	for _, f := range failures {
		if strings.HasPrefix(f, name+"/") {
			return true
		}
	}
	return false
}

// benchName strips the fields after a benchmark's name and the -N suffix
// of GOMAXPROCS from it ("BenchmarkX/a=1-2 (3.00s)": "BenchmarkX/a=1").
func benchName(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	if i := strings.LastIndex(s, "-"); i > 0 && isDigits(s[i+1:]) {
		s = s[:i]
	}
	return s
}

// writeSummary writes every speed-up ratio in one table.
func writeSummary(w io.Writer, results []*result) {
	var rows []string
	for _, r := range results {
		for _, f := range r.figures {
			if strings.Contains(f.unit, "speedup") {
				rows = append(rows, fmt.Sprintf("| %s | %s | %s |", r.name, f.unit, formatValue(f)))
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprint(w, "\n## Comparisons\n\nHow many times faster strata is than its peer (the peer's time over strata's; see each benchmark below for what is compared).\n\n| benchmark | figure | strata faster by |\n| --- | --- | --- |\n")
	fmt.Fprintln(w, strings.Join(rows, "\n"))
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func appendNew(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}
