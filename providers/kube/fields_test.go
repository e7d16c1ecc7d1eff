package kube

import (
	"encoding/json"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestFieldSetsHash(t *testing.T) {
	entry := func(manager string, op metav1.ManagedFieldsOperationType, raw string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, FieldsV1: &metav1.FieldsV1{Raw: []byte(raw)}}
	}
	a := `{"f:data":{".":{},"f:mode":{}},"f:metadata":{"f:labels":{"f:tier":{}}}}`
	reordered := `{"f:metadata":{"f:labels":{"f:tier":{}}},"f:data":{"f:mode":{},".":{}}}`
	less := `{"f:data":{".":{}},"f:metadata":{"f:labels":{"f:tier":{}}}}`

	sets, h1 := FieldSets([]metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, a)})
	if len(sets) != 1 || h1 == "" {
		t.Fatalf("FieldSets = %v, %q", sets, h1)
	}
	// Other managers and strata's non-apply entries do not count.
	_, h2 := FieldSets([]metav1.ManagedFieldsEntry{
		entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, less),
		entry(FieldManager, metav1.ManagedFieldsOperationApply, reordered),
		entry(FieldManager, metav1.ManagedFieldsOperationUpdate, less),
	})
	if h2 != h1 {
		t.Errorf("same fields in another key order, with other entries: hash %q, want %q", h2, h1)
	}
	if _, h3 := FieldSets([]metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, less)}); h3 == h1 {
		t.Error("a field lost does not change the hash")
	}
	if sets, h := FieldSets([]metav1.ManagedFieldsEntry{entry("kubectl", metav1.ManagedFieldsOperationApply, a)}); sets != nil || h != "" {
		t.Errorf("no strata entry: %v, %q", sets, h)
	}
}

func TestLiveDigest(t *testing.T) {
	obj := func(mutate func(u map[string]any)) *unstructured.Unstructured {
		u := map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "a", "resourceVersion": "7", "generation": int64(2),
				"managedFields": []any{
					map[string]any{"manager": "strata", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-11-26T10:00:00Z",
						"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:spec": map[string]any{"f:replicas": map[string]any{}}}},
					map[string]any{"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "apiVersion": "apps/v1",
						"time": "2026-11-26T10:00:01Z", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:status": map[string]any{}}},
				}},
			"spec":   map[string]any{"replicas": int64(2)},
			"status": map[string]any{"replicas": int64(1)},
		}
		if mutate != nil {
			mutate(u)
		}
		return &unstructured.Unstructured{Object: u}
	}
	base := LiveDigest(obj(nil))
	if base == "" {
		t.Fatal("no digest")
	}
	same := obj(func(u map[string]any) {
		md := u["metadata"].(map[string]any)
		md["resourceVersion"], md["generation"] = "9", int64(3)
		u["status"] = map[string]any{"replicas": int64(2)}
		mf := md["managedFields"].([]any)
		mf[0].(map[string]any)["time"] = "2026-11-26T11:00:00Z"
		mf[1].(map[string]any)["fieldsV1"] = map[string]any{"f:status": map[string]any{"f:replicas": map[string]any{}}}
	})
	if got := LiveDigest(same); got != base {
		t.Error("status, resourceVersion, generation or managedFields times changed the digest")
	}
	for name, mutate := range map[string]func(u map[string]any){
		"spec": func(u map[string]any) { u["spec"] = map[string]any{"replicas": int64(3)} },
		"ownership": func(u map[string]any) {
			mf := u["metadata"].(map[string]any)["managedFields"].([]any)
			mf[0].(map[string]any)["manager"] = "kubectl"
		},
	} {
		if LiveDigest(obj(mutate)) == base {
			t.Errorf("a change of %s kept the digest", name)
		}
	}
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}, "data": map[string]any{"k": "dg=="}}}
	if LiveDigest(secret) != "" {
		t.Error("a Secret has a digest")
	}
}

func TestOwnsAll(t *testing.T) {
	desired := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "a", "labels": map[string]any{"app": "web"}},
		"spec": map[string]any{
			"replicas": int64(1),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
				"name": "web", "image": "nginx", "ports": []any{map[string]any{"containerPort": int64(80)}},
				"args": []any{"a", "b"},
			}}}},
		},
	}
	full := `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},
	  "f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:name":{},"f:image":{},"f:args":{},
	  "f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`
	tests := map[string]struct {
		fields string
		op     metav1.ManagedFieldsOperationType
		want   bool
	}{
		"owns everything":             {fields: full, want: true},
		"replicas taken by a scale":   {fields: `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{},"f:template":{}}}`},
		"image taken":                 {fields: `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{"f:name":{},"f:args":{},"f:ports":{}}}}}}}`},
		"container key of other":      {fields: `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"other\"}":{"f:name":{}}}}}}}`},
		"label taken":                 {fields: `{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{}}}`},
		"an update entry is not ours": {fields: full, op: metav1.ManagedFieldsOperationUpdate},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			op := tt.op
			if op == "" {
				op = metav1.ManagedFieldsOperationApply
			}
			var raw json.RawMessage
			if err := json.Unmarshal([]byte(tt.fields), &raw); err != nil {
				t.Fatal(err)
			}
			sets, hash := FieldSets([]metav1.ManagedFieldsEntry{{Manager: "strata", Operation: op, FieldsV1: &metav1.FieldsV1{Raw: raw}}})
			if got := OwnsAll(sets, desired); got != tt.want {
				t.Errorf("OwnsAll = %v, want %v", got, tt.want)
			}
			if (hash == "") != (op != metav1.ManagedFieldsOperationApply) {
				t.Errorf("hash %q for operation %s", hash, op)
			}
		})
	}
}

