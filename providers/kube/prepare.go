package kube

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Prepare adds to a rendered object, in place, what Diff and Apply add:
// the ownership labels of o, the namespace ("default" for a
// namespaced object without one, none for a cluster-scoped object) and
// the digest annotation (see SetDigest), so that Digest of the result is
// the digest the state records. It returns the object's REST mapping; on
// a mapping error (meta.IsNoMatchError for a kind not served yet) the
// namespace is left as it is and the digest is still set.
func (m *Manager) Prepare(ctx context.Context, obj *unstructured.Unstructured, o Owner) (*meta.RESTMapping, error) {
	SetOwner([]*unstructured.Unstructured{obj}, o)
	mp, err := m.Mapping(ctx, obj.GroupVersionKind())
	if err == nil {
		if mp.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(metav1.NamespaceDefault)
			}
		} else {
			obj.SetNamespace("")
		}
	}
	// After the namespace is settled: Apply computes it again.
	SetDigest(obj)
	return mp, err
}

// prepare copies the objects (unless inPlace: see DiffOptions.InPlace),
// prepares them (Prepare) and resolves their resources. Objects of a kind not served yet are placed by the scope of
// their planned CRD, if any. Any other discovery error ends it at once,
// naming the first object: discovery is the cluster's, so every further
// object would ask the API server again and fail the same way (a stack of
// 400 objects printed the unreachable server's error 400 times).
func (m *Manager) prepare(ctx context.Context, objs []*unstructured.Unstructured, owner Owner,
	defs map[schema.GroupKind]*crdSchema, inPlace bool) ([]*target, error) {
	ts := make([]*target, 0, len(objs))
	seen := make(map[key]bool, len(objs))
	var errs []error
	for _, o := range objs {
		obj := o
		if !inPlace {
			obj = o.DeepCopy()
		}
		mp, err := m.Prepare(ctx, obj, owner)
		t := &target{obj: obj}
		switch {
		case err == nil:
			t.mapping = mp
			if mp.Scope.Name() == meta.RESTScopeNameNamespace {
				t.ri = m.dyn.Resource(mp.Resource).Namespace(obj.GetNamespace())
			} else {
				t.ri = m.dyn.Resource(mp.Resource)
			}
		case meta.IsNoMatchError(err):
			// Resolved later: the CRD may be planned first.
			if def, ok := defs[obj.GroupVersionKind().GroupKind()]; ok {
				def.placeIn(obj)
				SetDigest(obj)
			}
		default:
			return nil, &ObjectError{Ref: RefOf(obj), Op: "discovery", Err: err}
		}
		t.ref = RefOf(obj)
		if seen[keyOf(t.ref)] {
			errs = append(errs, fmt.Errorf("%s: rendered twice", t.ref))
			continue
		}
		seen[keyOf(t.ref)] = true
		ts = append(ts, t)
	}
	return ts, errors.Join(errs...)
}
