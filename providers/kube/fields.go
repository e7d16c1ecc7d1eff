package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"

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

// OwnsAll reports whether the field manager "strata", whose field sets
// FieldSets returned, owns every field the desired object sets. Server-side
// apply gives the ownership of a field to whoever changes its value last
// (and drops removed fields), so a field strata applied and no longer owns
// was changed or removed by someone else. It errs on the side of false (a
// dry run then decides).
func OwnsAll(sets []map[string]any, desired map[string]any) bool {
	if len(sets) == 0 {
		return false
	}
	for k, v := range desired {
		switch k {
		case "apiVersion", "kind", "status":
			continue
		case "metadata":
			md, ok := v.(map[string]any)
			if !ok {
				return false
			}
			for mk, mv := range md {
				switch mk {
				case "name", "namespace", "creationTimestamp", "resourceVersion", "uid", "generation", "managedFields":
					continue
				}
				if !ownedIn(sets, "metadata", mk, mv) {
					return false
				}
			}
			continue
		}
		if !ownedIn(sets, "", k, v) {
			return false
		}
	}
	return true
}

// ownedIn checks one top-level field against every strata field set.
func ownedIn(sets []map[string]any, parent, key string, v any) bool {
	for _, fs := range sets {
		if parent != "" {
			p, ok := fs["f:"+parent].(map[string]any)
			if !ok {
				continue
			}
			fs = p
		}
		if ownsValue(fs, key, v) {
			return true
		}
	}
	return false
}

// ownsValue reports whether the field set fs (a fieldsV1 map) covers the
// field key with the desired value v.
func ownsValue(fs map[string]any, key string, v any) bool {
	if v == nil {
		return true
	}
	child, ok := fs["f:"+key].(map[string]any)
	if !ok {
		return false
	}
	if len(child) == 0 {
		return true // a leaf: a scalar, or an atomic map or list owned whole
	}
	switch v := v.(type) {
	case map[string]any:
		for k, cv := range v {
			if !ownsValue(child, k, cv) {
				return false
			}
		}
	case []any:
		return ownsList(child, v)
	}
	return true
}

// ownsList covers the items of a list: associative lists have "k:{...}"
// keys, sets "v:..." keys, atomic lists none (owned as a whole).
func ownsList(fs map[string]any, items []any) bool {
	type assoc struct {
		keys map[string]any
		set  map[string]any
	}
	var kk []assoc
	hasV := false
	for k, v := range fs {
		switch {
		case strings.HasPrefix(k, "k:"):
			var keys map[string]any
			if err := json.Unmarshal([]byte(k[2:]), &keys); err != nil {
				return false
			}
			set, _ := v.(map[string]any)
			kk = append(kk, assoc{keys, set})
		case strings.HasPrefix(k, "v:"):
			hasV = true
		case strings.HasPrefix(k, "i:"):
			return false // granular index keys: let the dry run decide
		}
	}
	if len(kk) == 0 && !hasV {
		return true // atomic
	}
	for _, it := range items {
		switch it := it.(type) {
		case map[string]any:
			found := false
			for _, a := range kk {
				if matchKeys(a.keys, it) {
					found = true
					for k, cv := range it {
						if !ownsValue(a.set, k, cv) {
							return false
						}
					}
					break
				}
			}
			if !found {
				return false
			}
		default:
			b, err := json.Marshal(it)
			if err != nil {
				return false
			}
			if _, ok := fs["v:"+string(b)]; !ok {
				return false
			}
		}
	}
	return true
}

// matchKeys reports whether the item has the key values of an associative
// list entry. Keys the item leaves out (defaulted by the server, such as a
// port's protocol) are ignored; at least one key must match.
func matchKeys(keys map[string]any, item map[string]any) bool {
	n := 0
	for k, kv := range keys {
		iv, ok := item[k]
		if !ok {
			continue
		}
		if !scalarEqual(kv, iv) {
			return false
		}
		n++
	}
	return n > 0
}

func scalarEqual(a, b any) bool {
	fa, aok := toFloat(a)
	fb, bok := toFloat(b)
	if aok && bok {
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
