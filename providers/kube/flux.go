package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// Flux's marks on the objects it manages: the labels kustomize-controller
// and helm-controller put on every object they apply, and their field
// managers.
const (
	FluxKustomizeName      = "kustomize.toolkit.fluxcd.io/name"
	FluxKustomizeNamespace = "kustomize.toolkit.fluxcd.io/namespace"
	FluxHelmName           = "helm.toolkit.fluxcd.io/name"
	FluxHelmNamespace      = "helm.toolkit.fluxcd.io/namespace"
	FluxKustomizeManager   = "kustomize-controller"
	FluxHelmManager        = "helm-controller"
)

// FluxOwner names the Flux object that manages a live object.
type FluxOwner struct {
	// Kind is "Kustomization" or "HelmRelease"; Namespace and Name
	// identify it. They are empty when only a field manager shows Flux.
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Managers are Flux's field managers in the object's managedFields.
	Managers []string `json:"managers,omitempty"`
}

// String names the owner: "Kustomization flux-system/apps", or the field
// managers when no labels say which Flux object it is.
func (f *FluxOwner) String() string {
	if f.Name != "" {
		return f.Kind + " " + f.Namespace + "/" + f.Name
	}
	return "field manager " + strings.Join(f.Managers, ", ")
}

// FluxOwnerOf returns the Flux object that manages live, from its labels
// and managedFields, or nil when Flux does not manage it.
func FluxOwnerOf(live *unstructured.Unstructured) *FluxOwner {
	f := &FluxOwner{}
	l := live.GetLabels()
	switch {
	case l[FluxKustomizeName] != "" && l[FluxKustomizeNamespace] != "":
		f.Kind, f.Name, f.Namespace = "Kustomization", l[FluxKustomizeName], l[FluxKustomizeNamespace]
	case l[FluxHelmName] != "" && l[FluxHelmNamespace] != "":
		f.Kind, f.Name, f.Namespace = "HelmRelease", l[FluxHelmName], l[FluxHelmNamespace]
	}
	for _, mf := range live.GetManagedFields() {
		if isFluxManager(mf.Manager) && !slices.Contains(f.Managers, mf.Manager) {
			f.Managers = append(f.Managers, mf.Manager)
		}
	}
	if f.Name == "" && len(f.Managers) == 0 {
		return nil
	}
	return f
}

func isFluxManager(m string) bool { return m == FluxKustomizeManager || m == FluxHelmManager }

// fluxApplyManager returns the field manager of Flux's server-side apply
// entry of live, "" when it has none.
func fluxApplyManager(live *unstructured.Unstructured) string {
	for _, mf := range live.GetManagedFields() {
		if isFluxManager(mf.Manager) && mf.Operation == metav1.ManagedFieldsOperationApply {
			return mf.Manager
		}
	}
	return ""
}

// takeOverFromFlux hands the fields Flux's managers own on the live object
// to strata: Flux's server-side apply entry becomes strata's (so strata's
// apply that follows removes what Flux set and strata does not, its labels
// included) and its update entries are dropped. The write is conditional
// on the resourceVersion read (or, when set, the expected one), so a
// concurrent change fails it. It returns the object's resourceVersion
// after the write.
func takeOverFromFlux(ctx context.Context, ri dynamic.ResourceInterface, name, expected string) (string, error) {
	live, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if expected != "" && live.GetResourceVersion() != expected {
		return "", fmt.Errorf("%w: it changed since the plan", ErrStale)
	}
	entries, changed := fluxEntriesToStrata(live.GetManagedFields())
	if !changed {
		return live.GetResourceVersion(), nil
	}
	live.SetManagedFields(entries)
	got, err := ri.Update(ctx, live, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return "", fmt.Errorf("take over the fields of Flux's managers: %w", err)
	}
	return got.GetResourceVersion(), nil
}

// fluxEntriesToStrata rewrites managedFields entries: Flux's apply entry
// becomes strata's (unless strata has one already, then it is dropped),
// Flux's update entries are dropped.
func fluxEntriesToStrata(in []metav1.ManagedFieldsEntry) ([]metav1.ManagedFieldsEntry, bool) {
	hasOwn := slices.ContainsFunc(in, func(mf metav1.ManagedFieldsEntry) bool {
		return mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply
	})
	var out []metav1.ManagedFieldsEntry
	changed := false
	for _, mf := range in {
		if !isFluxManager(mf.Manager) {
			out = append(out, mf)
			continue
		}
		changed = true
		if mf.Operation == metav1.ManagedFieldsOperationApply && !hasOwn && mf.Subresource == "" {
			mf.Manager, hasOwn = FieldManager, true
			out = append(out, mf)
		}
	}
	if changed && len(out) == 0 {
		// An empty list leaves managedFields alone; one empty entry
		// clears them.
		out = []metav1.ManagedFieldsEntry{{}}
	}
	return out, changed
}
