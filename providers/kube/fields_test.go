package kube

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
