package kube

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Compare returns what a change from live to after looks like in a plan:
// both objects normalised (no managedFields, resourceVersion, status…) and
// masked, and the field-level diff between them, masked. Either may be nil
// (a create or a delete). When after is a dry run's answer to the object
// desired, the fields the server allocates on the real write (a Service's
// cluster IP) and that neither desired nor live holds are Unknown; desired
// is nil when after is not a server's answer. providers/helm uses it for
// the objects of a release, whose dry runs are Helm's patches rather than
// server-side apply.
func Compare(live, after, desired *unstructured.Unstructured) (before, afterMasked *unstructured.Unstructured, fields []FieldDiff) {
	b, a := normalize(live), normalize(after)
	if desired != nil {
		markUnknown(a, desired, live)
	}
	var bm, am map[string]any
	if b != nil {
		bm = b.Object
	}
	if a != nil {
		am = a.Object
	}
	if b != nil && a != nil {
		fields = diffFields(bm, am)
		if isSecret(a) {
			maskFields(fields)
		}
	}
	return mask(b), mask(a), fields
}
