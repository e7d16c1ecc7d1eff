package kustomize

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/providers/sops"
)

// cacheTree is a plain tree: a nested kustomization, a file with several
// objects and a variable to substitute.
func cacheTree() map[string]string {
	return map[string]string{
		"app/kustomization.yaml":     "resources: [objects.yaml, sub]\n",
		"app/objects.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"${v:=none}\", n: \"1\"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 2}\n",
		"app/sub/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/sub/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: x}\ndata: {big: \"12345678901234567890\"}\n",
		"other/kustomization.yaml":   "resources: [cm.yaml]\n",
		"other/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
	}
}

// TestCacheNeverStale builds a tree with a render cache, again unchanged
// (served from the cache, the same objects), then changes one input at a
// time and wants a miss and the objects (or the error) of a build without
// cache: every file read, a kustomization file added beside one, a file
// replaced by a symbolic link to another, each option that changes the
// objects, the path and the root. Builds that decrypt or that kustomize
// renders (patches) are not kept.
func TestCacheNeverStale(t *testing.T) {
	type step struct {
		edit func(t *testing.T, root string, o *Options)
		hit  bool
	}
	write := func(p, data string) func(*testing.T, string, *Options) {
		return func(t *testing.T, root string, _ *Options) {
			t.Helper()
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	opt := func(f func(o *Options)) func(*testing.T, string, *Options) {
		return func(_ *testing.T, _ string, o *Options) { f(o) }
	}
	tests := map[string]step{
		"unchanged": {edit: func(*testing.T, string, *Options) {}, hit: true},
		"resource file": {edit: write("app/objects.yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"${v:=none}\", n: \"2\"}\n")},
		"nested resource file":                 {edit: write("app/sub/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: y}\n")},
		"kustomization file":                   {edit: write("app/kustomization.yaml", "resources: [objects.yaml]\n")},
		"second kustomization file beside one": {edit: write("app/sub/kustomization.yml", "resources: []\n")},
		"file replaced by a symbolic link": {edit: func(t *testing.T, root string, _ *Options) {
			p := filepath.Join(root, "app/sub/cm.yaml")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(root, "other/cm.yaml"), p); err != nil {
				t.Fatal(err)
			}
		}},
		"substitution value":  {edit: opt(func(o *Options) { o.Substitute = map[string]string{"v": "2"} })},
		"strict substitution": {edit: opt(func(o *Options) { o.StrictSubstitute = true })},
		"common label":        {edit: opt(func(o *Options) { o.CommonLabels = map[string]string{"team": "a"} })},
		"common annotation":   {edit: opt(func(o *Options) { o.CommonAnnotations = map[string]string{"team": "a"} })},
		"path":                {edit: opt(func(o *Options) { o.Path = "other" })},
		"root": {edit: opt(func(o *Options) {
			o.Root = writeTree(t, map[string]string{"app/kustomization.yaml": "resources: []\n"})
		})},
		"decryption": {edit: opt(func(o *Options) { o.Decryptor = &sops.Decryptor{} })},
		"patches (kustomize)": {edit: opt(func(o *Options) {
			o.Patches = []Patch{{Patch: "[{op: add, path: /data/p, value: q}]", Target: &Selector{Name: "a"}}}
		})},
		"another cache slot":         {edit: opt(func(o *Options) { o.CacheSlot = "other" })},
		"same substitution, new map": {edit: opt(func(o *Options) { o.Substitute = map[string]string{"v": "1"} }), hit: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := writeTree(t, cacheTree())
			c := NewCache(filepath.Join(t.TempDir(), "renders"), testSecret)
			opts := Options{Root: root, Path: "app", Substitute: map[string]string{"v": "1"}, Cache: c, CacheSlot: "kustomization.app"}
			first, err := Build(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.hits.Load() != 0 || len(first) != 3 {
				t.Fatalf("first build: %d hits, %d objects", c.hits.Load(), len(first))
			}
			tc.edit(t, root, &opts)
			got, gotErr := Build(context.Background(), opts)
			if hit := c.hits.Load() == 1; hit != tc.hit {
				t.Fatalf("served from the cache: %v, want %v", hit, tc.hit)
			}
			uncached := opts
			uncached.Cache = nil
			want, wantErr := Build(context.Background(), uncached)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, without cache %v", gotErr, wantErr)
			}
			if d := cmp.Diff(objects(want), objects(got)); d != "" {
				t.Errorf("objects (-without cache +with cache):\n%s", d)
			}
			// Built again as edited: served, unless the build is not kept.
			if _, err := Build(context.Background(), opts); err == nil {
				kept := opts.cacheable() && gotErr == nil
				if again := c.hits.Load() - btoi(tc.hit); (again == 1) != kept {
					t.Errorf("served the edited tree from the cache: %v, want %v", again == 1, kept)
				}
			}
		})
	}
}

