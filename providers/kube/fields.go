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
		fs, canon, ok := decodeFieldsV1(mf.FieldsV1.Raw)
		if !ok {
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

// decodeFieldsV1 decodes a fieldsV1 set and returns it with its canonical
// encoding (json.Marshal's: keys sorted, no space), which the hash of
// FieldSets covers. The API server writes the sets in that form already:
// for those the set is read in one pass and the raw bytes are the
// canonical encoding (decoding every set with encoding/json and encoding it
// again made up a quarter of the CPU time of a drift check of 50,000
// objects); anything else (spaces, keys out of order, other escapes or
// values) takes encoding/json's way, with the same result.
func decodeFieldsV1(raw []byte) (map[string]any, []byte, bool) {
	if fs, ok := scanCanonicalSet(raw); ok {
		return fs, raw, true
	}
	var fs map[string]any
	if err := json.Unmarshal(raw, &fs); err != nil {
		return nil, nil, false
	}
	canon, err := json.Marshal(fs) // sorted keys
	if err != nil {
		return nil, nil, false
	}
	return fs, canon, true
}

// scanCanonicalSet decodes raw if it is a field set in canonical form: an
// object whose keys are strings in strictly increasing order and whose
// values are such objects, without spaces, with no escape in the keys but
// \" and \\ and no byte that json.Marshal would escape or that is not
// ASCII. It reports false for anything else. The keys share one copy of
// raw.
func scanCanonicalSet(raw []byte) (map[string]any, bool) {
	m, rest, ok := scanSetObject(string(raw))
	return m, ok && len(rest) == 0
}

// scanSetObject decodes the canonical set object at the start of b (see
// scanCanonicalSet) and returns it with the text after it.
func scanSetObject(b string) (map[string]any, string, bool) {
	if len(b) < 2 || b[0] != '{' {
		return nil, "", false
	}
	b = b[1:]
	m := map[string]any{}
	if b[0] == '}' {
		return m, b[1:], true
	}
	prev := ""
	for first := true; ; first = false {
		key, rest, ok := scanSetKey(b)
		if !ok || (!first && key <= prev) || len(rest) == 0 || rest[0] != ':' {
			return nil, "", false
		}
		v, rest, ok := scanSetObject(rest[1:])
		if !ok || len(rest) == 0 {
			return nil, "", false
		}
		m[key], prev = v, key
		switch rest[0] {
		case ',':
			b = rest[1:]
		case '}':
			return m, rest[1:], true
		default:
			return nil, "", false
		}
	}
}

// scanSetKey decodes the key at the start of b (see scanCanonicalSet) and
// returns it with the text after it.
func scanSetKey(b string) (string, string, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", "", false
	}
	escaped := false
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			if !escaped {
				return b[1:i], b[i+1:], true
			}
			return unescapeSetKey(b[1:i]), b[i+1:], true
		case c == '\\':
			if i+1 >= len(b) || (b[i+1] != '"' && b[i+1] != '\\') {
				return "", "", false
			}
			escaped = true
			i++
		case c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&':
			return "", "", false
		}
	}
	return "", "", false
}

// unescapeSetKey returns the key of b, whose only escapes are \" and \\.
func unescapeSetKey(b string) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' {
			i++
		}
		out = append(out, b[i])
	}
	return string(out)
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
