package planner

// This file holds the checks that refuse a plan, saved or not, that no
// longer matches the state, the cluster or Helm's storage (ErrStalePlan).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// ErrStalePlan is wrapped by Apply when a saved plan no longer matches the
// state or the cluster.
var ErrStalePlan = errors.New("saved plan is stale")

// checkState refuses a plan made against another state than snap: another
// serial (the state was written since) or another lineage than the plan's
// stack id. A state without lineage yet takes the plan's.
func checkState(p *plan.Plan, snap *state.Snapshot) error {
	if snap.Lineage != p.State.Lineage || snap.Serial != p.State.Serial {
		return fmt.Errorf("%w: the state changed since the plan was made (serial %d, now %d); run strata plan again",
			ErrStalePlan, p.State.Serial, snap.Serial)
	}
	switch {
	case p.StackID == "":
		return errors.New("the plan names no stack id: run strata plan again")
	case snap.Lineage == "":
		// The first write gives the state the lineage the plan labelled
		// the objects with.
		snap.Lineage = p.StackID
	case snap.Lineage != p.StackID:
		return fmt.Errorf("%w: the plan's stack id %s is not the state's lineage %s", ErrStalePlan, p.StackID, snap.Lineage)
	}
	return nil
}

// checkLive refuses a saved plan when an object it changes is no longer as
// it was when the plan was made.
func (e *Engine) checkLive(ctx context.Context, mgr Kube, p *plan.Plan) error {
	var stale []string
	for i := range p.Changes {
		rc := &p.Changes[i]
		if rc.Actions.IsNoOp() || rc.Actions.Is(plan.Forget) {
			continue // a forget does not touch the object
		}
		gv, err := schema.ParseGroupVersion(rc.APIVersion)
		if err != nil {
			return err
		}
		mapping, err := mgr.Mapping(ctx, gv.WithKind(rc.Kind))
		if err != nil && rc.SchemaOnly {
			// A version its planned CRD adds: read it in a served one.
			mapping, err = mgr.Mapping(ctx, schema.GroupVersionKind{Group: gv.Group, Kind: rc.Kind})
		}
		if err != nil {
			if rc.LiveResourceVersion == "" {
				continue // a kind that a CRD of the plan creates
			}
			return fmt.Errorf("%s: %w", rc.Address, err)
		}
		live, err := mgr.Get(ctx, mapping.Resource, rc.Namespace, rc.Name)
		switch {
		case apierrors.IsNotFound(err):
			if rc.LiveResourceVersion != "" && !rc.Actions.Is(plan.Delete) {
				stale = append(stale, rc.Address+" was deleted from the cluster")
			}
		case err != nil:
			return fmt.Errorf("%s: %w", rc.Address, err)
		case rc.LiveResourceVersion == "":
			stale = append(stale, rc.Address+" was created in the cluster")
		case live.GetResourceVersion() != rc.LiveResourceVersion && rc.LiveDigest != "" &&
			string(live.GetUID()) == rc.LiveUID && kube.LiveDigest(live) == rc.LiveDigest:
			// Only status or server bookkeeping moved (a controller at
			// work): the plan still holds. Apply against this version.
			rc.LiveResourceVersion = live.GetResourceVersion()
		case live.GetResourceVersion() != rc.LiveResourceVersion:
			stale = append(stale, fmt.Sprintf("%s was changed in the cluster (resourceVersion %s, now %s)",
				rc.Address, rc.LiveResourceVersion, live.GetResourceVersion()))
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("%w: since the plan was made, %s; run strata plan again", ErrStalePlan, strings.Join(stale, "; "))
	}
	return nil
}

// checkReleases restores the release plans of a saved plan and refuses the
// plan, naming the releases, when a release changed since the plan was made
// (another revision, e.g. by the Helm CLI) or the saved chart or values are
// not those planned. It keeps the restored plans for the apply walk.
func (e *Engine) checkReleases(ctx context.Context, p *plan.Plan) error {
	var stale []string
	for _, b := range p.Blocks {
		if b.Kind != string(config.KindRelease) || b.Remove || len(b.Settings) == 0 {
			continue
		}
		var settings releaseSettings
		if err := json.Unmarshal(b.Settings, &settings); err != nil {
			return fmt.Errorf("%s: settings: %w", b.Address, err)
		}
		if settings.ValuesFrom != nil {
			if err := e.checkValuesFrom(ctx, settings.ValuesFrom); errors.Is(err, errValuesFromChanged) {
				stale = append(stale, fmt.Sprintf("%s: %v", b.Address, err))
				continue
			} else if err != nil {
				return fmt.Errorf("%s: %w", b.Address, err)
			}
		}
		rp, err := settings.releasePlan()
		if err != nil {
			return fmt.Errorf("%s: %w", b.Address, err)
		}
		if rp == nil {
			continue
		}
		hm, err := e.helmAs(settings.ServiceAccount)
		if err != nil {
			return fmt.Errorf("%s: %w", b.Address, err)
		}
		if err := hm.Check(ctx, rp); errors.Is(err, helm.ErrStalePlan) {
			stale = append(stale, fmt.Sprintf("%s (Helm release %s/%s) was changed: %v", b.Address, rp.Namespace, rp.Name, err))
			continue
		} else if err != nil {
			return fmt.Errorf("%s: %w", b.Address, err)
		}
		e.mu.Lock()
		e.releases[b.Address] = rp
		e.mu.Unlock()
	}
	if len(stale) > 0 {
		return fmt.Errorf("%w: since the plan was made, %s; run strata plan again", ErrStalePlan, strings.Join(stale, "; "))
	}
	return nil
}
