package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestConditionStatus covers the readiness of a health check with a
// condition: only a True condition for the current generation is ready.
func TestConditionStatus(t *testing.T) {
	obj := func(gen int64, status map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka",
			"metadata": map[string]any{"name": "k", "generation": gen}}}
		if status != nil {
			u.Object["status"] = status
		}
		return u
	}
	cond := func(status string, extra ...any) map[string]any {
		c := map[string]any{"type": "Ready", "status": status}
		for i := 0; i+1 < len(extra); i += 2 {
			c[extra[i].(string)] = extra[i+1]
		}
		return c
	}
	tests := map[string]struct {
		u           *unstructured.Unstructured
		status, msg string
	}{
		"no status":            {obj(1, nil), "InProgress", "no Ready condition yet"},
		"other condition only": {obj(1, map[string]any{"conditions": []any{map[string]any{"type": "NotReady", "status": "True"}}}), "InProgress", "no Ready condition yet"},
		"ready false":          {obj(1, map[string]any{"conditions": []any{cond("False", "reason", "Creating", "message", "pods starting")}}), "InProgress", "Ready is False: Creating: pods starting"},
		"ready true":           {obj(1, map[string]any{"conditions": []any{cond("True")}}), "Current", "Ready is True"},
		"ready true, old generation": {obj(2, map[string]any{"observedGeneration": int64(1), "conditions": []any{cond("True")}}),
			"InProgress", "generation 2 not observed yet, status is of 1"},
		"condition of an old generation": {obj(2, map[string]any{"conditions": []any{cond("True", "observedGeneration", int64(1))}}),
			"InProgress", "Ready of generation 1, not 2 yet"},
		"ready true, generation observed": {obj(2, map[string]any{"observedGeneration": int64(2), "conditions": []any{cond("True", "observedGeneration", int64(2))}}),
			"Current", "Ready is True"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			st, msg := conditionStatus(tt.u, "Ready")
			if st != tt.status || msg != tt.msg {
				t.Errorf("conditionStatus = %q, %q; want %q, %q", st, msg, tt.status, tt.msg)
			}
		})
	}
}
