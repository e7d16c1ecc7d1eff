package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
)

// registerApprove adds --approve-policy, of apply and destroy.
func (f *stackFlags) registerApprove(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.approve, "approve-policy", nil,
		"approve the violations of this approval policy, for --auto-approve and saved plans (repeatable)")
}

// policyRefused reports a plan that violates a mandatory policy (shown
// with the plan): it is not saved, and the command exits 1.
func (a *app) policyRefused(p *plan.Plan, out string) error {
	msg := view.PoliciesLine(p)
	if out != "" {
		msg += " It was not saved to " + out + "."
	}
	fmt.Fprintln(a.stderr, "\n"+msg)
	return errSilent
}

// policyNotes repeats the policy summary on standard error when the plan
// was written in a format for machines, so that a pipeline's log shows
// the warnings.
func (a *app) policyNotes(p *plan.Plan, output string) {
	if output == "" || output == "human" {
		return
	}
	if l := view.PoliciesLine(p); l != "" {
		fmt.Fprintln(a.stderr, "Warning: "+l)
	}
}

// reevaluatePolicies evaluates the current policies of the stack a saved
// plan was made from on that plan, and prints the results. A stack that
// cannot be loaded refuses the apply: its policies would go unchecked.
func (a *app) reevaluatePolicies(f *stackFlags, p *plan.Plan, color bool) error {
	st, diags := config.Load(p.Dir, config.LoadOptions{Vars: f.vars, Getenv: a.getenv, Partial: true, Environment: p.Environment, StatePathUnused: true})
	if errs := st.PolicyErrors(diags); len(errs) > 0 {
		a.writeDiags(errs, st.Files)
		return fmt.Errorf("the policies of the stack in %s cannot be loaded, so they cannot be checked against the saved plan: fix them, or plan again", p.Dir)
	}
	planner.EvaluatePolicies(p, st)
	return view.Policies(a.stdout, p, view.HumanOptions{Color: color})
}
