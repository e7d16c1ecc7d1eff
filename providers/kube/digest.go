package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/internal/jsonvalue"
)

// SetDigest records Digest of the object's configuration (ownership labels
// and namespace included, the annotation itself excluded) in
// AnnotationDigest, as Diff and Apply do; Secrets get none. It is
// idempotent.
func SetDigest(obj *unstructured.Unstructured) {
	if isSecret(obj) {
		return
	}
	a := obj.GetAnnotations()
	delete(a, AnnotationDigest)
	if len(a) == 0 {
		a = nil // no annotations: not an empty map, which digests differently
	}
	obj.SetAnnotations(a)
	d := Digest(obj)
	if a == nil {
		a = make(map[string]string, 1)
	}
	a[AnnotationDigest] = d
	obj.SetAnnotations(a)
}

// unchanged reports whether applying desired to live cannot change live:
// live was last applied from this very configuration (same digest, so no
// field strata set before has been dropped since) and holds every value of
// it (so nobody changed a field strata sets). Anything else, including
// values the server would normalise, goes to a dry run.
func unchanged(desired, live *unstructured.Unstructured) bool {
	d := desired.GetAnnotations()[AnnotationDigest]
	if d == "" || live.GetAnnotations()[AnnotationDigest] != d {
		return false
	}
	return contains(live.Object, desired.Object)
}

// contains reports whether every value of want is in have: maps by key,
// lists of named maps by name (live may have more items: other managers'),
// other lists item by item with the same length.
func contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok || !contains(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return false
		}
		hn, _, hok := names(h)
		_, wn, wok := names(w)
		if hok && wok {
			for i, name := range wn {
				j, ok := hn[name]
				if !ok || !contains(h[j], w[i]) {
					return false
				}
			}
			return true
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !contains(h[i], w[i]) {
				return false
			}
		}
		return true
	}
	return equalScalar(have, want)
}

// Digest returns "sha256:<hex>" of the canonical JSON of obj. Two objects with
// the same content have the same digest; the digest does not reveal values.
func Digest(obj *unstructured.Unstructured) string {
	// encoding/json sorts map keys: the encoding is canonical (jsonvalue
	// writes the same bytes, faster).
	b, err := jsonvalue.Marshal(obj.Object)
	if err != nil {
		return ""
	}
	return digestOf(b)
}

// digestOf returns the Digest of an object whose JSON is b.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// LiveDigest returns a digest of what live holds apart from what the server
// and controllers change without a change of configuration (status,
// resourceVersion, generation, the times in managedFields): two reads of
// an object with the same LiveDigest differ only there. Field ownership
// (outside the status subresource) is part of it, since it decides what a
// server-side apply removes. It is "" for Secrets, whose values must not be
// hashed into plans.
func LiveDigest(live *unstructured.Unstructured) string {
	if live == nil {
		return ""
	}
	return liveDigest(live, normalize(live))
}

// liveDigest is LiveDigest with normalize(live) already at hand.
func liveDigest(live, n *unstructured.Unstructured) string {
	if isSecret(live) {
		return ""
	}
	type owner struct {
		Manager, Operation, Subresource, APIVersion string
		Fields                                      any
	}
	var owners []owner
	for _, mf := range live.GetManagedFields() {
		if mf.Subresource == "status" {
			continue
		}
		o := owner{Manager: mf.Manager, Operation: string(mf.Operation), Subresource: mf.Subresource, APIVersion: mf.APIVersion}
		if mf.FieldsV1 != nil {
			_ = json.Unmarshal(mf.FieldsV1.Raw, &o.Fields)
		}
		owners = append(owners, o)
	}
	sort.Slice(owners, func(i, j int) bool {
		a, b := owners[i], owners[j]
		return a.Manager+"\x00"+a.Operation+"\x00"+a.Subresource < b.Manager+"\x00"+b.Operation+"\x00"+b.Subresource
	})
	b, err := json.Marshal(struct {
		Object map[string]any
		Owners []owner
	}{n.Object, owners})
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
