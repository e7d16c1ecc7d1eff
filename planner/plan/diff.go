package plan

import (
	"fmt"
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
func pathLess(a, b string) bool {
	ta, tb := splitPath(a), splitPath(b)
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

// splitPath splits a flattened path into its segments.
func splitPath(p string) []string {
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
