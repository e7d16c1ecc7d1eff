package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// fakeApplyServer returns a rest.Config for a server that serves the
// discovery of ConfigMaps and answers every apply with answer, and the
// query of the last apply.
func fakeApplyServer(t *testing.T, answer []byte) (*rest.Config, *string) {
	t.Helper()
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api":
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case r.URL.Path == "/apis":
			fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
		case r.URL.Path == "/api/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["get","list","patch"]}]}`)
		case r.Method == http.MethodPatch && r.URL.Path == "/api/v1/namespaces/ns/configmaps/big":
			query = r.URL.RawQuery
			_, _ = w.Write(answer)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}, &query
}

// TestApplyDecodesOnlyWhatItRecords checks that the apply of an object
// sends strata's server-side apply and records the identity and the field
// set of the answer, without decoding the rest of it: it allocates less
// than decoding the answer into an object alone (the dynamic client's
// Apply did that for every object written).
func TestApplyDecodesOnlyWhatItRecords(t *testing.T) {
	data := map[string]any{}
	for i := range 500 {
		data[fmt.Sprintf("key-%d", i)] = fmt.Sprintf("value-%d", i)
	}
	fields := map[string]any{"f:data": map[string]any{"f:key-0": map[string]any{}}}
	raw, _ := json.Marshal(fields)
	answer, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big", "namespace": "ns", "uid": "u-1", "resourceVersion": "42",
			"managedFields": []any{map[string]any{"manager": FieldManager, "operation": "Apply", "apiVersion": "v1",
				"fieldsType": "FieldsV1", "fieldsV1": json.RawMessage(raw)}}},
		"data": data,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, query := fakeApplyServer(t, answer)
	m, err := NewManager(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	desired := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big", "namespace": "ns"}, "data": map[string]any{"key-0": "value-0"}}}
	c := Change{Ref: RefOf(desired), Action: ActionCreate, Desired: desired}
	opts := ApplyOptions{Stack: "s", StackID: "id", Block: "kustomization.k"}
	ctx := context.Background()
	got, err := m.applyOne(ctx, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, wantFields := FieldSets([]metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: raw}}})
	if got.Ref != c.Ref || got.UID != "u-1" || got.ResourceVersion != "42" || got.FieldsHash != wantFields || got.Digest == "" {
		t.Errorf("applied %+v, want %s uid u-1 resourceVersion 42 fields %s", got, c.Ref, wantFields)
	}
	if q, _ := url.ParseQuery(*query); q.Get("fieldManager") != FieldManager || q.Get("force") != "true" || q.Has("dryRun") {
		t.Errorf("query %q, want fieldManager=strata and force=true", *query)
	}

	apply := testing.AllocsPerRun(20, func() {
		if _, err := m.applyOne(ctx, c, opts); err != nil {
			t.Fatal(err)
		}
	})
	decode := testing.AllocsPerRun(20, func() {
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(answer); err != nil {
			t.Fatal(err)
		}
	})
	if apply >= decode {
		t.Errorf("an apply allocated %.0f times, decoding its answer alone %.0f: the answer is decoded whole", apply, decode)
	}
}
