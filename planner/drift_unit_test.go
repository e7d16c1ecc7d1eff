package planner

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-gitops/strata/providers/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
			sets, hash := kube.FieldSets([]metav1.ManagedFieldsEntry{{Manager: "strata", Operation: op, FieldsV1: &metav1.FieldsV1{Raw: raw}}})
			if got := ownsAll(sets, desired); got != tt.want {
				t.Errorf("ownsAll = %v, want %v", got, tt.want)
			}
			if (hash == "") != (op != metav1.ManagedFieldsOperationApply) {
				t.Errorf("hash %q for operation %s", hash, op)
			}
		})
	}
}

func TestChangedPaths(t *testing.T) {
	a := map[string]any{"replicaCount": 1.0, "image": map[string]any{"tag": "1"}, "gone": true}
	b := map[string]any{"replicaCount": 2.0, "image": map[string]any{"tag": "1", "pull": "x"}, "new": 1.0}
	want := []string{"values.gone", "values.image.pull", "values.new", "values.replicaCount"}
	if d := cmp.Diff(want, changedPaths("values", a, b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := changedPaths("values", nil, map[string]any{}); len(got) != 0 {
		t.Errorf("nil vs empty: %v", got)
	}
}
