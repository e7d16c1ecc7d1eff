package kube

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// lastApplied is kubectl's client-side apply annotation; it holds a copy of
// the object, Secret values included.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// normalize returns a copy of a server object without the fields that change
// on every write or are not part of the desired state: managedFields,
// resourceVersion, generation, uid, creationTimestamp, selfLink, status
// (CRDs keep nothing of their status either: it is the server's) and the
// annotation AnnotationDigest.
func normalize(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	return normalizeOwn(u.DeepCopy())
}

// normalizeOwn is normalize without the copy: it drops those fields from u
// itself, which nothing else may hold (a dry run's fresh answer), and
// returns it.
func normalizeOwn(c *unstructured.Unstructured) *unstructured.Unstructured {
	if c == nil {
		return nil
	}
	md, ok := c.Object["metadata"].(map[string]any)
	if ok {
		for _, k := range normalizedFields {
			delete(md, k)
		}
		// strata's own bookkeeping is not part of a change.
		if ann, ok := md["annotations"].(map[string]any); ok {
			delete(ann, AnnotationDigest)
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	delete(c.Object, "status")
	return c
}

// normalizedFields are the metadata fields that normalize drops.
var normalizedFields = []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"}

// normalizeShared returns what normalize returns without copying what it
// keeps: the object's and its metadata's maps (and the annotations', when
// it drops AnnotationDigest) are new, every other value is u's. Neither u
// nor the result may be changed afterwards. The fast path of an unchanged
// object, where the copy of every live object was a tenth of a no-change
// plan's CPU time, uses it.
func normalizeShared(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	c := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "status" {
			c[k] = v
		}
	}
	if md, ok := u.Object["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			m[k] = v
		}
		for _, k := range normalizedFields {
			delete(m, k)
		}
		if ann, ok := md["annotations"].(map[string]any); ok {
			if _, ok := ann[AnnotationDigest]; ok {
				a := make(map[string]any, len(ann))
				for k, v := range ann {
					if k != AnnotationDigest {
						a[k] = v
					}
				}
				m["annotations"] = a
				if len(a) == 0 {
					delete(m, "annotations")
				}
			}
		}
		c["metadata"] = m
	}
	return &unstructured.Unstructured{Object: c}
}

// isSecret reports whether the object is a core Secret.
func isSecret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

func isSecretRef(r ObjectRef) bool { return r.Group == "" && r.Kind == "Secret" }

// mask returns a copy of u with every Secret value replaced by Masked: data
// and stringData values and kubectl's last-applied annotation. Objects of
// other kinds are returned as they are.
func mask(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil || !isSecret(u) {
		return u
	}
	c := u.DeepCopy()
	for _, f := range []string{"data", "stringData"} {
		if m, ok := c.Object[f].(map[string]any); ok {
			for k := range m {
				m[k] = Masked
			}
		}
	}
	if md, ok := c.Object["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			if _, ok := ann[lastApplied]; ok {
				ann[lastApplied] = Masked
			}
		}
	}
	return c
}

// maskFields masks the values of a Secret's field diff.
func maskFields(fields []FieldDiff) {
	for i := range fields {
		f := &fields[i]
		if strings.HasPrefix(f.Path, "data") || strings.HasPrefix(f.Path, "stringData") ||
			strings.Contains(f.Path, lastApplied) {
			f.Before = maskValue(f.Before)
			f.After = maskValue(f.After)
		}
	}
}

func maskValue(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]any:
		m := make(map[string]any, len(v))
		for k := range v {
			m[k] = Masked
		}
		return m
	default:
		return Masked
	}
}

// diffFields returns the field-level differences between two objects.
func diffFields(before, after map[string]any) []FieldDiff {
	var out []FieldDiff
	diffValue("", before, after, &out)
	return out
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func joinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func diffValue(path string, a, b any, out *[]FieldDiff) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			keys := make([]string, 0, len(av)+len(bv))
			for k := range av {
				keys = append(keys, k)
			}
			for k := range bv {
				if _, ok := av[k]; !ok {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				diffValue(joinKey(path, k), av[k], bv[k], out)
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			diffList(path, av, bv, out)
			return
		}
	}
	if !equalScalar(a, b) {
		*out = append(*out, FieldDiff{Path: path, Before: a, After: b})
	}
}

// equalScalar compares leaves; numbers compare by value whatever their Go
// type (decoders differ: int64 from the server, int or float64 elsewhere).
func equalScalar(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// diffList matches items of lists of named maps (containers, ports, env…) by
// name and other lists by index.
func diffList(path string, a, b []any, out *[]FieldDiff) {
	if reflect.DeepEqual(a, b) {
		return
	}
	an, _, aok := names(a)
	_, bn, bok := names(b)
	if aok && bok {
		n := len(*out)
		seen := make(map[string]bool, len(b))
		for i, name := range bn {
			seen[name] = true
			var prev any
			if j, ok := an[name]; ok {
				prev = a[j]
			}
			diffValue(fmt.Sprintf("%s[name=%s]", path, name), prev, b[i], out)
		}
		for i, item := range a {
			name := item.(map[string]any)["name"].(string)
			if !seen[name] {
				diffValue(fmt.Sprintf("%s[name=%s]", path, name), a[i], nil, out)
			}
		}
		if len(*out) == n { // same items, another order
			*out = append(*out, FieldDiff{Path: path, Before: a, After: b})
		}
		return
	}
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y any
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		diffValue(fmt.Sprintf("%s[%d]", path, i), x, y, out)
	}
}

// names returns the index of every item by its "name", and the names in
// order, when all items are maps with a distinct string name.
func names(l []any) (map[string]int, []string, bool) {
	idx := make(map[string]int, len(l))
	order := make([]string, 0, len(l))
	for i, item := range l {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, nil, false
		}
		name, ok := m["name"].(string)
		if !ok {
			return nil, nil, false
		}
		if _, dup := idx[name]; dup {
			return nil, nil, false
		}
		idx[name] = i
		order = append(order, name)
	}
	return idx, order, true
}
