package kustomize

import (
	"context"
	"encoding/json"
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

// cacheStep is a change of a kustomization's files or options after a
// build with a render cache, and whether the next build is served from
// the cache (hit) and the one after it not (unkept: the edited tree is
// rendered by a path that the cache does not keep).
type cacheStep struct {
	edit   func(t *testing.T, root string, o *Options)
	hit    bool
	unkept bool
}

// writeStep writes the file p of the tree.
func writeStep(p, data string) func(*testing.T, string, *Options) {
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

// fileStep runs f on the file p of the tree (f is os.Remove, say).
func fileStep(f func(string) error, p string) func(*testing.T, string, *Options) {
	return func(t *testing.T, root string, _ *Options) {
		t.Helper()
		if err := f(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
}

// renameStep renames the file from of the tree to to.
func renameStep(from, to string) func(*testing.T, string, *Options) {
	return fileStep(func(p string) error { return os.Rename(p, filepath.Join(filepath.Dir(p), to)) }, from)
}

// linkStep replaces the file p of the tree with a symbolic link to the
// file target (relative to the tree).
func linkStep(p, target string) func(*testing.T, string, *Options) {
	return func(t *testing.T, root string, _ *Options) {
		t.Helper()
		_ = os.Remove(filepath.Join(root, p))
		if err := os.Symlink(filepath.Join(root, target), filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
}

// optStep changes the options.
func optStep(f func(o *Options)) func(*testing.T, string, *Options) {
	return func(_ *testing.T, _ string, o *Options) { f(o) }
}

// runCacheSteps builds files with base (its Root set) and a render cache,
// wants objects objects, then for each step: edits a new copy, builds it
// again and wants the step's hit or miss and the objects (or the error)
// of a build without cache, and the edited tree served by the build after.
func runCacheSteps(t *testing.T, files map[string]string, base Options, objects int, steps map[string]cacheStep) {
	for name, tc := range steps {
		t.Run(name, func(t *testing.T) {
			root := writeTree(t, files)
			c := NewCache(filepath.Join(t.TempDir(), "renders"), testSecret)
			opts := base
			opts.Root, opts.Cache, opts.CacheSlot = root, c, "kustomization.app"
			first, err := Build(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.hits.Load() != 0 || len(first) != objects {
				t.Fatalf("first build: %d hits, %d objects, want 0 and %d", c.hits.Load(), len(first), objects)
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
			if d := cmp.Diff(jsonLines(t, want), jsonLines(t, got)); d != "" {
				t.Errorf("objects (-without cache +with cache):\n%s", d)
			}
			// Built again as edited: served, unless the build is not kept.
			if _, err := Build(context.Background(), opts); err == nil {
				kept := opts.cacheable() && gotErr == nil && !tc.unkept
				if again := c.hits.Load() - btoi(tc.hit); (again == 1) != kept {
					t.Errorf("served the edited tree from the cache: %v, want %v", again == 1, kept)
				}
			}
		})
	}
}

// jsonLines returns the objects as JSON, one a line: byte for byte.
func jsonLines(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	var out []string
	for _, o := range objs {
		j, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(j))
	}
	return out
}

// TestCacheNeverStale builds a tree with a render cache, again unchanged
// (served from the cache, the same objects), then changes one input at a
// time and wants a miss and the objects (or the error) of a build without
// cache: every file read, a kustomization file added beside one, a file
// replaced by a symbolic link to another, each option that changes the
// objects, the path and the root. Builds that decrypt or that kustomize
// renders (patches) are not kept.
func TestCacheNeverStale(t *testing.T) {
	write, opt := writeStep, optStep
	runCacheSteps(t, cacheTree(), Options{Path: "app", Substitute: map[string]string{"v": "1"}}, 3, map[string]cacheStep{
		"unchanged": {edit: func(*testing.T, string, *Options) {}, hit: true},
		"resource file": {edit: write("app/objects.yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"${v:=none}\", n: \"2\"}\n")},
		"nested resource file":                 {edit: write("app/sub/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: y}\n")},
		"kustomization file":                   {edit: write("app/kustomization.yaml", "resources: [objects.yaml]\n")},
		"second kustomization file beside one": {edit: write("app/sub/kustomization.yml", "resources: []\n")},
		"file replaced by a symbolic link":     {edit: linkStep("app/sub/cm.yaml", "other/cm.yaml")},
		"substitution value":                   {edit: opt(func(o *Options) { o.Substitute = map[string]string{"v": "2"} })},
		"strict substitution":                  {edit: opt(func(o *Options) { o.StrictSubstitute = true })},
		"common label":                         {edit: opt(func(o *Options) { o.CommonLabels = map[string]string{"team": "a"} })},
		"common annotation":                    {edit: opt(func(o *Options) { o.CommonAnnotations = map[string]string{"team": "a"} })},
		"path":                                 {edit: opt(func(o *Options) { o.Path = "other" })},
		"root": {edit: opt(func(o *Options) {
			o.Root = writeTree(t, map[string]string{"app/kustomization.yaml": "resources: []\n"})
		})},
		"decryption": {edit: opt(func(o *Options) { o.Decryptor = &sops.Decryptor{} })},
		"patches (kustomize)": {edit: opt(func(o *Options) {
			o.Patches = []Patch{{Patch: "[{op: add, path: /data/p, value: q}]", Target: &Selector{Name: "a"}}}
		})},
		"another cache slot":         {edit: opt(func(o *Options) { o.CacheSlot = "other" })},
		"same substitution, new map": {edit: opt(func(o *Options) { o.Substitute = map[string]string{"v": "1"} }), hit: true},
	})
}

// generatedCacheTree is a directory without a kustomization file (app),
// whose generated kustomization takes every manifest below it: files
// beside other files, a nested directory, and a directory with a
// kustomization file (taken whole).
func generatedCacheTree() map[string]string {
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {v: \"${v:=none}\"}\n"
	}
	return map[string]string{
		"app/a.yaml":                  cm("a") + "---\n" + cm("a2"),
		"app/b.yml":                   cm("b"),
		"app/README.md":               "not a manifest\n",
		"app/nested/c.yaml":           cm("c"),
		"app/nested/deeper/d.yaml":    cm("d"),
		"app/base/kustomization.yaml": "resources: [e.yaml]\n",
		"app/base/e.yaml":             cm("e"),
		"app/base/unlisted.yaml":      cm("unlisted"),
		"other/same-as-b.yaml":        cm("b"),
		"other/kustomization.yaml":    "resources: [same-as-b.yaml]\n",
	}
}

// TestCacheNeverStaleGenerated is TestCacheNeverStale for a directory
// without a kustomization file, whose render depends on the listing of
// its directories as well as on the files read: each kind of change of
// the tree below it is a miss with the objects of a build without cache
// (a file added, removed, renamed (the order of the objects changes) or
// edited, in the directory or a nested one, a nested directory added, a
// kustomization file added to a nested directory or to the directory,
// a file replaced by a symbolic link to a file of the same content, a
// non-manifest added, an empty directory added, strata's directory
// added), and the edited tree is served the next time. Such a
// directory's render used not to be kept at all.
func TestCacheNeverStaleGenerated(t *testing.T) {
	write := writeStep
	cm := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n" }
	runCacheSteps(t, generatedCacheTree(), Options{Path: "app", Substitute: map[string]string{"v": "1"}}, 6, map[string]cacheStep{
		"unchanged":                                      {edit: func(*testing.T, string, *Options) {}, hit: true},
		"file edited":                                    {edit: write("app/b.yml", cm("b-edited"))},
		"file edited, same size":                         {edit: write("app/b.yml", strings.Replace(generatedCacheTree()["app/b.yml"], "{name: b}", "{name: x}", 1))},
		"file added":                                     {edit: write("app/f.yaml", cm("f"))},
		"file added first":                               {edit: write("app/0.yaml", cm("zero"))},
		"yml file added":                                 {edit: write("app/f.yml", cm("f"))},
		"file removed":                                   {edit: fileStep(os.Remove, "app/b.yml")},
		"file renamed":                                   {edit: renameStep("app/b.yml", "0.yml")},
		"file renamed to a non-manifest":                 {edit: renameStep("app/b.yml", "b.txt")},
		"non-manifest renamed to one":                    {edit: renameStep("app/README.md", "readme.yaml")},
		"nested file edited":                             {edit: write("app/nested/deeper/d.yaml", cm("d-edited"))},
		"nested file added":                              {edit: write("app/nested/f.yaml", cm("f"))},
		"nested file removed":                            {edit: fileStep(os.Remove, "app/nested/c.yaml")},
		"nested file renamed":                            {edit: renameStep("app/nested/c.yaml", "z.yaml")},
		"nested directory added":                         {edit: write("app/new/f.yaml", cm("f"))},
		"nested directory renamed":                       {edit: renameStep("app/nested", "0nested")},
		"nested directory removed":                       {edit: fileStep(os.RemoveAll, "app/nested")},
		"kustomization file nested":                      {edit: write("app/nested/kustomization.yaml", "resources: [c.yaml]\n")},
		"kustomization file in the directory":            {edit: write("app/kustomization.yaml", "resources: [a.yaml]\n")},
		"file of a nested kustomization":                 {edit: write("app/base/e.yaml", cm("e-edited"))},
		"unlisted file of a nested kustomization edited": {edit: write("app/base/unlisted.yaml", cm("u")), hit: true},
		"nested kustomization file":                      {edit: write("app/base/kustomization.yaml", "resources: [e.yaml, unlisted.yaml]\n")},
		"file replaced by a symbolic link, same content": {edit: linkStep("app/b.yml", "other/same-as-b.yaml")},
		"non-manifest added":                             {edit: write("app/notes.txt", "notes\n")},
		"empty directory added":                          {edit: fileStep(func(p string) error { return os.Mkdir(p, 0o755) }, "app/empty")},
		"strata's directory added":                       {edit: write("app/.strata/x.yaml", cm("x")), unkept: true},
		"not a manifest any more":                        {edit: write("app/b.yml", "{{{"), unkept: true},
	})
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

// TestCacheHitDecodesOnce wants a render served from the cache to decode
// each object once, without reflection: the entry held the objects as raw
// messages of one JSON document, scanned whole before each object was
// decoded again through Unstructured's UnmarshalJSON (some 53 allocations
// an object of bigTree; now some 37).
func TestCacheHitDecodesOnce(t *testing.T) {
	tree := bigTree(200)
	delete(tree, "kustomization.yaml") // a directory without one, as BenchmarkScale's
	c := NewCache(t.TempDir(), testSecret)
	opts := Options{Root: writeTree(t, tree), Cache: c, CacheSlot: "k"}
	if _, err := Build(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(3, func() {
		if objs, err := Build(context.Background(), opts); err != nil || len(objs) != 200 {
			t.Fatalf("%d objects, %v", len(objs), err)
		}
	})
	if c.hits.Load() < 3 {
		t.Fatalf("%d builds served from the cache, want every one", c.hits.Load())
	}
	if per := n / 200; per > 45 {
		t.Errorf("a cache hit made %.0f allocations an object, want at most 45", per)
	}
}
