package kustomize

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/strata-gitops/strata/providers/sops"
)

// generatedResources renders the directory dir, which has no kustomization
// file, as the plain path renders the kustomization Flux's generator
// writes for it (render's other way: GenerateManifest, then plainResources
// over its manifest), but reads and parses every manifest once. Flux's
// generator parses each manifest to find which files hold Kubernetes
// objects, and the plain path then read and parsed each one again: a
// fifth of the CPU time of a no-change plan of 100 such directories.
//
// The scan is Flux's (scanManifests, for NewGenerator: no ignore
// patterns) on the same file system disk, walked in the same order: a
// directory with a kustomization file is a resource and is not entered,
// every .yaml or .yml file is a resource; fs reads the files as the plain
// path does. ok is false for anything this does not decide as Flux's
// generator and the plain path together would, with nothing read that
// matters: a kustomization file (or a directory of that name) in dir, a
// walk error, a file that cannot be read or parsed, a SOPS-encrypted
// manifest (the plain path decrypts it, Flux's scan parses it as it is),
// no manifest, or a tree the plain path does not take. The caller then
// goes the other way, which gives the same objects or the error.
// TestGeneratedKustomizationMatchesKustomize checks the objects against
// kustomize's, TestGeneratedKustomizationParsesOnce the single parse.
func generatedResources(disk, fs filesys.FileSystem, dir string) ([]*resource.Resource, bool) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if disk.Exists(filepath.Join(dir, n)) {
			return nil, false
		}
	}
	p := newPlain(fs)
	entries, ok := p.scan(disk, dir)
	if !ok || len(entries) == 0 {
		return nil, false // none: Flux's kustomization has a namespace, not plain
	}
	p.seen[dir] = true
	for _, e := range entries {
		// The entry as Flux's kustomization names it, read back by the
		// plain path.
		s := strings.Replace(e.path, dir, ".", 1)
		if !printable(s) || filepath.IsAbs(s) || isRemote(s) || isGitRepo(s) {
			return nil, false
		}
		path := filepath.Join(dir, s)
		if e.dir {
			if !p.resource(path) {
				return nil, false
			}
			continue
		}
		if slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)) {
			return nil, false
		}
		for _, r := range e.resources {
			if !p.add(r) {
				return nil, false
			}
		}
	}
	return p.finish()
}

// scanEntry is a resource of the kustomization Flux generates: a
// directory with a kustomization file, or a manifest and its objects.
type scanEntry struct {
	path      string
	dir       bool
	resources []*resource.Resource
}

// errNotScanned stops the walk of scan at a file it leaves to Flux.
var errNotScanned = errors.New("not scanned")

// scan returns the resources of the kustomization Flux generates for dir,
// in its order, each manifest read and parsed; ok is false where
// generatedResources says.
func (p *plain) scan(disk filesys.FileSystem, dir string) (entries []scanEntry, ok bool) {
	err := disk.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		if info.IsDir() {
			for _, n := range konfig.RecognizedKustomizationFileNames() {
				if k := filepath.Join(path, n); disk.Exists(k) && !disk.IsDir(k) {
					entries = append(entries, scanEntry{path: path, dir: true})
					return filepath.SkipDir
				}
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		rs, ok := p.parse(path)
		if !ok {
			return errNotScanned
		}
		entries = append(entries, scanEntry{path: path, resources: rs})
		return nil
	})
	return entries, err == nil
}

// parse reads and parses the manifest path, as the plain path does; ok is
// false where Flux's scan or the plain path would fail or where the plain
// path would decrypt the file.
func (p *plain) parse(path string) (rs []*resource.Resource, ok bool) {
	data, err := p.fs.ReadFile(path)
	if err != nil || sops.Encrypted(data, sops.FormatForPath(path)) {
		return nil, false
	}
	// kustomize's YAML parser can panic on bad input; Flux's scan
	// recovers and fails, and so does the other way.
	defer func() {
		if r := recover(); r != nil {
			rs, ok = nil, false
		}
	}()
	if rs, err = sliceFromBytes(p.rf, data); err != nil {
		return nil, false
	}
	return rs, true
}

// printable reports whether s is valid UTF-8 of printable characters
// only: a name that Flux's kustomization, YAML written and read back,
// surely names as it is.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}
