package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// group is the results of one benchmark (a top-level Benchmark function)
// that measure the same thing in different cases: the sub-benchmark name
// parts of the form key=value are the case (a row), the others name what
// is measured (BenchmarkScale/objects=1000/plan: group "BenchmarkScale
// plan", row objects=1000).
type group struct {
	top, what string
	pkg       string
	rows      []row
}

// row is one case of a group.
type row struct {
	keys, values []string
	res          *result
}

// title is the group's heading.
func (g *group) title() string {
	if g.what == "" {
		return g.top
	}
	return g.top + ": " + g.what
}

// groupResults groups results in the order of their first appearance.
func groupResults(results []*result) []*group {
	var out []*group
	byTitle := map[string]*group{}
	for _, r := range results {
		parts := strings.Split(r.name, "/")
		var what []string
		rw := row{res: r}
		for _, p := range parts[1:] {
			if k, v, ok := strings.Cut(p, "="); ok {
				rw.keys, rw.values = append(rw.keys, k), append(rw.values, v)
			} else {
				what = append(what, p)
			}
		}
		g := &group{top: parts[0], what: strings.Join(what, "/"), pkg: r.pkg}
		if old, ok := byTitle[g.title()]; ok {
			g = old
		} else {
			byTitle[g.title()] = g
			out = append(out, g)
		}
		g.rows = append(g.rows, rw)
	}
	return out
}

