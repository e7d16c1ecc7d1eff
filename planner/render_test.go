package planner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/providers/kustomize"
)

// TestRenderKeepsBuildObjects renders a kustomization with common labels,
// annotations and substitution and wants objects that deep-copy as JSON
// values, for no more work than kustomize.Build: Build already makes them
// JSON values, and a second JSON round trip of every object (which
// renderKustomization did) cost about 6% more allocations.
func TestRenderKeepsBuildObjects(t *testing.T) {
	dir := t.TempDir()
	var y strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&y, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d%d}\nspec:\n  replicas: 2\n  template:\n    spec: {containers: [{name: a, image: \"${image}\", ports: [{containerPort: 8080}]}]}\n", i)
	}
	for name, data := range map[string]string{"kustomization.yaml": "resources: [objects.yaml]\n", "objects.yaml": y.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k := &config.Kustomization{Name: "app", Path: ".", CommonLabels: map[string]string{"team": "a"},
		CommonAnnotations: map[string]string{"note": "b"}, Substitute: map[string]string{"image": "nginx:1.27"}}
	ctx := context.Background()
	objs, err := renderKustomization(ctx, k, dir, renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 200 {
		t.Fatalf("%d objects, want 200", len(objs))
	}
	for _, o := range objs {
		_ = runtime.DeepCopyJSON(o.Object) // panics on a value that is not JSON
		if r, ok, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); !ok || r != 2 {
			t.Fatalf("%s: replicas %v, want int64 2", o.GetName(), o.Object["spec"])
		}
	}
	opts := kustomize.Options{Root: dir, Path: ".", CommonLabels: k.CommonLabels, CommonAnnotations: k.CommonAnnotations, Substitute: k.Substitute}
	build := testing.AllocsPerRun(2, func() {
		if _, err := kustomize.Build(ctx, opts); err != nil {
			t.Fatal(err)
		}
	})
	render := testing.AllocsPerRun(2, func() {
		if _, err := renderKustomization(ctx, k, dir, renderOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if render > build*1.02 {
		t.Errorf("renderKustomization allocates %.0f times, kustomize.Build %.0f: more than Build's work", render, build)
	}
}
