package planner

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/planner/policy"
	"github.com/strata-gitops/strata/providers/kube"
)

// ErrPolicy is wrapped by Apply when the plan violates a mandatory policy
// (or the cluster's admission refused one of its objects), or an approval
// policy that was not approved.
var ErrPolicy = errors.New("the plan violates policies")

// EvaluatePolicies sets the policy results of p: the admission refusals
// the plan found, then the violations of the stack's policies, evaluated
// now. Applying a saved plan calls it with the stack's current policies.
func EvaluatePolicies(p *plan.Plan, st *config.Stack) {
	var kept []plan.PolicyResult
	for _, r := range p.PolicyResults {
		if r.Source == plan.SourceAdmission {
			kept = append(kept, r)
		}
	}
	var policies []*policy.Policy
	if st != nil {
		policies = st.CompiledPolicies()
	}
	p.PolicyResults = append(kept, policy.Evaluate(policies, p, policy.VariableValues(p.Variables))...)
}

// checkPolicies refuses a plan that violates a mandatory policy, or an
// approval policy not among approved.
func checkPolicies(p *plan.Plan, approved []string) error {
	if v := p.PolicyViolations(plan.Mandatory); len(v) > 0 {
		lines := make([]string, len(v))
		for i, r := range v {
			lines[i] = r.Address + ": " + r.Policy + ": " + r.Message
		}
		return fmt.Errorf("%w: %s", ErrPolicy, strings.Join(lines, "; "))
	}
	if u := p.Unapproved(approved); len(u) > 0 {
		return fmt.Errorf("%w: the approval policies %s need a human's approval: apply interactively and answer yes, or pass --approve-policy %s",
			ErrPolicy, strings.Join(u, ", "), u[0])
	}
	return nil
}

// admissionResult turns the admission refusal a into a policy result on
// the object (or release) at address: mandatory, as applying the change
// would fail; advisory for an object that does not change (apply does not
// send it, but the cluster would refuse it as it is now).
func (e *Engine) admissionResult(address string, a *kube.Refusal, unchanged bool) plan.PolicyResult {
	r := plan.PolicyResult{Policy: a.By, Enforcement: plan.Mandatory, Address: address,
		Message: e.secrets.Scrub(a.Message), Source: plan.SourceAdmission}
	if unchanged {
		r.Enforcement = plan.Advisory
		r.Message = "the cluster now refuses this unchanged object (apply does not send it): " + r.Message
	}
	return r
}

// admissionSubject names the object of an admission refusal as the API
// server does: `deployments.apps "web"`, or "an object of the release".
func admissionSubject(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		if d := se.Status().Details; d != nil && d.Name != "" {
			kind := d.Kind
			if d.Group != "" {
				kind += "." + d.Group
			}
			return kind + " " + d.Name
		}
	}
	return "an object of the release"
}
