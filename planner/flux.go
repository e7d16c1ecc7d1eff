package planner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// ErrFluxManaged is wrapped by Apply when the plan adopts objects or
// releases from a Flux Kustomization or HelmRelease that is still active
// (not suspended) and ApplyOptions.AllowFluxManaged is not set.
var ErrFluxManaged = errors.New("flux still manages what the plan adopts")

// fluxResources are the Flux kinds whose objects strata adopts, by kind.
var fluxResources = map[string]schema.GroupVersionResource{
	"Kustomization": {Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"},
	"HelmRelease":   {Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"},
}

// fluxKey identifies a Flux object.
type fluxKey struct{ kind, namespace, name string }

// adoptFromFlux records that the plan adopts addr from the Flux object f.
func (e *Engine) adoptFromFlux(f *kube.FluxOwner, addr string) {
	if f == nil || f.Name == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := fluxKey{f.Kind, f.Namespace, f.Name}
	if !slices.Contains(e.fluxAdopted[k], addr) {
		e.fluxAdopted[k] = append(e.fluxAdopted[k], addr)
	}
}

// planFlux looks up, in the cluster, the Flux objects the plan adopts from
// and lists those that exist in p.Flux: a Kustomization or HelmRelease
// that is gone (or whose kind the cluster does not serve) reconciles
// nothing any more.
func (e *Engine) planFlux(ctx context.Context, p *plan.Plan) error {
	if len(e.fluxAdopted) == 0 {
		return nil
	}
	mgr, err := e.kubeAs("")
	if err != nil {
		return err
	}
	for k, adopted := range e.fluxAdopted {
		f, err := fluxObject(ctx, mgr, k)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		sort.Strings(adopted)
		f.Adopted = adopted
		p.Flux = append(p.Flux, *f)
	}
	sort.Slice(p.Flux, func(i, j int) bool { return p.Flux[i].String() < p.Flux[j].String() })
	return nil
}

// fluxObject reads the Flux object k; nil when it does not exist.
func fluxObject(ctx context.Context, mgr Kube, k fluxKey) (*plan.FluxObject, error) {
	gvr, ok := fluxResources[k.kind]
	if !ok {
		return nil, nil
	}
	u, err := mgr.Get(ctx, gvr, k.namespace, k.name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Flux %s %s/%s: %w", k.kind, k.namespace, k.name, err)
	}
	suspended, _, _ := unstructured.NestedBool(u.Object, "spec", "suspend")
	return &plan.FluxObject{Kind: k.kind, Namespace: k.namespace, Name: k.name, Suspended: suspended}, nil
}

// checkFlux refuses to apply p while a Flux object it adopts from is
// still active: the plan's view is checked again in the cluster, so
// suspending it (flux suspend kustomization NAME) after the plan is
// enough.
func (e *Engine) checkFlux(ctx context.Context, p *plan.Plan, opts ApplyOptions, prov *Providers) error {
	active := p.ActiveFlux()
	if len(active) == 0 || opts.AllowFluxManaged {
		return nil
	}
	mgr, err := prov.Kube("")
	if err != nil {
		return err
	}
	var still []string
	for _, f := range active {
		now, err := fluxObject(ctx, mgr, fluxKey{f.Kind, f.Namespace, f.Name})
		if err != nil {
			return err
		}
		if now != nil && !now.Suspended {
			still = append(still, fmt.Sprintf("%s (adopting %s)", f, strings.Join(f.Adopted, ", ")))
		}
	}
	if len(still) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s still reconcile(s) and would fight strata over them; suspend it first "+
		"(flux suspend %s, or spec.suspend: true), or apply with --allow-flux-managed",
		ErrFluxManaged, strings.Join(still, "; "), strings.ToLower(active[0].Kind)+" "+active[0].Name+" -n "+active[0].Namespace)
}
