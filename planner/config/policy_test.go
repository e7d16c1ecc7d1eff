package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/planner/policy"
)

func loadSource(t *testing.T, src string) (*config.Stack, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(dir, config.LoadOptions{Version: "0.1.0", Getenv: func(string) string { return "" }})
}

// locations renders each error as "line:column: summary".
func locations(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Subject == nil {
			out = append(out, "-: "+d.Summary)
			continue
		}
		out = append(out, fmt.Sprintf("%d:%d: %s", d.Subject.Start.Line, d.Subject.Start.Column, d.Summary))
	}
	return out
}

const policyVars = `
variable "registry" { default = "quay.io" }
variable "token" {
  default   = "s3cr3t"
  sensitive = true
}
`

func TestPolicyDiagnostics(t *testing.T) {
	tests := map[string]struct {
		src  string
		want []string
	}{
		"syntax error": {
			src: `policy "p" {
  condition = "object.spec.replicas <="
}`,
			want: []string{"2:39: Invalid policy expression"},
		},
		"unknown variable": {
			src: `policy "p" {
  enforcement = "advisory"
  condition   = "objekt.spec.replicas <= 5"
}`,
			want: []string{"3:18: Invalid policy expression"},
		},
		"unknown variable in a heredoc": {
			src: `policy "p" {
  condition = <<EOT
object.spec.replicas <= 5 &&
  objekt.spec.paused
EOT
}`,
			want: []string{"4:3: Invalid policy expression"},
		},
		"unknown stack variable": {
			src:  `policy "p" { condition = "object.metadata.namespace == vars.nope" }`,
			want: []string{"1:56: Invalid policy expression"},
		},
		"sensitive stack variable": {
			src:  `policy "p" { condition = "object.metadata.name != vars.token" }`,
			want: []string{"1:51: Invalid policy expression"},
		},
		"sensitive value in a message": {
			src: `policy "p" {
  condition = "false"
  message   = "token ${var.token}"
}`,
			want: []string{"3:15: Sensitive value in a policy"},
		},
		"message expression not a string": {
			src: `policy "p" {
  condition          = "false"
  message_expression = "1 + 1"
}`,
			want: []string{"3:25: Invalid policy expression"},
		},
		"bad enforcement and action": {
			src: `policy "p" {
  enforcement = "blocking"
  match { actions = ["deleet"] }
  condition = "false"
}`,
			want: []string{"2:17: Invalid value for enforcement", "3:21: Invalid action"},
		},
		"missing condition": {
			src:  `policy "p" { message = "x" }`,
			want: []string{"1:14: Missing required argument"},
		},
		"duplicate": {
			src: `policy "p" { condition = "true" }
policy "p" { condition = "true" }`,
			want: []string{"2:1: Duplicate policy block"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := loadSource(t, policyVars+"\n"+tt.src)
			// The policy starts on line 8 of the file.
			got := locations(diags)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				var line, col int
				var rest string
				if _, err := fmt.Sscanf(w, "%d:%d:", &line, &col); err != nil {
					t.Fatal(err)
				}
				_, rest, _ = cutTwice(w)
				want[i] = fmt.Sprintf("%d:%d:%s", line+7, col, rest)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%v", diff, diags)
			}
		})
	}
}

