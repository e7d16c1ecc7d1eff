package plan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// splitPathRef and pathLessRef are the order of Diff's paths as it was
// written first (split paths compared with fmt.Sscanf): pathLess must keep it.
func splitPathRef(p string) []string {
	var out []string
	start := 0
	inQuote := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '"' && (i == 0 || p[i-1] != '\\'):
			inQuote = !inQuote
		case inQuote:
		case c == '.':
			out = append(out, p[start:i])
			start = i + 1
		case c == '[':
			if i > start {
				out = append(out, p[start:i])
			}
			start = i
		}
	}
	return append(out, p[start:])
}

func pathLessRef(a, b string) bool {
	ta, tb := splitPathRef(a), splitPathRef(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if ta[i] == tb[i] {
			continue
		}
		var na, nb int
		if _, err := fmt.Sscanf(ta[i], "[%d]", &na); err == nil {
			if _, err := fmt.Sscanf(tb[i], "[%d]", &nb); err == nil {
				return na < nb
			}
		}
		return ta[i] < tb[i]
	}
	return len(ta) < len(tb)
}

// randomPath returns a path as flatten writes it, from few enough keys
// and indexes that paths often share prefixes, with the odd malformed one.
func randomPath(r *rand.Rand) string {
	keys := []string{"a", "b", "spec", "metadata", "x_1", "A-b", "", "0"}
	quoted := []string{`"app.kubernetes.io/name"`, `"a.b[1]"`, `"q\"x.y"`, `"[2]"`, `"a b"`}
	var sb strings.Builder
	for n := 1 + r.IntN(4); n > 0; n-- {
		switch r.IntN(6) {
		case 0, 1:
			fmt.Fprintf(&sb, "[%d]", r.IntN(12))
		case 2:
			sb.WriteString("[" + quoted[r.IntN(len(quoted))] + "]")
		case 3:
			sb.WriteString([]string{"[-1]", "[+3]", "[x]", "[", "]", `"`, "[12", "[]", "[007]"}[r.IntN(9)])
		default:
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(keys[r.IntN(len(keys))])
		}
	}
	return sb.String()
}

// TestPathLessMatchesSplitOrder checks that pathLess orders paths as the
// split-and-Sscanf comparison did, on the paths of objects and on random
// ones.
func TestPathLessMatchesSplitOrder(t *testing.T) {
	fixed := []string{"spec.template.spec.containers[0].env[10].value", "spec.template.spec.containers[0].env[9].value",
		"spec.template.spec.containers[0].env[2]", "spec.template.spec.containers[0]", "metadata.labels[\"app.kubernetes.io/name\"]",
		"metadata.labels.app", "metadata.labels", "data.key", "data[\"a.b\"]", "spec.ports[1].port", "spec.ports[1]", "spec.ports[10].port", ""}
	for _, a := range fixed {
		for _, b := range fixed {
			if got, want := pathLess(a, b), pathLessRef(a, b); got != want {
				t.Errorf("pathLess(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 19))
	for range 200000 {
		a, b := randomPath(r), randomPath(r)
		if r.IntN(4) == 0 {
			b = a + b // a prefix of b
		}
		if got, want := pathLess(a, b), pathLessRef(a, b); got != want {
			t.Fatalf("pathLess(%q, %q) = %v, want %v (segments %q, %q)", a, b, got, want, splitPathRef(a), splitPathRef(b))
		}
	}
}

// TestPathLessAllocatesNothing checks that the comparison Diff sorts every
// field of a new object with allocates nothing (it split both paths and
// scanned their indexes with fmt.Sscanf, most of a create's diff).
func TestPathLessAllocatesNothing(t *testing.T) {
	a, b := "spec.template.spec.containers[0].env[10].value", "spec.template.spec.containers[0].env[9].name"
	if n := testing.AllocsPerRun(100, func() { pathLess(a, b) }); n != 0 {
		t.Errorf("pathLess allocates %v times per comparison, want 0", n)
	}
}

// BenchmarkDiffCreate measures the diff of a new Deployment, as the plan of
// a create makes it.
func BenchmarkDiffCreate(b *testing.B) {
	obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "ns", "labels": map[string]any{"app.kubernetes.io/name": "web", "strata.dev/block": "k"}},
		"spec": map[string]any{"replicas": int64(0), "selector": map[string]any{"matchLabels": map[string]any{"app": "a"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "a"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.27",
					"env": []any{map[string]any{"name": "INDEX", "value": "1"}, map[string]any{"name": "B", "value": "2"}}}}}}}}
	b.ReportAllocs()
	for b.Loop() {
		Diff(nil, obj)
	}
}
