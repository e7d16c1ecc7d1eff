package kustomize_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/providers/kustomize"
)

// withoutKustomizations returns files with the kustomization files of
// some directories removed (the root's always): Flux generates one for
// such a directory, listing its manifests and the directories with a
// kustomization file below it.
func withoutKustomizations(files map[string]string, seed int64) map[string]string {
	r := rand.New(rand.NewSource(seed))
	out := map[string]string{}
	for f, c := range files {
		base := path.Base(f)
		isK := base == "kustomization.yaml" || base == "kustomization.yml" || base == "Kustomization"
		if isK && (path.Dir(f) == "." || r.Intn(2) == 0) {
			continue
		}
		out[f] = c
	}
	return out
}

// generatedCase is a tree with directories without a kustomization file
// (the root's always) and the options to build it with.
type generatedCase struct {
	files map[string]string
	opts  kustomize.Options
}

// generatedCases returns varied trees whose root has no kustomization
// file: random trees of plain kustomizations with some kustomization
// files removed, and trees of the cases that the generated path leaves
// to Flux's generator or to kustomize.
func generatedCases() map[string]generatedCase {
	type tcase = generatedCase
	tests := map[string]tcase{}
	for seed := int64(1); seed <= 8; seed++ {
		files := withoutKustomizations(generatedTree(seed, 20+int(seed)*15), seed)
		tests[fmt.Sprintf("generated %d", seed)] = tcase{files: files}
		tests[fmt.Sprintf("generated %d with labels and substitution", seed)] = tcase{files: files, opts: kustomize.Options{
			CommonLabels: map[string]string{"team": "x"}, CommonAnnotations: map[string]string{"o": "p"},
			Substitute: map[string]string{"v": "1"},
		}}
	}
	one := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"
	two := strings.Replace(one, "one}", "two}", 1)
	for name, files := range map[string]map[string]string{
		"one file":                  {"a.yaml": one},
		"yml and other files":       {"a.yml": one, "b.yaml": two, "README.md": "# not a manifest\n", "c.json": `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`},
		"nested plain dirs":         {"a.yaml": one, "sub/b.yaml": two, "sub/deeper/c.yaml": strings.Replace(one, "one}", "c}", 1)},
		"nested kustomization":      {"a.yaml": one, "sub/kustomization.yaml": "resources: [b.yaml]\n", "sub/b.yaml": two, "sub/unlisted.yaml": strings.Replace(one, "one}", "u}", 1)},
		"nested not plain":          {"a.yaml": one, "sub/kustomization.yaml": "namePrefix: p-\nresources: [b.yaml]\n", "sub/b.yaml": two},
		"duplicate id":              {"a.yaml": one, "b.yaml": one},
		"empty directory":           {"sub/.keep": ""},
		"empty file":                {"a.yaml": "", "b.yaml": one},
		"not YAML":                  {"a.yaml": "{{{"},
		"local config":              {"a.yaml": strings.Replace(one, "one}", "one, annotations: {config.kubernetes.io/local-config: \"true\"}}", 1)},
		"object without name":       {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"},
		"kustomization as data":     {"a.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [b.yaml]\n", "b.yaml": one},
		"kustomization a directory": {"kustomization.yaml/a.yaml": one, "b.yaml": two},
		"nested names parent":       {"a.yaml": one, "sub/kustomization.yaml": "resources: [../a.yaml]\n"},
		"nested names dir":          {"a.yaml": one, "sub/kustomization.yaml": "resources: [..]\n"},
		"nested names sibling":      {"a/kustomization.yaml": "resources: [../b.yaml]\n", "b.yaml": two, "c.yaml": one},
		"directory named yaml":      {"d.yaml/a.yaml": one, "b.yml": two},
		"kustomization in deeper":   {"a.yaml": one, "sub/deeper/kustomization.yml": "resources: [b.yaml]\n", "sub/deeper/b.yaml": two, "sub/c.yaml": strings.Replace(one, "one}", "c}", 1)},
		"list of objects":           {"a.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSuffix(one, "\n"), "\n", "\n  ") + "\n", "b.yaml": two},
		"anchors":                   {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: &d {k: v}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\ndata: *d\n"},
		"manifest in git metadata":  {"a.yaml": one, ".git/b.yaml": two},
	} {
		tests[name] = tcase{files: files}
	}
	return tests
}

// TestGeneratedKustomizationMatchesKustomize wants the render of a
// directory without a kustomization file (Flux's generated kustomization,
// rendered by the plain path) to give the objects, in order, or the error
// that kustomize gives, over varied trees.
func TestGeneratedKustomizationMatchesKustomize(t *testing.T) {
	tests := generatedCases()
	var once atomic.Int64 // trees read once, for the log
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.opts.Root = kustomize.WriteTree(t, tc.files)
			got, gotErr := kustomize.Build(context.Background(), tc.opts)
			want, wantErr := kustomize.Build(context.Background(), kustomize.NoPlain(tc.opts))
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, kustomize's %v", gotErr, wantErr)
			}
			if g, w := manifests(t, got), manifests(t, want); g != w {
				t.Errorf("plain path:\n%s\nkustomize:\n%s", g, w)
			}
			scan, flux := kustomize.GeneratedWays(t, tc.opts)
			if scan != nil && (flux == nil || strings.Join(scan, "\n") != strings.Join(flux, "\n")) {
				t.Errorf("read once:\n%s\nover Flux's kustomization:\n%s", strings.Join(scan, "\n"), strings.Join(flux, "\n"))
			}
			// A directory named as a kustomization file is left to Flux's
			// generator on purpose.
			if flux != nil && scan == nil && name != "kustomization a directory" {
				t.Error("the plain path takes the tree over Flux's kustomization, but not read once")
			}
			if scan != nil {
				once.Add(1)
			}
		})
	}
	t.Logf("%d of %d trees read once", once.Load(), len(tests))
}

