package main

import (
	"fmt"
	"io"
	"strings"
)

// The benchmarks whose figures the targets of issue 19 are judged by.
const (
	benchCommand   = "BenchmarkCommandVersusKubectl/no-change"
	benchOneKust   = "BenchmarkOneKustomization5000/edited="
	benchDrift5000 = "BenchmarkDrift5000/"
	benchScale     = "BenchmarkScale/objects="
)

// targetRow is one line of the targets table: what issue 19 asks, what
// was measured, and whether it is met ("yes", "no", or "no: missing" when
// a figure it needs is not in the output).
type targetRow struct {
	target, asked, measured, met string
}

// figures looks up the figures of a run by benchmark name and unit.
type figures map[string]map[string]float64

func newFigures(results []*result) figures {
	fs := figures{}
	for _, r := range results {
		if r.failed {
			continue // a failed benchmark's figures, if any, do not count
		}
		for _, f := range r.figures {
			if fs[r.name] == nil {
				fs[r.name] = map[string]float64{}
			}
			fs[r.name][f.unit] = f.value
		}
	}
	return fs
}

// get returns the figures of name in units, and false when one is missing.
func (fs figures) get(name string, units ...string) ([]float64, bool) {
	var out []float64
	for _, u := range units {
		v, ok := fs[name][u]
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// missing is the row of a target whose figures are not in the output.
func missing(target, asked, bench string) targetRow {
	return targetRow{target, asked, "not measured: " + bench + " is missing from the output (failed or not run)", "no: missing"}
}

// lacking is the row of a target whose benchmark ran without a figure
// the target needs (its peer left out, for one).
func (fs figures) lacking(target, asked, bench string, units ...string) targetRow {
	if fs[bench] == nil {
		return missing(target, asked, bench)
	}
	var gone []string
	for _, u := range units {
		if _, ok := fs[bench][u]; !ok {
			gone = append(gone, u)
		}
	}
	return targetRow{target, asked, "not measured: " + bench + " ran without " + strings.Join(gone, ", "), "no: missing"}
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func ratio(v float64) string { return fmt.Sprintf("%.1f×", v) }

func secs(v float64) string { return formatSeconds(v) }

// targetRows computes the table of the targets of issue 19 from the run.
func targetRows(run *run) []targetRow {
	fs := newFigures(run.results)
	var rows []targetRow
	rows = append(rows, target0(fs)...)
	rows = append(rows, target1(fs)...)
	rows = append(rows, target2(fs)...)
	rows = append(rows, target3(fs)...)
	return append(rows, target4(run, fs))
}

func target0(fs figures) []targetRow {
	var rows []targetRow
	for _, cmd := range []string{"plan", "drift"} {
		t := fmt.Sprintf("0. no-change `strata %s`, 1,010 objects", cmd)
		asked := "≥ 15× faster than `kubectl diff --server-side` (about 0.25 s)"
		units := []string{"strata-" + cmd + "-s", "kubectl-diff-s", cmd + "-speedup"}
		v, ok := fs.get(benchCommand, units...)
		if !ok {
			rows = append(rows, fs.lacking(t, asked, benchCommand, units...))
			continue
		}
		m := fmt.Sprintf("%s vs %s: %s", secs(v[0]), secs(v[1]), ratio(v[2]))
		if e, ok := fs.get(benchCommand, "strata-exact-plan-s", "exact-plan-speedup"); ok && cmd == "plan" {
			m += fmt.Sprintf(" (exact diff: %s, %s)", secs(e[0]), ratio(e[1]))
		}
		rows = append(rows, targetRow{t, asked, m, met(v[2] >= 15)})
		if cmd != "plan" {
			continue
		}
		t = "0. no-change `strata plan`, 1,010 objects, no render cache (a fresh clone)"
		units = []string{"strata-plan-cold-s", "kubectl-diff-s", "plan-cold-speedup"}
		if v, ok := fs.get(benchCommand, units...); ok {
			rows = append(rows, targetRow{t, asked, fmt.Sprintf("%s vs %s: %s", secs(v[0]), secs(v[1]), ratio(v[2])), met(v[2] >= 15)})
		} else {
			rows = append(rows, fs.lacking(t, asked, benchCommand, units...))
		}
	}
	return rows
}

func target1(fs figures) []targetRow {
	var rows []targetRow
	for _, c := range []struct {
		edited string
		least  float64
	}{{"0", 5}, {"10", 3}} {
		name := benchOneKust + c.edited
		t := fmt.Sprintf("1. plan of one kustomization of 5,000 objects, %s edited", c.edited)
		asked := fmt.Sprintf("≥ %.0f× faster than `kubectl diff --server-side --force-conflicts -k`", c.least)
		units := []string{"strata-plan-s", "kubectl-diff-s", "speedup"}
		v, ok := fs.get(name, units...)
		if !ok {
			rows = append(rows, fs.lacking(t, asked, name, units...))
			continue
		}
		m := fmt.Sprintf("%s vs %s: %s", secs(v[0]), secs(v[1]), ratio(v[2]))
		if e, ok := fs.get(name, "strata-exact-plan-s", "exact-speedup"); ok {
			m += fmt.Sprintf(" (exact diff: %s, %s)", secs(e[0]), ratio(e[1]))
		}
		if e, ok := fs.get(name, "strata-cached-plan-s", "cached-speedup"); ok {
			m += fmt.Sprintf(" (render cached: %s, %s)", secs(e[0]), ratio(e[1]))
		}
		rows = append(rows, targetRow{t, asked, m, met(v[2] >= c.least)})
	}
	t, asked := "1. `strata drift`, 5,000 objects in one kustomization, 50 edited", "< 5 s"
	cold, okCold := fs.get(benchDrift5000+"drift-50-edited-cold", "s/check")
	warm, okWarm := fs.get(benchDrift5000+"drift-50-edited", "s/check")
	switch {
	case !okCold:
		rows = append(rows, missing(t, asked, benchDrift5000+"drift-50-edited-cold"))
	case !okWarm:
		rows = append(rows, missing(t, asked, benchDrift5000+"drift-50-edited"))
	default:
		rows = append(rows, targetRow{t, asked, fmt.Sprintf("%s without the render cache, %s with it", secs(cold[0]), secs(warm[0])),
			met(max(cold[0], warm[0]) < 5)})
	}
	return rows
}

func target2(fs figures) []targetRow {
	plan := benchScale + "10000/plan"
	apply := benchScale + "10000/apply"
	var rows []targetRow
	t, asked := "2. no-change plan, 10,000 objects (100 kustomizations)", "≤ 10× the time of the 1,010-object plan"
	v, ok := fs.get(plan, "strata-plan-s")
	base, okBase := fs.get(benchCommand, "strata-plan-s")
	switch {
	case !ok:
		rows = append(rows, missing(t, asked, plan))
	case !okBase:
		rows = append(rows, missing(t, asked, benchCommand))
	default:
		rows = append(rows, targetRow{t, asked, fmt.Sprintf("%s, %s the 1,010-object plan's %s", secs(v[0]), ratio(v[0]/base[0]), secs(base[0])),
			met(v[0] <= 10*base[0])})
	}
	t, asked = "2. no-change plan, 10,000 objects", "≥ 5× faster than `kubectl diff --server-side`"
	units := []string{"strata-plan-s", "kubectl-diff-s", "speedup-vs-kubectl-diff"}
	if v, ok := fs.get(plan, units...); ok {
		m := fmt.Sprintf("%s vs %s: %s", secs(v[0]), secs(v[1]), ratio(v[2]))
		if e, ok := fs.get(plan, "strata-exact-plan-s", "exact-speedup-vs-kubectl-diff"); ok {
			m += fmt.Sprintf(" (exact diff: %s, %s)", secs(e[0]), ratio(e[1]))
		}
		rows = append(rows, targetRow{t, asked, m, met(v[2] >= 5)})
	} else {
		rows = append(rows, fs.lacking(t, asked, plan, units...))
	}
	t, asked = "2. apply of a new set, 10,000 objects", "≥ 5× faster than `kubectl apply --server-side`"
	units = []string{"strata-apply-s", "kubectl-apply-s", "speedup-vs-kubectl-apply"}
	if v, ok := fs.get(apply, units...); ok {
		rows = append(rows, targetRow{t, asked, fmt.Sprintf("%s vs %s: %s", secs(v[0]), secs(v[1]), ratio(v[2])), met(v[2] >= 5)})
	} else {
		rows = append(rows, fs.lacking(t, asked, apply, units...))
	}
	t, asked = "2. peak RSS, 10,000 objects", "reported, < 500 MB"
	p, okP := fs.get(plan, "strata-plan-peak-RSS-MB")
	a, okA := fs.get(apply, "strata-apply-peak-RSS-MB")
	switch {
	case !okP:
		rows = append(rows, missing(t, asked, plan))
	case !okA:
		rows = append(rows, missing(t, asked, apply))
	default:
		rows = append(rows, targetRow{t, asked, fmt.Sprintf("plan %.0f MB, apply %.0f MB", p[0], a[0]), met(max(p[0], a[0]) < 500)})
	}
	return rows
}

// target3 judges the growth of plan's and drift's time and peak RSS from
// 1,000 to 10,000 to 50,000 objects: at most the growth of the objects.
func target3(fs figures) []targetRow {
	sizes := []int{1000, 10000, 50000}
	var rows []targetRow
	for _, c := range []struct{ what, bench, unit string }{
		{"plan time", "plan", "strata-plan-s"},
		{"plan peak RSS", "plan", "strata-plan-peak-RSS-MB"},
		{"drift time", "drift", "strata-drift-s"},
		{"drift peak RSS", "drift", "strata-drift-peak-RSS-MB"},
	} {
		t := "3. " + c.what + ", 1,000 → 10,000 → 50,000 objects"
		asked := "grows at most linearly (×10, then ×5)"
		var vals []float64
		var miss string
		for _, n := range sizes {
			name := fmt.Sprintf("%s%d/%s", benchScale, n, c.bench)
			v, ok := fs.get(name, c.unit)
			if !ok {
				miss = name
				break
			}
			vals = append(vals, v[0])
		}
		if miss != "" {
			rows = append(rows, missing(t, asked, miss))
			continue
		}
		ok := true
		var steps []string
		for i := 1; i < len(sizes); i++ {
			f, size := vals[i]/vals[i-1], float64(sizes[i])/float64(sizes[i-1])
			ok = ok && f <= size
			steps = append(steps, fmt.Sprintf("%s (objects %s)", ratio(f), trimFloat(size)+"×"))
		}
		m := fmt.Sprintf("%s: %s", strings.Join(formatAll(vals, c.unit), " → "), strings.Join(steps, ", "))
		rows = append(rows, targetRow{t, asked, m, met(ok)})
	}
	return rows
}

func formatAll(vals []float64, unit string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, formatValue(figure{v, unit}))
	}
	return out
}

// target4 judges the honesty of the run: both tools' versions named, at
// least 3 runs behind every ratio, the exact diff beside every plan
// ratio, the load at the start and at the end, no benchmark failed, and
// the whole set run with its default settings.
func target4(run *run, fs figures) targetRow {
	asked := "versions of both tools; ≥ 3 runs (median) per ratio; exact diff beside the fast path; load at start and end; " +
		"generated by `make bench`"
	var problems, notes []string
	if !hasVersions(run.versions) {
		problems = append(problems, "no line names both tools' versions")
	}
	least := -1.0
	for _, r := range run.results {
		for _, f := range r.figures {
			if !strings.Contains(f.unit, "speedup") || r.failed {
				continue
			}
			n := fs[r.name]["runs"]
			if least < 0 || n < least {
				least = n
			}
			// Every diff ratio (not apply's) needs the exact diff beside it.
			if !strings.Contains(f.unit, "apply") && !strings.HasPrefix(f.unit, "exact") && !hasExact(fs[r.name]) {
				problems = append(problems, r.name+" has no exact-diff figure beside "+f.unit)
			}
		}
	}
	switch {
	case least < 0:
		problems = append(problems, "no ratio measured")
	case least < 3:
		problems = append(problems, fmt.Sprintf("a ratio rests on %.0f run(s)", least))
	default:
		notes = append(notes, fmt.Sprintf("every ratio the median of ≥ %.0f runs", least))
	}
	if n := countPrefix(run.context, "load:"); n < 2 {
		problems = append(problems, "the load at the start or the end is missing")
	}
	if !hasPrefix(run.context, "source: make bench") {
		problems = append(problems, "not the output of make bench")
	}
	if len(run.failures) > 0 || len(run.problems) > 0 {
		problems = append(problems, fmt.Sprintf("%d failure(s), see Failures", len(run.failures)+len(run.problems)))
	}
	if len(run.subset) > 0 {
		problems = append(problems, "a subset or non-default settings: "+strings.Join(run.subset, "; "))
	}
	if len(problems) == 0 {
		return targetRow{"4. honest figures", asked, "versions named; " + strings.Join(notes, "; ") + "; exact diff beside each plan ratio; load at start and end", "yes"}
	}
	return targetRow{"4. honest figures", asked, strings.Join(append(problems, notes...), "; "), "no"}
}

func hasExact(units map[string]float64) bool {
	for u := range units {
		if strings.Contains(u, "exact") {
			return true
		}
	}
	return false
}

func hasVersions(versions []string) bool {
	for _, v := range versions {
		if strings.HasPrefix(v, "strata ") && strings.Contains(v, "kubectl") {
			return true
		}
	}
	return false
}

func countPrefix(l []string, p string) int {
	n := 0
	for _, s := range l {
		if strings.HasPrefix(s, p) {
			n++
		}
	}
	return n
}

func hasPrefix(l []string, p string) bool { return countPrefix(l, p) > 0 }

// writeTargets writes the table of the targets of issue 19.
func writeTargets(w io.Writer, run *run) {
	fmt.Fprint(w, "\n## Targets of issue 19\n\nComputed from the figures below (medians of the runs): what the issue asks, what this run measured, and whether it is met.\n\n")
	fmt.Fprint(w, "| target | asked | measured | met |\n| --- | --- | --- | --- |\n")
	for _, r := range targetRows(run) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", cell(r.target), cell(r.asked), cell(r.measured), r.met)
	}
}

// cell escapes the table separator in a table cell's text (a BENCH
// regular expression may hold one).
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