func cutTwice(s string) (string, string, bool) {
	for i, n := 0, 0; i < len(s); i++ {
		if s[i] == ':' {
			n++
			if n == 2 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

func TestPolicyDecode(t *testing.T) {
	st, diags := loadSource(t, policyVars+`
policy "keep_namespaces" {
  description = "Pipelines never delete namespaces."
  enforcement = "approval"
  match {
    kinds      = ["Namespace"]
    groups     = [""]
    namespaces = [""]
    blocks     = ["kustomization.*"]
    actions    = ["delete", "replace"]
  }
  condition          = "false"
  message            = "a namespace would be deleted"
  message_expression = "'namespace ' + oldObject.metadata.name + ' would be deleted'"
}
policy "registry" {
  condition = "object.spec.template.spec.containers.all(c, c.image.startsWith(vars.registry))"
}
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := st.Policies["keep_namespaces"].Spec
	want := policy.Spec{Name: "keep_namespaces", Description: "Pipelines never delete namespaces.", Enforcement: plan.Approval,
		Match: policy.Match{Kinds: []string{"Namespace"}, Groups: []string{""}, Namespaces: []string{""},
			Blocks: []string{"kustomization.*"}, Actions: []string{"delete", "replace"}},
		Condition: "false", Message: "a namespace would be deleted",
		MessageExpression: "'namespace ' + oldObject.metadata.name + ' would be deleted'"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if e := st.Policies["registry"].Enforcement; e != plan.Mandatory {
		t.Errorf("default enforcement = %q, want mandatory", e)
	}
	if n := len(st.CompiledPolicies()); n != 2 {
		t.Errorf("compiled policies = %d, want 2", n)
	}
}

// TestPolicyDocExamples loads every HCL example of docs/policy.md and
// checks their verdicts on a plan, so that the documentation's examples
// keep working.
func TestPolicyDocExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, part := range strings.Split(string(doc), "```hcl\n")[1:] {
		body, _, _ := strings.Cut(part, "```")
		src.WriteString(body + "\n")
	}
	st, diags := loadSource(t, src.String())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	deploy := func(name, image string, limits bool) plan.ResourceChange {
		c := map[string]any{"name": "app", "image": image}
		if limits {
			c["resources"] = map[string]any{"limits": map[string]any{"memory": "1Gi"}}
		}
		return plan.ResourceChange{Address: "kustomization.app/Deployment.apps/demo/" + name, Block: "kustomization.app",
			APIVersion: "apps/v1", Kind: "Deployment", Namespace: "demo", Name: name, Actions: plan.Actions{plan.Create},
			After: map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": name},
				"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{c}}}}}}
	}
	p := &plan.Plan{
		Variables: []plan.Variable{{Name: "registry", Value: []byte(`"registry.example.com"`)}},
		Changes: []plan.ResourceChange{
			deploy("good", "registry.example.com/app:1.0", true),
			deploy("bad", "docker.io/app:latest", false),
			{Address: "kustomization.app/PersistentVolumeClaim/demo/data", Block: "kustomization.app", APIVersion: "v1",
				Kind: "PersistentVolumeClaim", Namespace: "demo", Name: "data", Actions: plan.Actions{plan.Delete},
				Before: map[string]any{"metadata": map[string]any{"name": "data"}}},
			{Address: "kustomization.app/Namespace/demo", Block: "kustomization.app", APIVersion: "v1", Kind: "Namespace",
				Name: "demo", Actions: plan.Actions{plan.Delete}, Before: map[string]any{"metadata": map[string]any{"name": "demo"}}},
		},
		Releases: []plan.ReleaseChange{
			{Address: "release.major", Name: "major", Actions: plan.Actions{plan.Upgrade}, VersionBefore: "1.9.0", VersionAfter: "2.0.0"},
			{Address: "release.minor", Name: "minor", Actions: plan.Actions{plan.Upgrade}, VersionBefore: "1.9.0", VersionAfter: "1.10.0"},
		},
	}
	var got []string
	for _, r := range policy.Evaluate(st.CompiledPolicies(), p, policy.VariableValues(p.Variables)) {
		got = append(got, r.Policy+" "+r.Address+": "+r.Message)
	}
	want := []string{
		"allowed_registry kustomization.app/Deployment.apps/demo/bad: images must come from registry.example.com",
		"no_latest kustomization.app/Deployment.apps/demo/bad: images must name a tag other than latest",
		"resource_limits kustomization.app/Deployment.apps/demo/bad: every container should set a memory limit",
		"keep_volumes kustomization.app/PersistentVolumeClaim/demo/data: the claim data and its data would be deleted",
		"keep_namespaces kustomization.app/Namespace/demo: namespace demo would be deleted",
		"minor_upgrades_only release.major: major goes from 1.9.0 to 2.0.0, a major upgrade",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

// TestPolicyErrors: applying a saved plan needs the stack's policies, not
// the rest of it; a syntax error anywhere keeps them from loading.
func TestPolicyErrors(t *testing.T) {
	tests := map[string]struct {
		src  string
		want int
	}{
		"elsewhere":      {src: `kustomization "app" { path = "gone" }` + "\n" + `policy "p" { condition = "true" }`, want: 0},
		"in a policy":    {src: `kustomization "app" { path = "gone" }` + "\n" + `policy "p" { condition = "objekt" }`, want: 1},
		"a syntax error": {src: `kustomization "app" { path = }` + "\n" + `policy "p" { condition = "true" }`, want: 1},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			st, diags := loadSource(t, tt.src)
			if !diags.HasErrors() {
				t.Fatal("want errors")
			}
			if got := st.PolicyErrors(diags); len(got) != tt.want {
				t.Errorf("policy errors = %v, want %d", got, tt.want)
			}
		})
	}
}