// TestGeneratedKustomizationCachedMatchesFresh builds each tree of
// generatedCases twice with a render cache and wants the second build
// served from the cache whenever the generated path read the tree, with
// the objects of a build without cache byte for byte, in order (or its
// error): a directory without a kustomization file used to be rendered
// again by every plan, the listing of its files being no part of the
// cache's key.
func TestGeneratedKustomizationCachedMatchesFresh(t *testing.T) {
	var served atomic.Int64
	tests := generatedCases()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.opts.Root = kustomize.WriteTree(t, tc.files)
			fresh, freshErr := kustomize.Build(context.Background(), tc.opts)
			c := kustomize.NewCache(t.TempDir(), []byte("a test secret of 32 bytes or so."))
			cached := tc.opts
			cached.Cache, cached.CacheSlot = c, "kustomization.k"
			if _, err := kustomize.Build(context.Background(), cached); fmt.Sprint(err) != fmt.Sprint(freshErr) {
				t.Fatalf("first build with the cache: error %v, without cache %v", err, freshErr)
			}
			got, gotErr := kustomize.Build(context.Background(), cached)
			if fmt.Sprint(gotErr) != fmt.Sprint(freshErr) {
				t.Fatalf("second build with the cache: error %v, without cache %v", gotErr, freshErr)
			}
			if g, w := objectJSONs(t, got), objectJSONs(t, fresh); g != w {
				t.Errorf("served from the cache:\n%s\nwithout cache:\n%s", g, w)
			}
			scan, _ := kustomize.GeneratedWays(t, tc.opts)
			hit := kustomize.CacheHits(c) == 1
			if want := scan != nil && freshErr == nil; hit != want {
				t.Errorf("served from the cache: %v, want %v (the generated path reads the tree: %v)", hit, want, scan != nil)
			}
			if hit {
				served.Add(1)
			}
		})
	}
	t.Logf("%d of %d trees served from the cache", served.Load(), len(tests))
}

