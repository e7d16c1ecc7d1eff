// Command benchdoc turns the output of `go test -bench -v` (as `make bench`
// writes it) into docs/performance.md: one table per benchmark with its
// reported figures, the lines the benchmarks log (the tools' versions, the
// side-by-side summaries) and the machine's load during the run. The
// document is generated: edit the benchmarks, not the document.
//
//	benchdoc < bench.txt > docs/performance.md
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	if err := render(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchdoc:", err)
		os.Exit(1)
	}
}

// result is one benchmark's line: its name and figures (value, unit).
type result struct {
	name    string
	figures [][2]string
	logs    []string
}

// render reads benchmark output from r and writes the document to w.
func render(r io.Reader, w io.Writer) error {
	var context []string
	var results []*result
	byName := map[string]*result{}
	section := func(name string) *result {
		if r, ok := byName[name]; ok {
			return r
		}
		r := &result{name: name}
		byName[name] = r
		results = append(results, r)
		return r
	}
	var last *result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "\t"):
			res := parseResult(line)
			last = section(res.name)
			last.figures = res.figures
		case strings.HasPrefix(line, "Benchmark") && !strings.ContainsAny(trimmed, " \t"):
			// The header -v prints before a benchmark's logs.
			last = section(trimmed)
		case hasAnyPrefix(line, "source:", "goos:", "goarch:", "cpu:", "load:", "date:"):
			if !contains(context, line) {
				context = append(context, line)
			}
		case last != nil && strings.Contains(trimmed, "_test.go:"):
			_, msg, _ := strings.Cut(trimmed, ": ")
			last.logs = append(last.logs, msg)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	results = slices.DeleteFunc(results, func(r *result) bool { return len(r.figures) == 0 && len(r.logs) == 0 })
	if len(results) == 0 {
		return fmt.Errorf("no benchmark results in the input")
	}
	fmt.Fprint(w, header)
	for _, c := range context {
		fmt.Fprintf(w, "- %s\n", c)
	}
	for _, res := range results {
		fmt.Fprintf(w, "\n## %s\n", res.name)
		if len(res.figures) > 0 {
			fmt.Fprint(w, "\n| figure | value |\n| --- | --- |\n")
		}
		for _, f := range res.figures {
			fmt.Fprintf(w, "| %s | %s |\n", f[1], f[0])
		}
		if len(res.logs) > 0 {
			fmt.Fprintln(w)
			for _, l := range res.logs {
				fmt.Fprintf(w, "- %s\n", l)
			}
		}
	}
	return nil
}

const header = `# Performance

Generated from the benchmarks' output by internal/cmd/benchdoc (` + "`make bench`" + ` runs them
all and writes this file): do not edit by hand. Each benchmark runs strata and its peer (the harness-built kubectl of the
cluster's Kubernetes version) side by side in one run on the local cluster; absolute
times depend on the machine and its load, the ratios less so. Figures named "-s" are
seconds (medians of the runs where the benchmark says so), "speedup" is the peer's time
over strata's.

The run:
`

// parseResult parses "BenchmarkX-2  \t 3\t 123 ns/op\t 4.5 unit ...".
func parseResult(line string) *result {
	fields := strings.Split(line, "\t")
	name := strings.TrimSpace(fields[0])
	if i := strings.LastIndex(name, "-"); i > 0 && isDigits(name[i+1:]) {
		name = name[:i]
	}
	res := &result{name: name}
	for _, f := range fields[1:] {
		v, unit, ok := strings.Cut(strings.TrimSpace(f), " ")
		if !ok {
			continue // the iteration count
		}
		res.figures = append(res.figures, [2]string{v, strings.TrimSpace(unit)})
	}
	return res
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
