package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestFluxOwnerOf(t *testing.T) {
	obj := func(labels map[string]string, managers ...string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetLabels(labels)
		var mf []metav1.ManagedFieldsEntry
		for _, m := range managers {
			mf = append(mf, metav1.ManagedFieldsEntry{Manager: m, Operation: metav1.ManagedFieldsOperationApply})
		}
		u.SetManagedFields(mf)
		return u
	}
	tests := map[string]struct {
		obj  *unstructured.Unstructured
		want string
	}{
		"kustomization labels": {obj(map[string]string{FluxKustomizeName: "apps", FluxKustomizeNamespace: "flux-system"}, FluxKustomizeManager), "Kustomization flux-system/apps"},
		"helm release labels":  {obj(map[string]string{FluxHelmName: "web", FluxHelmNamespace: "apps"}), "HelmRelease apps/web"},
		"field manager only":   {obj(nil, "kubectl", FluxKustomizeManager), "field manager kustomize-controller"},
		"half a label":         {obj(map[string]string{FluxKustomizeName: "apps"}), ""},
		"not flux":             {obj(map[string]string{"app": "web"}, "kubectl"), ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if f := FluxOwnerOf(tt.obj); f != nil {
				got = f.String()
			}
			if got != tt.want {
				t.Errorf("FluxOwnerOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFluxEntriesToStrata(t *testing.T) {
	e := func(m string, op metav1.ManagedFieldsOperationType) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: m, Operation: op}
	}
	apply, update := metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate
	tests := map[string]struct {
		in, want []metav1.ManagedFieldsEntry
		changed  bool
	}{
		"apply entry handed over": {
			in:   []metav1.ManagedFieldsEntry{e("kubectl", update), e(FluxKustomizeManager, apply), e(FluxKustomizeManager, update)},
			want: []metav1.ManagedFieldsEntry{e("kubectl", update), e(FieldManager, apply)}, changed: true},
		"strata has its own": {
			in:   []metav1.ManagedFieldsEntry{e(FieldManager, apply), e(FluxKustomizeManager, apply)},
			want: []metav1.ManagedFieldsEntry{e(FieldManager, apply)}, changed: true},
		"only updates: cleared": {
			in: []metav1.ManagedFieldsEntry{e(FluxHelmManager, update)}, want: []metav1.ManagedFieldsEntry{{}}, changed: true},
		"no flux": {
			in: []metav1.ManagedFieldsEntry{e("kubectl", update)}, want: []metav1.ManagedFieldsEntry{e("kubectl", update)}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, changed := fluxEntriesToStrata(tt.in)
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("entries (-want +got):\n%s", d)
			}
		})
	}
}