// objectJSONs returns the objects as JSON, one a line.
func objectJSONs(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var b strings.Builder
	for _, o := range objs {
		j, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestGeneratedKustomizationSkipsKustomize wants a directory of plain
// manifests without a kustomization file rendered without kustomize's
// pipeline: a kustomize build parses kustomize's OpenAPI schema again
// every time (some 35 ms and 300,000 allocations), which made a third of
// the CPU time of a no-change plan of 100 such kustomizations.
func TestGeneratedKustomizationSkipsKustomize(t *testing.T) {
	var y strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: ns}\ndata: {k: v}\n", i)
	}
	opts := kustomize.Options{Root: kustomize.WriteTree(t, map[string]string{"apps/objects.yaml": y.String()}), Path: "apps"}
	build := func(o kustomize.Options) func() {
		return func() {
			if objs, err := kustomize.Build(context.Background(), o); err != nil || len(objs) != 10 {
				t.Fatalf("build: %d objects, %v", len(objs), err)
			}
		}
	}
	plain := testing.AllocsPerRun(3, build(opts))
	full := testing.AllocsPerRun(3, build(kustomize.NoPlain(opts)))
	if plain*5 > full {
		t.Errorf("the render of a directory without a kustomization file made %.0f allocations, kustomize's %.0f: want a fifth or less", plain, full)
	}
}

// TestPlainRendersRunAtOnce renders two plain kustomizations at once and
// wants both renders under way together: every render used to hold one
// lock, so that a stack's kustomizations rendered one after the other
// whatever the plan's parallelism; only kustomize's pipeline needs to run
// alone.
func TestPlainRendersRunAtOnce(t *testing.T) {
	var wg sync.WaitGroup
	inside := make(chan struct{}, 2)
	both := make(chan struct{})
	var once sync.Once
	var alone atomic.Bool
	meet := func() {
		inside <- struct{}{}
		if len(inside) == 2 {
			once.Do(func() { close(both) })
		}
		select {
		case <-both:
		case <-time.After(5 * time.Second):
			alone.Store(true)
		}
	}
	errs := make(chan error, 2)
	for _, layout := range []map[string]string{
		{"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
		{"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"},
	} {
		opts := kustomize.OnRender(kustomize.Options{Root: kustomize.WriteTree(t, layout)}, meet)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := kustomize.Build(context.Background(), opts)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if alone.Load() {
		t.Error("the two plain renders ran one after the other, want them at once")
	}
}

// TestGeneratedKustomizationParsesOnce wants the manifests of a directory
// without a kustomization file read and parsed once: Flux's generator
// parsed every manifest to find the files that hold Kubernetes objects and
// the plain path then read and parsed each one again, a fifth of the CPU
// time of a no-change plan of 100 such directories. The render makes
// about as many allocations as that of the same files listed by a
// kustomization file (with the second parse, twice as many).
func TestGeneratedKustomizationParsesOnce(t *testing.T) {
	files := map[string]string{}
	var names []string
	for f := 0; f < 10; f++ {
		var y strings.Builder
		for i := 0; i < 10; i++ {
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d-%d, namespace: ns, labels: {app: a}}\ndata: {k: v, l: w}\n", f, i)
		}
		files[fmt.Sprintf("apps/f%d.yaml", f)] = y.String()
		names = append(names, fmt.Sprintf("f%d.yaml", f))
	}
	generated := kustomize.Options{Root: kustomize.WriteTree(t, files), Path: "apps"}
	files["apps/kustomization.yaml"] = "resources: [" + strings.Join(names, ", ") + "]\n"
	listed := kustomize.Options{Root: kustomize.WriteTree(t, files), Path: "apps"}
	build := func(o kustomize.Options) func() {
		return func() {
			if objs, err := kustomize.Build(context.Background(), o); err != nil || len(objs) != 100 {
				t.Fatalf("build: %d objects, %v", len(objs), err)
			}
		}
	}
	g := testing.AllocsPerRun(3, build(generated))
	l := testing.AllocsPerRun(3, build(listed))
	t.Logf("allocations: %.0f without a kustomization file, %.0f with one", g, l)
	if g > l*1.15 {
		t.Errorf("the render of a directory without a kustomization file made %.0f allocations, that of the same files listed by one %.0f: want at most 15%% more (each manifest parsed once)", g, l)
	}
}
