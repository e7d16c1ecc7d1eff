package kustomize

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// bigTree returns the files of one kustomization of n objects (ConfigMaps,
// Services, Deployments and RBAC) in one file.
func bigTree(n int) map[string]string {
	var y strings.Builder
	for i := 0; i < n; i++ {
		switch i % 5 {
		case 0, 1:
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: ns%d}\ndata: {key: value-%d, other: x}\n", i, i%10, i)
		case 2:
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: ns%d}\nspec: {clusterIP: None, selector: {app: a%d}, ports: [{port: 80, targetPort: 8080}]}\n", i, i%10, i)
		case 3:
			fmt.Fprintf(&y, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep-%d, namespace: ns%d}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: a%d}}\n  template:\n    metadata: {labels: {app: a%d}}\n    spec: {containers: [{name: app, image: nginx:1.27}]}\n", i, i%10, i, i)
		case 4:
			fmt.Fprintf(&y, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-%d, namespace: ns%d}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]\n", i, i%10)
		}
	}
	return map[string]string{"kustomization.yaml": "resources: [objects.yaml]\n", "objects.yaml": y.String()}
}

// BenchmarkBuild renders one kustomization of 1,000 and 5,000 objects by
// the plain path (what Build takes for such a tree), from the render cache
// of an earlier build of the same files, and by kustomize, side by side. kustomize's resource map makes its time grow with the square of
// the objects (about a minute for 5,000 on a loaded machine); set
// STRATA_BENCH_KUSTOMIZE=0 to leave it out.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		for _, path := range []string{"plain", "cached", "kustomize"} {
			if path == "kustomize" && os.Getenv("STRATA_BENCH_KUSTOMIZE") == "0" {
				continue
			}
			b.Run(fmt.Sprintf("objects=%d/path=%s", n, path), func(b *testing.B) { benchBuild(b, n, path) })
		}
	}
}

// BenchmarkBuildGenerated renders a directory of 1,000 objects without a
// kustomization file (the kustomization Flux generates for it, read by the
// plain path), afresh and from the render cache of an earlier build of
// the same files.
func BenchmarkBuildGenerated(b *testing.B) {
	for _, path := range []string{"generated", "generated-cached"} {
		b.Run("objects=1000/path="+path, func(b *testing.B) { benchBuild(b, 1000, path) })
	}
}

func benchBuild(b *testing.B, n int, path string) {
	tree := bigTree(n)
	if strings.HasPrefix(path, "generated") {
		delete(tree, "kustomization.yaml")
	}
	root := writeTree(b, tree)
	opts := Options{Root: root, noPlain: path == "kustomize"}
	if strings.HasSuffix(path, "cached") {
		opts.Cache, opts.CacheSlot = NewCache(b.TempDir(), []byte("bench secret, 32 bytes long.....")), "bench"
		if _, err := Build(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		objs, err := Build(context.Background(), opts)
		if err != nil || len(objs) != n {
			b.Fatalf("%d objects, %v", len(objs), err)
		}
	}
}