// writeGroup writes a group's section: doc (the benchmark's doc comment,
// for its first group; "" for the others), its table, its growth between
// sizes and its logs.
func writeGroup(w io.Writer, g *group, doc string) {
	fmt.Fprintf(w, "\n## %s\n", g.title())
	if doc != "" {
		fmt.Fprintf(w, "\n%s\n", quoteDoc(doc))
	}
	units := g.units()
	if len(units) > 0 {
		keys := g.keyHeader()
		head := append([]string{}, keys...)
		for _, u := range units {
			head = append(head, unitName(u))
		}
		fmt.Fprintf(w, "\n| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
		for _, rw := range g.rows {
			cells := g.keyCells(rw)
			for _, u := range units {
				cells = append(cells, formatUnit(rw.res, u))
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
		writeGrowth(w, g, units)
	}
	var logs []string
	for _, rw := range g.rows {
		logs = append(logs, rw.res.logs...)
	}
	if len(logs) > 0 {
		fmt.Fprintln(w)
		for _, l := range logs {
			fmt.Fprintf(w, "- %s\n", l)
		}
	}
}

// quoteDoc formats a doc comment as a quoted block, its code lines as such.
func quoteDoc(d string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
		if l == "" {
			b.WriteString(">\n")
			continue
		}
		fmt.Fprintf(&b, "> %s\n", l)
	}
	return strings.TrimRight(b.String(), "\n")
}

// units are the units of the group's figures: strata's first, then the
// others (the peers'), the speed-ups, and the Go timer's time last; in the
// order reported (go test sorts them by name) within each.
func (g *group) units() []string {
	var out []string
	for _, rw := range g.rows {
		for _, f := range rw.res.figures {
			out = appendNew(out, f.unit)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return unitRank(a) - unitRank(b) })
	return out
}

// unitRank orders the columns of a table.
func unitRank(u string) int {
	switch {
	case u == "ns/op":
		return 5
	case u == "runs":
		return 4
	case strings.Contains(u, "speedup"):
		return 3
	case strings.HasPrefix(u, "strata"):
		return 0
	case strings.HasPrefix(u, "inprocess"):
		return 1
	}
	return 2
}

// keyHeader is the header of the case columns: the keys when every row
// has the same ones, else "case".
func (g *group) keyHeader() []string {
	if !g.sameKeys() {
		return []string{"case"}
	}
	if len(g.rows[0].keys) == 0 {
		return []string{"case"}
	}
	return g.rows[0].keys
}

func (g *group) keyCells(rw row) []string {
	if !g.sameKeys() {
		var l []string
		for i := range rw.keys {
			l = append(l, rw.keys[i]+"="+rw.values[i])
		}
		return []string{strings.Join(l, ", ")}
	}
	if len(rw.keys) == 0 {
		return []string{"—"}
	}
	return rw.values
}

func (g *group) sameKeys() bool {
	for _, rw := range g.rows[1:] {
		if strings.Join(rw.keys, "/") != strings.Join(g.rows[0].keys, "/") {
			return false
		}
	}
	return true
}

// writeGrowth writes, for a group whose cases differ by one number (the
// objects), how each figure grows from each size to the next, and from the
// smallest to the largest, beside how the number grows: linear growth is
// the same factor.
func writeGrowth(w io.Writer, g *group, units []string) {
	if len(g.rows) < 2 || !g.sameKeys() || len(g.rows[0].keys) != 1 {
		return
	}
	for _, rw := range g.rows {
		if n, err := strconv.ParseFloat(rw.values[0], 64); err != nil || n <= 0 {
			return
		}
	}
	key := g.rows[0].keys[0]
	fmt.Fprintf(w, "\nGrowth (each figure's factor; linear growth is the factor of %s):\n\n", key)
	for i := 1; i < len(g.rows); i++ {
		writeStep(w, key, g.rows[i-1], g.rows[i], units)
	}
	if len(g.rows) > 2 {
		writeStep(w, key, g.rows[0], g.rows[len(g.rows)-1], units)
	}
}

// writeStep writes the growth of each figure from row a to row b.
func writeStep(w io.Writer, key string, a, b row, units []string) {
	na, _ := strconv.ParseFloat(a.values[0], 64)
	nb, _ := strconv.ParseFloat(b.values[0], 64)
	var parts []string
	for _, u := range units {
		if strings.Contains(u, "speedup") || u == "ns/op" || u == "runs" {
			continue
		}
		va, okA := lookup(a.res, u)
		vb, okB := lookup(b.res, u)
		if okA && okB && va > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f×", unitName(u), vb/va))
		}
	}
	fmt.Fprintf(w, "- %s %s → %s (%s×): %s\n", key, a.values[0], b.values[0], trimFloat(nb/na), strings.Join(parts, ", "))
}

func lookup(r *result, unit string) (float64, bool) {
	for _, f := range r.figures {
		if f.unit == unit {
			return f.value, true
		}
	}
	return 0, false
}

// formatUnit formats r's figure in unit, or "" when it has none.
func formatUnit(r *result, unit string) string {
	for _, f := range r.figures {
		if f.unit == unit {
			return formatValue(f)
		}
	}
	return ""
}

// unitName is the column name of a unit.
func unitName(u string) string {
	if u == "ns/op" {
		return "time/op"
	}
	return u
}

// formatValue formats a figure for reading: nanoseconds as a duration,
// seconds and megabytes with 3 significant digits, ratios with a ×.
func formatValue(f figure) string {
	switch {
	case f.unit == "ns/op":
		return formatSeconds(f.value / 1e9)
	case strings.Contains(f.unit, "speedup"):
		return fmt.Sprintf("%.1f×", f.value)
	case strings.HasSuffix(f.unit, "-s"):
		return formatSeconds(f.value)
	case strings.HasSuffix(f.unit, "-MB"):
		return fmt.Sprintf("%.0f MB", f.value)
	}
	return trimFloat(f.value)
}

func formatSeconds(s float64) string {
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	case s >= 0.1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.1f ms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.1f µs", s*1e6)
	}
	return fmt.Sprintf("%.0f ns", s*1e9)
}

// trimFloat formats v with up to 3 significant digits after the point.
func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// parseResult parses "BenchmarkX-2  \t 3\t 123 ns/op\t 4.5 unit ...".
func parseResult(line string) (string, []figure) {
	fields := strings.Split(line, "\t")
	name := strings.TrimSpace(fields[0])
	if i := strings.LastIndex(name, "-"); i > 0 && isDigits(name[i+1:]) {
		name = name[:i]
	}
	var figs []figure
	for _, f := range fields[1:] {
		v, unit, ok := strings.Cut(strings.TrimSpace(f), " ")
		if !ok {
			continue // the iteration count
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		figs = append(figs, figure{value: x, unit: strings.TrimSpace(unit)})
	}
	return name, figs
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
