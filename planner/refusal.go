package planner

// This file is the one home of an object's refusal (kube.Refusal: the
// cluster's admission chain, a planned CRD's schema or the API server
// refused the object): how a plan shows it and how drift reports it.
// kube.Manager.Apply refuses a change set that holds one.

import (
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// planRefusal records in p the refusal r of the object at address, which
// applying the object's change would meet, and reports whether the change
// is left out of the plan. An admission refusal is a policy result
// (admissionResult): mandatory, so that apply refuses the plan, or
// advisory for an unchanged object; the change stays in the plan, shown
// as refused without a diff when the object changes (refusedChange). Any
// other refusal is an error at the object, and the change is left out.
func (e *Engine) planRefusal(p *plan.Plan, address string, r *kube.Refusal, unchanged bool) (omitted bool) {
	if r.Kind == kube.RefusedByAdmission {
		p.PolicyResults = append(p.PolicyResults, e.admissionResult(address, r, unchanged))
		return false
	}
	p.AddError(address, e.secrets.Scrub(refusedMessage(r)))
	return true
}

// refusedChange shows rc, a change whose dry run the admission chain
// refused (r), as refused. For an object that exists the server never said
// what it would become, so rc keeps the live object (Before) and no After
// or field diff made up from the manifest laid over it, as drift reports
// such an object (driftRefusal); a create keeps the rendered manifest, the
// object strata would send. The policy result (planRefusal) makes apply
// refuse the plan.
func (e *Engine) refusedChange(rc *plan.ResourceChange, r *kube.Refusal) {
	rc.Refused = &plan.Refused{By: r.By, Message: e.secrets.Scrub(r.Message)}
	if rc.Before != nil {
		rc.After, rc.Diff = nil, nil
	}
}

// refusedMessage explains the plan error of a refusal other than the
// admission chain's, and the way out.
func refusedMessage(r *kube.Refusal) string {
	if r.Kind == kube.RefusedBySchema {
		return "The object is " + r.Error() + ". Its CRD is created or changed by this plan, so the object was checked " +
			"offline against the planned schema, and apply would fail; fix the object (or the CRD) and plan again."
	}
	return "The API server refuses the object as invalid: " + r.Message + ". Apply would fail on it; fix the object and plan again."
}

// driftRefusal is the error of a drift check at an object that the
// cluster refuses as applied (the dry run of the applied object was
// refused): the server did not say what the object would become, so its
// drift is unknown and the block could not be checked. It is never
// reported as a modification made up from the applied object.
func (e *Engine) driftRefusal(r *kube.Refusal) string {
	return r.Ref.String() + ": " + e.secrets.Scrub(r.Error()) +
		"; the cluster refuses the object as it was applied, so its drift cannot be known (strata plan shows the refusal)"
}
