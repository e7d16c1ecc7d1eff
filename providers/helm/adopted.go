package helm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	strkube "github.com/strata-gitops/strata/providers/kube"
)

// AdoptedObject is an existing object that the plan showed as adopted by
// the release (ReleaseSpec.TakeOwnership), with who claimed it when the
// plan was made. Apply refuses the plan when the object was replaced or
// claimed by someone else since: Helm's take-ownership would take it
// whoever claims it.
type AdoptedObject struct {
	Ref strkube.ObjectRef `json:"ref"`
	// UID is the live object's uid when planned.
	UID string `json:"uid,omitempty"`
	// Claim is ClaimOf the live object when planned.
	Claim string `json:"claim,omitempty"`
}

// claimKeys are the labels and annotations by which a Helm release, a
// strata block or a Flux object claims an object.
var claimKeys = []string{
	strkube.HelmReleaseNameAnnotation, strkube.HelmReleaseNSAnnotation, strkube.HelmManagedByLabel,
	strkube.LabelStack, strkube.LabelStackID, strkube.LabelBlock,
	strkube.FluxKustomizeName, strkube.FluxKustomizeNamespace, strkube.FluxHelmName, strkube.FluxHelmNamespace,
}

// ClaimOf describes who claims u: its ownership labels and annotations
// (Helm's, strata's, Flux's) and its controller, as "key=value" pairs in a
// stable order; "" when nothing claims it.
func ClaimOf(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	labels, ann := u.GetLabels(), u.GetAnnotations()
	var parts []string
	for _, k := range claimKeys {
		if v, ok := labels[k]; ok {
			parts = append(parts, k+"="+v)
		} else if v, ok := ann[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if c := metav1.GetControllerOfNoCopy(u); c != nil {
		parts = append(parts, "controller="+c.Kind+"/"+c.Name)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// describeClaim is a claim for people.
func describeClaim(claim string) string {
	if claim == "" {
		return "unclaimed"
	}
	return "claimed by " + claim
}

// checkAdopted refuses to take ownership of an adopted object that was
// replaced, or that someone else claimed, since the plan (ErrStalePlan).
// An adopted object that is gone is created as any other.
func (m *Manager) checkAdopted(ctx context.Context, p *ReleasePlan) error {
	for _, a := range p.Spec.Adopted {
		live, err := m.getObject(ctx, a.Ref)
		if err != nil {
			return fmt.Errorf("release %s/%s: read adopted %s: %w", p.Namespace, p.Name, a.Ref, err)
		}
		if live == nil {
			continue
		}
		now := ClaimOf(live)
		switch {
		case string(live.GetUID()) != a.UID:
			return fmt.Errorf("release %s/%s: %s, which the plan adopts, was deleted and created again: %w",
				p.Namespace, p.Name, a.Ref, ErrStalePlan)
		case now != a.Claim:
			return fmt.Errorf("release %s/%s: %s, which the plan adopts, was %s when planned and is now %s, and strata does not take it over: %w",
				p.Namespace, p.Name, a.Ref, describeClaim(a.Claim), describeClaim(now), ErrStalePlan)
		}
	}
	return nil
}

// getObject reads the live object of ref; nil when it does not exist.
func (m *Manager) getObject(ctx context.Context, ref strkube.ObjectRef) (*unstructured.Unstructured, error) {
	mp, err := m.mapper.RESTMapping(schema.GroupKind{Group: ref.Group, Kind: ref.Kind}, ref.Version)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ri := m.dyn.Resource(mp.Resource)
	var u *unstructured.Unstructured
	if mp.Scope.Name() == meta.RESTScopeNameNamespace {
		u, err = ri.Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	} else {
		u, err = ri.Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}
