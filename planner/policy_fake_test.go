package planner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
)

func keepConfigMap(enforcement string) string {
	return `policy "keep_two" {
  enforcement = "` + enforcement + `"
  match {
    kinds   = ["ConfigMap"]
    actions = ["delete"]
  }
  condition          = "oldObject.metadata.name != 'two'"
  message_expression = "'ConfigMap ' + oldObject.metadata.name + ' would be deleted'"
}
`
}

// TestFakePolicies: the plan carries the violations of the stack's
// policies; Apply refuses a mandatory violation and an unapproved approval
// one, and applies an approved one; a saved plan is judged again by
// EvaluatePolicies with the stack's current policies.
func TestFakePolicies(t *testing.T) {
	w := newWorld(t, oneBlock())
	w.mustApply(nil)
	w.write(map[string]string{"a/kustomization.yaml": kustomizationYAML("one.yaml"), "policy.hcl": keepConfigMap("mandatory")})

	e, p := w.lockedPlan(nil)
	want := []plan.PolicyResult{{Policy: "keep_two", Enforcement: plan.Mandatory, Address: addrTwo, Message: "ConfigMap two would be deleted"}}
	if len(p.PolicyResults) != 1 || p.PolicyResults[0] != want[0] {
		t.Fatalf("policy results = %+v, want %+v", p.PolicyResults, want)
	}
	_, err := e.Apply(context.Background(), p, planner.ApplyOptions{ApprovedPolicies: []string{"keep_two"}})
	if !errors.Is(err, planner.ErrPolicy) || !strings.Contains(err.Error(), "ConfigMap two would be deleted") {
		t.Errorf("apply under a mandatory violation: %v, want ErrPolicy", err)
	}
	_ = e.Unlock(context.Background())
	_ = e.Close()
	if w.kube.Object("", "ConfigMap", "ns", "two") == nil {
		t.Fatal("the refused plan deleted the ConfigMap")
	}

	w.write(map[string]string{"policy.hcl": keepConfigMap("approval")})
	_, p = w.plan(nil)
	saved := w.saved(p)
	if len(saved.PolicyResults) != 1 || saved.PolicyResults[0].Enforcement != plan.Approval {
		t.Fatalf("saved policy results = %+v", saved.PolicyResults)
	}
	if _, err := w.applySaved(saved); !errors.Is(err, planner.ErrPolicy) {
		t.Errorf("apply of a saved plan without approval: %v, want ErrPolicy", err)
	}
	// The stack's policy became mandatory: evaluated again, the saved plan
	// is refused whatever is approved.
	w.write(map[string]string{"policy.hcl": keepConfigMap("mandatory")})
	st, diags := config.Load(w.dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	planner.EvaluatePolicies(saved, st)
	if v := saved.PolicyViolations(plan.Mandatory); len(v) != 1 {
		t.Errorf("re-evaluated results = %+v, want one mandatory violation", saved.PolicyResults)
	}

	w.write(map[string]string{"policy.hcl": keepConfigMap("approval")})
	e, p = w.lockedPlan(nil)
	res, err := e.Apply(context.Background(), p, planner.ApplyOptions{ApprovedPolicies: []string{"keep_two"}})
	_ = e.Unlock(context.Background())
	_ = e.Close()
	if err != nil || res.Destroyed != 1 {
		t.Errorf("apply with the policy approved: %v, %+v", err, res)
	}
}
