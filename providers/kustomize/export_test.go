package kustomize

import (
	"fmt"
	"path/filepath"
	"testing"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	securefs "github.com/fluxcd/pkg/kustomize/filesys"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Test helpers for the external tests (package kustomize_test).
var (
	WriteTree = writeTree
	Summary   = summary
)

// OnRender returns o with f called as each render of Build starts, under
// the lock that keeps kustomize's pipeline apart (kustomizeMu).
func OnRender(o Options, f func()) Options {
	o.onRender = f
	return o
}

// NoPlain returns o with the plain path turned off: Build runs kustomize.
func NoPlain(o Options) Options {
	o.noPlain = true
	return o
}

// PlainAccepts reports whether the plain path takes the tree of o.
func PlainAccepts(t *testing.T, o Options) bool {
	t.Helper()
	root, dir, err := resolve(o.Root, o.Path)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := securefs.MakeFsOnDiskSecure(root)
	if err != nil {
		t.Fatal(err)
	}
	_, ok := plainResources(&overlayFS{FileSystem: disk, root: root}, dir)
	return ok && o.plain()
}

// renderInputs returns what render takes for the tree of o: its root and
// directory, the kustomization Flux would use and the secure disk.
func renderInputs(t *testing.T, o Options) (root, dir string, ks unstructured.Unstructured, disk filesys.FileSystem) {
	t.Helper()
	root, dir, err := resolve(o.Root, o.Path)
	if err != nil {
		t.Fatal(err)
	}
	if ks, err = o.fluxKustomization(); err != nil {
		t.Fatal(err)
	}
	if disk, err = securefs.MakeFsOnDiskSecure(root); err != nil {
		t.Fatal(err)
	}
	return root, dir, ks, disk
}

// ObjectJSONs renders the tree of o (before substitution) and returns, for
// every object, its JSON by objectJSON and by kustomize's MarshalJSON.
func ObjectJSONs(t *testing.T, o Options) (fast, kustomize []string) {
	t.Helper()
	root, dir, ks, disk := renderInputs(t, o)
	kustomizeMu.Lock()
	defer kustomizeMu.Unlock()
	rs, err := render(o, root, dir, disk, ks, newDecryption(root, o), nil, true)
	if err != nil {
		return nil, nil
	}
	for _, r := range rs {
		f, ferr := objectJSON(r)
		k, kerr := r.MarshalJSON()
		fast = append(fast, fmt.Sprint(string(f), ferr))
		kustomize = append(kustomize, fmt.Sprint(string(k), kerr))
	}
	return fast, kustomize
}

// CacheHits returns how many Builds c served.
func CacheHits(c *Cache) int64 { return c.hits.Load() }

// GeneratedWays renders the directory of o, which has no kustomization
// file, both ways the plain path takes it: by generatedResources (scan)
// and over the kustomization Flux's generator writes for it (flux). Each
// is the JSON of every object, or nil when that way does not take the
// tree.
func GeneratedWays(t *testing.T, o Options) (scan, flux []string) {
	t.Helper()
	root, dir, ks, disk := renderInputs(t, o)
	kustomizeMu.RLock()
	defer kustomizeMu.RUnlock()
	jsons := func(rs []*resource.Resource, ok bool) []string {
		if !ok {
			return nil
		}
		out := []string{}
		for _, r := range rs {
			j, err := r.MarshalJSON()
			out = append(out, fmt.Sprint(string(j), err))
		}
		return out
	}
	scan = jsons(generatedResources(disk, &overlayFS{FileSystem: disk, root: root, decrypt: newDecryption(root, o)}, dir))
	manifest, kfile, action, err := fluxkustomize.NewGenerator(root, ks).GenerateManifest(dir)
	if err != nil || action != fluxkustomize.CreatedAction {
		return scan, nil
	}
	gfs := &overlayFS{FileSystem: disk, path: filepath.Clean(kfile), data: manifest, root: root, decrypt: newDecryption(root, o)}
	return scan, jsons(plainResources(gfs, dir))
}
