package kube

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Unknown replaces, in Change.After, a value that the API server assigns
// when the change is applied (see allocatedFields): the dry run answered
// with a placeholder or with a value the real write will not get. Plans
// show it as "(known after apply)", as Terraform does.
const Unknown = "(known after apply)"

// fieldPath is a path into an object: map keys, and "*" for every item of a
// list.
type fieldPath []string

// allocatedField is a field the API server allocates, and the fields
// whose values, when the request or the live object has them, the server
// copies into it (a Service's clusterIPs repeat its clusterIP).
type allocatedField struct {
	path fieldPath
	same []fieldPath
}

// allocatedFields lists, per kind, the fields the API server allocates when
// an object is written without a value for them. A dry run allocates too,
// but what it answers is a placeholder (a Service's cluster IP 10.0.0.0) or
// a value of its own (a Job's controller-uid labels carry the dry run's
// uid), never the value the real write gets. The server's bookkeeping
// (uid, resourceVersion, generation, creationTimestamp, managedFields,
// status) is not listed: normalize leaves it out of every plan. Generated
// names cannot occur: server-side apply needs a name.
var allocatedFields = map[schema.GroupKind][]allocatedField{
	{Kind: "Service"}: {
		{path: fieldPath{"spec", "clusterIP"}, same: []fieldPath{{"spec", "clusterIPs", "*"}}},
		{path: fieldPath{"spec", "clusterIPs", "*"}, same: []fieldPath{{"spec", "clusterIP"}}},
		{path: fieldPath{"spec", "ports", "*", "nodePort"}},
		{path: fieldPath{"spec", "healthCheckNodePort"}},
	},
	{Group: "batch", Kind: "Job"}: {
		{path: fieldPath{"spec", "selector", "matchLabels", "controller-uid"}},
		{path: fieldPath{"spec", "selector", "matchLabels", "batch.kubernetes.io/controller-uid"}},
		{path: fieldPath{"spec", "template", "metadata", "labels", "controller-uid"}},
		{path: fieldPath{"spec", "template", "metadata", "labels", "batch.kubernetes.io/controller-uid"}},
	},
}

// markUnknown replaces by Unknown, in after (a dry run's answer, changed in
// place), every allocated field whose value neither desired (the object
// sent) sets nor live (nil for a create) already holds: such a value is
// assigned by the real write. A value the manifest sets (clusterIP: None)
// or the live object keeps (an existing Service's cluster IP) is known.
func markUnknown(after, desired, live *unstructured.Unstructured) {
	if after == nil {
		return
	}
	for _, f := range allocatedFields[after.GroupVersionKind().GroupKind()] {
		var known []any
		for _, p := range append([]fieldPath{f.path}, f.same...) {
			if desired != nil {
				known = collect(desired.Object, p, known)
			}
			if live != nil {
				known = collect(live.Object, p, known)
			}
		}
		replaceUnknown(after.Object, f.path, known)
	}
}

// collect appends to out every value found at p in v.
func collect(v any, p fieldPath, out []any) []any {
	if len(p) == 0 {
		return append(out, v)
	}
	if p[0] == "*" {
		items, _ := v.([]any)
		for _, item := range items {
			out = collect(item, p[1:], out)
		}
		return out
	}
	m, _ := v.(map[string]any)
	if e, ok := m[p[0]]; ok {
		return collect(e, p[1:], out)
	}
	return out
}

// replaceUnknown sets every value at p in v that is not in known to
// Unknown.
func replaceUnknown(v any, p fieldPath, known []any) {
	if p[0] == "*" {
		items, _ := v.([]any)
		for i, item := range items {
			if len(p) > 1 {
				replaceUnknown(item, p[1:], known)
			} else if !isKnown(item, known) {
				items[i] = Unknown
			}
		}
		return
	}
	m, _ := v.(map[string]any)
	e, ok := m[p[0]]
	if !ok {
		return
	}
	if len(p) > 1 {
		replaceUnknown(e, p[1:], known)
		return
	}
	if !isKnown(e, known) {
		m[p[0]] = Unknown
	}
}

// isKnown reports whether v is one of the known values.
func isKnown(v any, known []any) bool {
	for _, k := range known {
		if sameValue(k, v) {
			return true
		}
	}
	return false
}

// sameValue compares two values of an object, numbers by value.
func sameValue(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok || bok {
		if !aok || !bok || len(as) != len(bs) {
			return false
		}
		for i := range as {
			if !sameValue(as[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return equalScalar(a, b)
}