// deploymentFieldsV1 is the field set the API server records for strata's
// apply of a Deployment, in its own (canonical) form.
const deploymentFieldsV1 = `{"f:metadata":{"f:annotations":{"f:strata.dev/digest":{}},"f:labels":{"f:strata.dev/block":{},"f:strata.dev/stack":{},"f:strata.dev/stack-id":{}}},` +
	`"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},` +
	`"f:env":{"k:{\"name\":\"INDEX\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`

// fieldSetsByEncodingJSON is what FieldSets did with every set: decode it
// with encoding/json and hash json.Marshal's encoding of it.
func fieldSetsByEncodingJSON(raw []byte) (map[string]any, []byte, bool) {
	var fs map[string]any
	if err := json.Unmarshal(raw, &fs); err != nil {
		return nil, nil, false
	}
	canon, err := json.Marshal(fs)
	return fs, canon, err == nil
}

// TestDecodeFieldsV1MatchesEncodingJSON: the one-pass read of a field set
// in the server's canonical form gives the set and the canonical bytes
// that encoding/json gives (so that the hashes recorded in states stay
// the same), and every other form, valid or not, gives encoding/json's
// result too.
func TestDecodeFieldsV1MatchesEncodingJSON(t *testing.T) {
	cases := []string{
		deploymentFieldsV1,
		`{}`,
		`{"f:data":{".":{},"f:mode":{}}}`,
		`{"f:metadata":{"f:labels":{"f:tier":{}}},"f:data":{"f:mode":{},".":{}}}`, // keys out of order
		`{"f:data":{".":{},".":{}}}`,                                              // a duplicate key
		`{"f:data": {".":{}}}`,                                                    // a space
		`{"f:a":{},"f:a\"b":{},"f:a\\b":{}}`,                                      // escaped keys, in order of the decoded keys
		`{"f:a\\b":{},"f:a\"b":{}}`,                                               // escaped keys out of order
		`{"f:a\u0062":{}}`,                                                        // another escape
		`{"f:a\/b":{}}`,                                                           // an escaped slash
		`{"f:<x>&":{}}`,                                                           // bytes json.Marshal escapes
		`{"f:é":{},"f:z":{}}`,                                                     // not ASCII
		`{"f:a":1}`,                                                               // a value that is not a set
		`{"f:a":{"f:b":[]}}`,                                                      // an array
		`{"f:a":{}}x`,                                                             // trailing bytes
		`{"f:a":{}`, `{"f:a"`, `{"f:a":`, `{`, `"f:a"`, ``, `null`, `{"f:a":{},}`, // broken
	}
	for _, raw := range cases {
		fs, canon, ok := decodeFieldsV1([]byte(raw))
		wantFS, wantCanon, wantOK := fieldSetsByEncodingJSON([]byte(raw))
		if ok != wantOK || !reflect.DeepEqual(fs, wantFS) || string(canon) != string(wantCanon) {
			t.Errorf("%s: got %v %s %v, want %v %s %v", raw, fs, canon, ok, wantFS, wantCanon, wantOK)
		}
	}
}

// TestFieldSetsAllocations: the field set of a Deployment, as the server
// writes it, is read in one pass (a drift check reads one per object; it
// was decoded by encoding/json and encoded again: 212 allocations, 54 now).
func TestFieldSetsAllocations(t *testing.T) {
	entries := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply,
		FieldsV1: &metav1.FieldsV1{Raw: []byte(deploymentFieldsV1)}}}
	allocs := testing.AllocsPerRun(100, func() { FieldSets(entries) })
	if allocs > 70 {
		t.Errorf("FieldSets of a Deployment's set: %.0f allocations, want at most 70", allocs)
	}
}

func BenchmarkFieldSets(b *testing.B) {
	entries := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply,
		FieldsV1: &metav1.FieldsV1{Raw: []byte(deploymentFieldsV1)}}}
	b.ReportAllocs()
	for b.Loop() {
		FieldSets(entries)
	}
}
