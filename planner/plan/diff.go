package plan

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// SensitiveValue replaces every masked value.
const SensitiveValue = "(sensitive value)"

// UnknownValue stands, in a change's After object, for a value that the API
// server assigns when the change is applied (a Service's cluster IP, a node
// port): a dry run answers with a placeholder or a value the real write will
// not get. Diff marks such fields Unknown.
const UnknownValue = "(known after apply)"

// IsSecret reports whether obj is a core/v1 Secret, whose values are masked.
func IsSecret(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	api, _ := obj["apiVersion"].(string)
	return kind == "Secret" && api == "v1"
}

// Mask returns a deep copy of obj in which every value that may hold a
// secret is replaced by SensitiveValue: for a Secret, every value of data
// and stringData and the last-applied-configuration annotation. Other
// objects are copied unchanged. Mask(nil) is nil.
func Mask(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	out, _ := deepCopy(obj).(map[string]any)
	if !IsSecret(out) {
		return out
	}
	for _, f := range []string{"data", "stringData"} {
		if m, ok := out[f].(map[string]any); ok {
			for k := range m {
				m[k] = SensitiveValue
			}
		}
	}
	if md, ok := out["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			if _, ok := ann["kubectl.kubernetes.io/last-applied-configuration"]; ok {
				ann["kubectl.kubernetes.io/last-applied-configuration"] = SensitiveValue
			}
		}
	}
	return out
}

// noise lists fields the server sets on every write; they never show in a
// diff.
var noise = map[string]bool{
	"metadata.managedFields":     true,
	"metadata.resourceVersion":   true,
	"metadata.generation":        true,
	"metadata.uid":               true,
	"metadata.creationTimestamp": true,
	"status":                     true,
}

// Diff returns the field-level difference between before and after, sorted
// by path. Either may be nil (a create or a delete). For a Secret the values
// under data and stringData are compared but never copied into the result:
// those FieldDiffs are Sensitive and carry no Before or After. A field whose
// after value is UnknownValue is Unknown and carries no After. Server-set
// fields (managedFields, resourceVersion, uid, status, ...) are ignored.
func Diff(before, after map[string]any) []FieldDiff {
	secret := IsSecret(before) || IsSecret(after)
	b := map[string]any{}
	a := map[string]any{}
	flatten("", before, b)
	flatten("", after, a)
	var out []FieldDiff
	for p, bv := range b {
		av, ok := a[p]
		switch {
		case !ok:
			out = append(out, FieldDiff{Path: p, Op: OpRemove, Before: bv})
		case !reflect.DeepEqual(bv, av):
			out = append(out, FieldDiff{Path: p, Op: OpChange, Before: bv, After: av})
		}
	}
	for p, av := range a {
		if _, ok := b[p]; !ok {
			out = append(out, FieldDiff{Path: p, Op: OpAdd, After: av})
		}
	}
	for i := range out {
		if out[i].After == UnknownValue {
			out[i].Unknown, out[i].After = true, nil
		}
		if secret && sensitivePath(out[i].Path) {
			out[i].Sensitive = true
			out[i].Before, out[i].After = nil, nil
		}
	}
	sort.Slice(out, func(i, j int) bool { return pathLess(out[i].Path, out[j].Path) })
	return out
}

// sensitivePath reports whether a flattened path of a Secret holds a value.
func sensitivePath(p string) bool {
	return strings.HasPrefix(p, "data.") || strings.HasPrefix(p, "stringData.") ||
		p == "data" || p == "stringData" ||
		strings.HasPrefix(p, `metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]`)
}

// flatten writes the leaves of v into out, keyed by path.
func flatten(prefix string, v any, out map[string]any) {
	if noise[prefix] {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			if prefix != "" {
				out[prefix] = map[string]any{}
			}
			return
		}
		for k, e := range t {
			flatten(joinPath(prefix, k), e, out)
		}
	case []any:
		if len(t) == 0 {
			out[prefix] = []any{}
			return
		}
		for i, e := range t {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	case nil:
		if prefix != "" {
			out[prefix] = nil
		}
	default:
		out[prefix] = t
	}
}

// joinPath appends key k to path p, quoting keys that are not plain
// identifiers (label keys such as app.kubernetes.io/name).
func joinPath(p, k string) string {
	plain := k != ""
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return fmt.Sprintf("%s[%q]", p, k)
	case p == "":
		return k
	default:
		return p + "." + k
	}
}

// pathLess orders paths so that list items sort by index, not by text.
// It compares the paths segment by segment (pathSegments) without
// splitting them: Diff sorts every field of a new object with it, and the
// split paths and fmt.Sscanf were most of a create's diff.
func pathLess(a, b string) bool {
	ia, ib := pathSegments{p: a}, pathSegments{p: b}
	for {
		sa, okA := ia.next()
		sb, okB := ib.next()
		switch {
		case !okA || !okB:
			return !okA && okB
		case sa == sb:
			continue
		}
		if na, ok := listIndex(sa); ok {
			if nb, ok := listIndex(sb); ok {
				return na < nb
			}
		}
		return sa < sb
	}
}

// listIndex returns the index of a list item's segment "[N]" (as
// fmt.Sscanf(seg, "[%d]") reads it: a sign allowed, anything after the
// closing bracket ignored).
func listIndex(seg string) (int, bool) {
	if len(seg) < 3 || seg[0] != '[' {
		return 0, false
	}
	i, neg := 1, false
	if seg[i] == '+' || seg[i] == '-' {
		neg = seg[i] == '-'
		i++
	}
	start := i
	n := 0
	for ; i < len(seg) && seg[i] >= '0' && seg[i] <= '9'; i++ {
		if n > (math.MaxInt-9)/10 {
			return 0, false // out of range: Sscanf fails too
		}
		n = n*10 + int(seg[i]-'0')
	}
	if i == start || i >= len(seg) || seg[i] != ']' {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// pathSegments iterates over the segments of a flattened path: its keys
// ("metadata", `["app.kubernetes.io/name"]`) and list indexes ("[0]").
type pathSegments struct {
	p        string
	start, i int
	inQuote  bool
	done     bool
}

// next returns the next segment, false after the last.
func (s *pathSegments) next() (string, bool) {
	if s.done {
		return "", false
	}
	for ; s.i < len(s.p); s.i++ {
		switch c := s.p[s.i]; {
		case c == '"' && (s.i == 0 || s.p[s.i-1] != '\\'):
			s.inQuote = !s.inQuote
		case s.inQuote:
		case c == '.':
			seg := s.p[s.start:s.i]
			s.i++
			s.start = s.i
			return seg, true
		case c == '[':
			if s.i > s.start {
				seg := s.p[s.start:s.i]
				s.start = s.i
				s.i++
				return seg, true
			}
			s.start = s.i
		}
	}
	s.done = true
	return s.p[s.start:], true
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
