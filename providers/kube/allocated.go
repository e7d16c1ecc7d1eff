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

// allocatedFields lists, per kind, the fields the API server allocates when
// an object is written without a value for them. A dry run allocates too,
// but what it answers is a placeholder (a Service's cluster IP 10.0.0.0) or
// a value of its own (a Job's controller-uid labels carry the dry run's
// uid), never the value the real write gets. The server's bookkeeping
// (uid, resourceVersion, generation, creationTimestamp, managedFields,
// status) is not listed: normalize leaves it out of every plan. Generated
// names cannot occur: server-side apply needs a name.
var allocatedFields = map[schema.GroupKind][]fieldPath{
	{Kind: "Service"}: {
		{"spec", "clusterIP"},
		{"spec", "clusterIPs"},
		{"spec", "ports", "*", "nodePort"},
		{"spec", "healthCheckNodePort"},
	},
	{Group: "batch", Kind: "Job"}: {
		{"spec", "selector", "matchLabels", "controller-uid"},
		{"spec", "selector", "matchLabels", "batch.kubernetes.io/controller-uid"},
		{"spec", "template", "metadata", "labels", "controller-uid"},
		{"spec", "template", "metadata", "labels", "batch.kubernetes.io/controller-uid"},
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
	for _, p := range allocatedFields[after.GroupVersionKind().GroupKind()] {
		var known []any
		if desired != nil {
			known = collect(desired.Object, p, known)
		}
		if live != nil {
			known = collect(live.Object, p, known)
		}
		replaceUnknown(after.Object, p, known)
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
// Unknown. p does not end with "*".
func replaceUnknown(v any, p fieldPath, known []any) {
	if p[0] == "*" {
		items, _ := v.([]any)
		for _, item := range items {
			replaceUnknown(item, p[1:], known)
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
	for _, k := range known {
		if sameValue(k, e) {
			return
		}
	}
	m[p[0]] = Unknown
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