func btoi(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func objects(objs []*unstructured.Unstructured) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		out = append(out, o.Object)
	}
	return out
}

// TestCacheKeepsJSONValues wants the objects served from the cache to be
// the objects built, value types included (int64, float64): a plan compares
// them with the cluster's.
func TestCacheKeepsJSONValues(t *testing.T) {
	root := writeTree(t, map[string]string{
		"kustomization.yaml": "resources: [w.yaml]\n",
		"w.yaml":             "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {i: 3, f: 2.5, big: 12345678901234567890, e: 1e21, b: true, n: null, l: [1, a]}\n",
	})
	c := NewCache(t.TempDir(), testSecret)
	opts := Options{Root: root, Cache: c, CacheSlot: "s"}
	built, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	served, err := Build(context.Background(), opts)
	if err != nil || c.hits.Load() != 1 {
		t.Fatalf("not served from the cache (%v)", err)
	}
	if d := cmp.Diff(objects(built), objects(served)); d != "" {
		t.Errorf("(-built +served):\n%s", d)
	}
}

var testSecret = []byte("a test secret of 32 bytes or so.")

// TestCacheTrustsOnlyItsOwnEntries checks that an entry the cache did not
// write under its secret is a miss: a .strata directory committed by a pull
// request can hold an entry whose inputs match the tree and whose objects
// do not (here: edited after the write, and written under another secret).
func TestCacheTrustsOnlyItsOwnEntries(t *testing.T) {
	root := writeTree(t, cacheTree())
	dir := t.TempDir()
	build := func(c *Cache) []*unstructured.Unstructured {
		t.Helper()
		objs, err := Build(context.Background(), Options{Root: root, Path: "app", Substitute: map[string]string{"v": "1"}, Cache: c, CacheSlot: "k"})
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	want := build(NewCache(dir, testSecret))
	// Another secret: the committer's cache.
	other := NewCache(dir, []byte("the committer's own secret, 32 b"))
	build(other)
	if other.hits.Load() != 0 {
		t.Fatal("an entry written under another secret was used")
	}
	// The entry of the other secret, now with its objects poisoned.
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	poisoned := strings.Replace(string(b), `"replicas":2`, `"replicas":9`, 1)
	if poisoned == string(b) {
		t.Fatalf("test entry holds no value to poison: %s", b)
	}
	if err := os.WriteFile(files[0], []byte(poisoned), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Cache{"own secret": NewCache(dir, testSecret), "other secret": NewCache(dir, []byte("the committer's own secret, 32 b"))} {
		got := build(c)
		if c.hits.Load() != 0 {
			t.Errorf("%s: a poisoned entry was used", name)
		}
		for i := range got {
			if fmt.Sprint(got[i].Object) != fmt.Sprint(want[i].Object) {
				t.Errorf("%s: object %d = %v, want %v", name, i, got[i].Object, want[i].Object)
			}
		}
	}
}
