package policy_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/planner/policy"
)

// benchPlan is a plan that creates the 1,010 objects of
// providers/kube/testdata/objects-1010.yaml (10 namespaces, 500
// ConfigMaps, 250 Deployments, 250 Services).
func benchPlan(b *testing.B) *plan.Plan {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "providers", "kube", "testdata", "objects-1010.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	p := &plan.Plan{}
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		if obj == nil {
			continue
		}
		md := obj["metadata"].(map[string]any)
		ns, _ := md["namespace"].(string)
		api, kind, name := obj["apiVersion"].(string), obj["kind"].(string), md["name"].(string)
		p.Changes = append(p.Changes, plan.ResourceChange{Address: addrs.Object{Group: addrs.GroupOf(api), Kind: kind, Namespace: ns, Name: name}.Address("kustomization.bench"),
			Block: "kustomization.bench", APIVersion: api, Kind: kind, Namespace: ns, Name: name,
			Actions: plan.Actions{plan.Create}, After: obj, Diff: plan.Diff(nil, obj)})
	}
	if len(p.Changes) != 1010 {
		b.Fatalf("%d objects, want 1010", len(p.Changes))
	}
	return p
}

// benchPolicies are 20 policies: the examples of docs/policy.md and
// variations, most matching every object.
func benchPolicies(b *testing.B) []*policy.Policy {
	b.Helper()
	specs := []policy.Spec{
		{Match: policy.Match{Kinds: []string{"PersistentVolumeClaim"}, Actions: []string{"delete", "replace"}}, Condition: "false"},
		{Match: policy.Match{Kinds: []string{"Namespace"}, Actions: []string{"delete", "replace"}}, Condition: "false"},
		{Match: policy.Match{Kinds: []string{"Deployment"}}, Condition: "object.spec.template.spec.containers.all(c, c.image.startsWith(vars.registry + '/'))"},
		{Match: policy.Match{Kinds: []string{"Deployment"}}, Condition: "object.spec.template.spec.containers.all(c, has(c.resources) && has(c.resources.limits))"},
		{Match: policy.Match{Kinds: []string{"Deployment"}}, Condition: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest') && c.image.contains(':'))"},
		{Match: policy.Match{Kinds: []string{"Release"}, Actions: []string{"upgrade"}}, Condition: "release.version.split('.')[0] == release.version_before.split('.')[0]"},
		{Condition: "object == null || !has(object.metadata.labels) || !('forbidden' in object.metadata.labels)"},
		{Condition: "object == null || object.metadata.name.size() <= 63"},
		{Condition: "change.action != 'delete' || plan.destroy < 10"},
		{Condition: "change.fields.all(f, !f.startsWith('metadata.finalizers'))"},
		{Condition: "object == null || !has(object.metadata.annotations) || object.metadata.annotations.all(k, k.size() < 100)"},
		{Match: policy.Match{Kinds: []string{"Service"}}, Condition: "!has(object.spec.type) || object.spec.type != 'LoadBalancer'"},
		{Match: policy.Match{Kinds: []string{"Service"}}, Condition: "object.spec.ports.all(p, p.port < 65536)"},
		{Match: policy.Match{Kinds: []string{"ConfigMap"}}, Condition: "!has(object.data) || object.data.size() < 100"},
		{Match: policy.Match{Kinds: []string{"Deployment"}}, Condition: "!has(object.spec.replicas) || object.spec.replicas <= 50"},
		{Match: policy.Match{Groups: []string{"apps"}}, Condition: "object.metadata.namespace.startsWith('bench')"},
		{Match: policy.Match{Namespaces: []string{"kube-system"}}, Condition: "false"},
		{Match: policy.Match{Blocks: []string{"release.*"}}, Condition: "false"},
		{Condition: "object == null || object.metadata.name.matches('^[a-z0-9.-]+$')"},
		{Condition: "change.address.startsWith(change.block + '/')"},
	}
	c, err := policy.NewCompiler([]string{"registry"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var out []*policy.Policy
	for i, s := range specs {
		s.Name, s.Enforcement = "p"+itoa(i), plan.Advisory
		p, issues := c.Compile(s)
		if len(issues) > 0 {
			b.Fatalf("policy %d: %v", i, issues)
		}
		out = append(out, p)
	}
	if len(out) != 20 {
		b.Fatalf("%d policies, want 20", len(out))
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// BenchmarkEvaluate1010x20 evaluates 20 policies on a plan of 1,010
// objects and reports the time as a share of the floor of any exact plan
// of the same objects on the local cluster (a server-side dry run per
// object at concurrency 32: 0.72 s). strata's own plan of them, with
// rendering, state and live reads, takes several seconds: planner
// BenchmarkPlanPolicies measures the overhead on it.
func BenchmarkEvaluate1010x20(b *testing.B) {
	p, ps := benchPlan(b), benchPolicies(b)
	vars := map[string]any{"registry": "registry.example.com"}
	var results int
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		results = len(policy.Evaluate(ps, p, vars))
	}
	per := time.Since(start) / time.Duration(b.N)
	const planTime = 720 * time.Millisecond
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/eval")
	b.ReportMetric(100*per.Seconds()/planTime.Seconds(), "%-of-plan")
	b.Logf("20 policies x 1,010 objects: %s per evaluation (%d violations), %.1f%% of a 0.72 s plan", per, results, 100*per.Seconds()/planTime.Seconds())
}
