package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FieldSets returns the field sets (managedFields fieldsV1, decoded) of the
// server-side apply entries of manager FieldManager, and a hash of them
// that does not depend on how the server orders their keys. The hash is ""
// when strata manages no field of the object.
//
// Right after an apply with force, strata owns every field it applied, and
// server-side apply moves a field away from strata when anyone else changes
// its value (or removes it). An unchanged hash therefore means that nobody
// changed a field strata applied, whatever else happened to the object.
func FieldSets(entries []metav1.ManagedFieldsEntry) ([]map[string]any, string) {
	var sets []map[string]any
	h := sha256.New()
	for _, mf := range entries {
		if mf.Manager != FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil {
			continue
		}
		var fs map[string]any
		if err := json.Unmarshal(mf.FieldsV1.Raw, &fs); err != nil {
			continue
		}
		canon, err := json.Marshal(fs) // sorted keys
		if err != nil {
			continue
		}
		sets = append(sets, fs)
		h.Write([]byte(mf.Subresource))
		h.Write([]byte{0})
		h.Write(canon)
		h.Write([]byte{0})
	}
	if len(sets) == 0 {
		return nil, ""
	}
	return sets, hex.EncodeToString(h.Sum(nil))
}
