package planner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// benchPolicyHCL are 20 policies, most of them matching every object of
// the benchmark's set.
var benchPolicyHCL = []struct{ match, condition string }{
	{`kinds = ["PersistentVolumeClaim"]  actions = ["delete", "replace"]`, `false`},
	{`kinds = ["Namespace"]  actions = ["delete", "replace"]`, `false`},
	{`kinds = ["Deployment"]`, `object.spec.template.spec.containers.all(c, c.image.startsWith(vars.registry + '/'))`},
	{`kinds = ["Deployment"]`, `object.spec.template.spec.containers.all(c, c.?resources.?limits.?memory.hasValue())`},
	{`kinds = ["Deployment"]`, `object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))`},
	{`kinds = ["Release"]  actions = ["upgrade"]`, `release.version.split('.')[0] == release.version_before.split('.')[0]`},
	{``, `object == null || !('forbidden' in object.metadata.?labels.orValue({}))`},
	{``, `object == null || object.metadata.name.size() <= 63`},
	{``, `change.action != 'delete' || plan.destroy < 10`},
	{``, `change.fields.all(f, !f.startsWith('metadata.finalizers'))`},
	{``, `object == null || object.metadata.?annotations.orValue({}).all(k, k.size() < 100)`},
	{`kinds = ["Service"]`, `object.spec.?type.orValue('ClusterIP') != 'LoadBalancer'`},
	{`kinds = ["Service"]`, `object.spec.ports.all(p, p.port < 65536)`},
	{`kinds = ["ConfigMap"]`, `object.?data.orValue({}).size() < 100`},
	{`kinds = ["Deployment"]`, `object.spec.?replicas.orValue(1) <= 50`},
	{`groups = ["apps"]`, `object.metadata.namespace.size() > 0`},
	{`namespaces = ["kube-system"]`, `false`},
	{`blocks = ["release.*"]`, `false`},
	{``, `object == null || object.metadata.name.matches('^[a-z0-9.-]+$')`},
	{``, `change.address.startsWith(change.block + '/')`},
}

// BenchmarkPlanPolicies plans a stack of 1,010 objects (10 namespaces,
// 500 ConfigMaps, 250 Deployments, 250 Services), applied and unchanged,
// against the local cluster, alternately without and with 20 policies,
// and reports how much the policies add to the plan's time. The
// policies are advisory and look at no-ops too, so that every object is
// evaluated: they warn about the Deployments' missing limits and
// registry, as a real stack's would.
func BenchmarkPlanPolicies(b *testing.B) {
	c := testcluster.Get(b)
	raw, err := os.ReadFile(filepath.Join("..", "providers", "kube", "testdata", "objects-1010.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	prefix := testcluster.UniqueName("pb")
	objs := strings.ReplaceAll(string(raw), "bench-", prefix+"-")
	dir := filepath.Join(b.TempDir(), testcluster.UniqueName("policybench"))
	var pol strings.Builder
	pol.WriteString("variable \"registry\" { default = \"registry.example.com\" }\n")
	for i, p := range benchPolicyHCL {
		m := p.match
		if !strings.Contains(m, "actions") {
			// The plan changes nothing: no-ops too, or nothing is evaluated.
			m = strings.TrimSpace(m + `  actions = ["create", "update", "no-op"]`)
		}
		match := strings.ReplaceAll(m, "  ", "\n    ")
		fmt.Fprintf(&pol, "policy \"p%d\" {\n  enforcement = \"advisory\"\n  match {\n    %s\n  }\n  condition = %q\n}\n", i, match, p.condition)
	}
	files := map[string]string{
		"main.hcl":                "kustomization \"bench\" {\n  path  = \"objs\"\n  prune = true\n}\n",
		"objs/kustomization.yaml": "resources: [objects.yaml]\n",
		"objs/objects.yaml":       objs,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for i := range 10 {
			c.KubectlCommand(b, "delete", "namespace", fmt.Sprintf("%s-%d", prefix, i), "--ignore-not-found", "--wait=false").Run()
		}
	})
	opts := Options{Dir: dir, RESTConfig: c.RESTConfig(), Getenv: func(string) string { return "" }}
	ctx := context.Background()
	plan := func() (time.Duration, int) {
		start := time.Now()
		e, diags := Load(opts)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		defer e.Close()
		p, err := e.Plan(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start), len(p.PolicyResults)
	}
	e, diags := Load(opts)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	p, err := e.Plan(ctx)
	if err == nil {
		_, err = e.Apply(ctx, p, ApplyOptions{})
	}
	e.Close()
	if err != nil {
		b.Fatal(err)
	}
	polFile := filepath.Join(dir, "policies.hcl")
	plan() // warm up: discovery, caches
	var without, with time.Duration
	var results int
	b.ResetTimer()
	for range b.N {
		if err := os.Remove(polFile); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
		d, _ := plan()
		without += d
		if err := os.WriteFile(polFile, []byte(pol.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		d, results = plan()
		with += d
	}
	overhead := 100 * (with.Seconds() - without.Seconds()) / without.Seconds()
	b.ReportMetric(overhead, "%-overhead")
	b.Logf("plan of 1,010 unchanged objects: %s without policies, %s with 20 policies (%d results): %+.1f%%",
		(without / time.Duration(b.N)).Round(time.Millisecond), (with / time.Duration(b.N)).Round(time.Millisecond), results, overhead)
}
