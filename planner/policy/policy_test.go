package policy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/planner/policy"
)

func compiler(t *testing.T) *policy.Compiler {
	t.Helper()
	c, err := policy.NewCompiler([]string{"registry", "max"}, []string{"token"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompileIssues(t *testing.T) {
	tests := map[string]struct {
		spec policy.Spec
		want []policy.Issue
	}{
		"syntax error": {
			spec: policy.Spec{Condition: "object.spec.replicas <= "},
			want: []policy.Issue{{Field: "condition", Line: 1, Column: 25}},
		},
		"unknown variable": {
			spec: policy.Spec{Condition: "true &&\n  objekt.spec.replicas <= 5"},
			want: []policy.Issue{{Field: "condition", Line: 2, Column: 3}},
		},
		"unknown stack variable": {
			spec: policy.Spec{Condition: "object.metadata.name != vars.nope"},
			want: []policy.Issue{{Field: "condition", Line: 1, Column: 25}},
		},
		"sensitive stack variable": {
			spec: policy.Spec{Condition: "true", MessageExpression: "vars['token']"},
			want: []policy.Issue{{Field: "message_expression", Line: 1, Column: 1}},
		},
		"condition not bool": {
			spec: policy.Spec{Condition: "'yes'"},
			want: []policy.Issue{{Field: "condition", Line: 1, Column: 1}},
		},
		"valid": {
			spec: policy.Spec{Condition: "object.spec.template.spec.containers.all(c, c.image.startsWith(vars.registry))",
				MessageExpression: "'image from ' + string(vars.max)"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, got := compiler(t).Compile(tt.spec)
			for i := range got {
				if got[i].Message == "" {
					t.Errorf("issue %d has no message", i)
				}
				got[i].Message = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}

func deployment(replicas int64, image string) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "demo"},
		"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "web", "image": image}}}}}}
}

func testPlan() *plan.Plan {
	return &plan.Plan{
		Changes: []plan.ResourceChange{
			{Address: "kustomization.app/Namespace/demo", Block: "kustomization.app", APIVersion: "v1", Kind: "Namespace", Name: "demo",
				Actions: plan.Actions{plan.Delete}, Before: map[string]any{"metadata": map[string]any{"name": "demo"}}},
			{Address: "kustomization.app/Deployment.apps/demo/web", Block: "kustomization.app", APIVersion: "apps/v1", Kind: "Deployment",
				Namespace: "demo", Name: "web", Actions: plan.Actions{plan.Create}, After: deployment(10, "quay.io/web:latest")},
			{Address: "kustomization.app/ConfigMap/demo/c", Block: "kustomization.app", APIVersion: "v1", Kind: "ConfigMap",
				Namespace: "demo", Name: "c", Actions: plan.Actions{plan.NoOp}},
		},
		Releases: []plan.ReleaseChange{{Address: "release.redis", Name: "redis", Namespace: "cache", Actions: plan.Actions{plan.Upgrade},
			VersionBefore: "1.4.0", VersionAfter: "2.0.1"}},
	}
}

func TestEvaluate(t *testing.T) {
	specs := []policy.Spec{
		{Name: "keep_namespaces", Enforcement: plan.Mandatory, Match: policy.Match{Kinds: []string{"Namespace"}, Actions: []string{"delete", "replace"}},
			Condition: "false", MessageExpression: "'namespace ' + oldObject.metadata.name + ' would be deleted'"},
		{Name: "replicas", Enforcement: plan.Advisory, Match: policy.Match{Groups: []string{"apps"}},
			Condition: "object.spec.replicas <= 5", Message: "at most 5 replicas"},
		{Name: "no_latest", Enforcement: plan.Mandatory, Match: policy.Match{Kinds: []string{"Deployment"}},
			Condition: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))"},
		{Name: "registry", Enforcement: plan.Mandatory, Match: policy.Match{Kinds: []string{"Deployment"}},
			Condition: "object.spec.template.spec.containers.all(c, c.image.startsWith(vars.registry + '/'))"},
		{Name: "minor_only", Enforcement: plan.Approval, Match: policy.Match{Kinds: []string{"Release"}, Actions: []string{"upgrade"}},
			Condition:         "release.version.split('.')[0] == release.version_before.split('.')[0]",
			MessageExpression: "'major upgrade of ' + release.name + ' to ' + release.version"},
		{Name: "noop_ignored", Enforcement: plan.Mandatory, Match: policy.Match{Kinds: []string{"ConfigMap"}}, Condition: "false"},
		{Name: "missing_field", Enforcement: plan.Advisory, Match: policy.Match{Kinds: []string{"Deployment"}}, Condition: "object.nope == 1",
			Description: "fails to evaluate"},
	}
	c := compiler(t)
	var ps []*policy.Policy
	for _, s := range specs {
		p, issues := c.Compile(s)
		if len(issues) > 0 {
			t.Fatalf("%s: %v", s.Name, issues)
		}
		ps = append(ps, p)
	}
	got := policy.Evaluate(ps, testPlan(), map[string]any{"registry": "quay.io", "max": 5})
	for i := range got {
		if got[i].Policy == "missing_field" {
			if !strings.Contains(got[i].Message, "could not be evaluated") {
				t.Errorf("missing_field message: %s", got[i].Message)
			}
			got[i].Message = ""
		}
	}
	want := []plan.PolicyResult{
		{Policy: "keep_namespaces", Enforcement: plan.Mandatory, Address: "kustomization.app/Namespace/demo", Message: "namespace demo would be deleted"},
		{Policy: "replicas", Enforcement: plan.Advisory, Address: "kustomization.app/Deployment.apps/demo/web", Message: "at most 5 replicas"},
		{Policy: "no_latest", Enforcement: plan.Mandatory, Address: "kustomization.app/Deployment.apps/demo/web",
			Message: "failed: object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))"},
		{Policy: "missing_field", Enforcement: plan.Advisory, Address: "kustomization.app/Deployment.apps/demo/web"},
		{Policy: "minor_only", Enforcement: plan.Approval, Address: "release.redis", Message: "major upgrade of redis to 2.0.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// A saved plan's objects come back from JSON with float64 numbers: the
// same policies give the same verdicts.
func TestEvaluateJSONNumbers(t *testing.T) {
	p, issues := compiler(t).Compile(policy.Spec{Name: "replicas", Enforcement: plan.Mandatory, Condition: "object.spec.replicas <= 5"})
	if len(issues) > 0 {
		t.Fatal(issues)
	}
	pl := &plan.Plan{Changes: []plan.ResourceChange{{Address: "a", Kind: "Deployment", APIVersion: "apps/v1",
		Actions: plan.Actions{plan.Create}, After: map[string]any{"spec": map[string]any{"replicas": float64(10)}}}}}
	if got := policy.Evaluate([]*policy.Policy{p}, pl, nil); len(got) != 1 {
		t.Errorf("results = %v, want one violation", got)
	}
}
