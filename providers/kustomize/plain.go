package kustomize

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// kustomizeMu keeps kustomize's pipeline apart from every other render.
// kustomize keeps its OpenAPI schema in a global, which Flux's Build
// resets (and a kustomization's openapi field replaces), under a lock of
// its own that the plain path cannot take; the plain path reads it for
// every resource's ID. So a render by kustomize holds this lock for
// writing, and the renders that do not run kustomize's pipeline (plain,
// from the cache) hold it for reading: any number of them at once.
var kustomizeMu sync.RWMutex

// plainResources renders the kustomization in dir without kustomize's
// pipeline when the whole tree is plain: every kustomization file it
// reaches has no field but resources (and apiVersion and kind), every
// resource is a local file or a directory with a kustomization file, no
// object is local configuration or carries kustomize's own annotations, and
// no two objects have the same ID. Such a build is kustomize's reading of
// the files in order and its check that IDs are unique, which kustomize
// does in quadratic time (its resource map finds an ID by a scan of the
// list), as do its later passes over the list; here it is one pass with a
// map. (Flux's build leaves the objects in the order read: it does not
// sort.) ok is false, with nothing read that
// matters, for any tree that is not plain or that kustomize would refuse:
// the caller then runs kustomize, which gives the same objects or the error.
// TestPlainMatchesKustomize checks that both give the same objects.
func plainResources(fs filesys.FileSystem, dir string) (out []*resource.Resource, ok bool) {
	p := newPlain(fs)
	if !p.dir(dir) {
		return nil, false
	}
	return p.finish()
}

func newPlain(fs filesys.FileSystem) *plain {
	return &plain{fs: fs, rf: provider.NewDefaultDepProvider().GetResourceFactory(), seen: map[string]bool{}, ids: map[idKey]bool{}}
}

// finish returns the objects accumulated, without kustomize's build
// annotations, as kustomize's build leaves them.
func (p *plain) finish() ([]*resource.Resource, bool) {
	for _, r := range p.out {
		r.RemoveBuildAnnotations()
		if r.SetOrigin(nil) != nil || r.ClearTransformations() != nil {
			return nil, false
		}
	}
	return p.out, true
}

type plain struct {
	fs   filesys.FileSystem
	rf   *resource.Factory
	seen map[string]bool
	ids  map[idKey]bool
	out  []*resource.Resource
}

// idKey is a resource ID as kustomize compares them (resid.ResId.Equals).
type idKey struct {
	group, version, kind, name, namespace string
}

// plainKeys are the fields a plain kustomization may have.
var plainKeys = []string{"apiVersion", "kind", "resources"}

// dir accumulates the kustomization in dir.
func (p *plain) dir(dir string) bool {
	if p.seen[dir] {
		return false // a cycle or a directory included twice: kustomize decides
	}
	p.seen[dir] = true
	var kfile string
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if p.fs.Exists(filepath.Join(dir, n)) {
			if kfile != "" {
				return false
			}
			kfile = filepath.Join(dir, n)
		}
	}
	if kfile == "" {
		return false
	}
	data, err := p.fs.ReadFile(kfile)
	if err != nil {
		return false
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil {
		return false
	}
	for f, v := range k {
		if !slices.Contains(plainKeys, f) {
			return false
		}
		s, _ := v.(string)
		if f == "apiVersion" && s != "kustomize.config.k8s.io/v1beta1" || f == "kind" && s != "Kustomization" {
			return false
		}
	}
	for _, v := range items(k["resources"]) {
		s, isString := v.(string)
		if !isString || s == "" || filepath.IsAbs(s) || isRemote(s) || isGitRepo(s) {
			return false
		}
		if !p.resource(filepath.Join(dir, s)) {
			return false
		}
	}
	return k["resources"] == nil || items(k["resources"]) != nil
}

// resource accumulates one entry of resources: a directory or a file.
func (p *plain) resource(path string) bool {
	if p.fs.IsDir(path) {
		return p.dir(path)
	}
	if slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)) {
		return false
	}
	data, err := p.fs.ReadFile(path)
	if err != nil {
		return false
	}
	rs, err := sliceFromBytes(p.rf, data)
	if err != nil {
		return false
	}
	for _, r := range rs {
		if !p.add(r) {
			return false
		}
	}
	return true
}

// add appends r unless it is not plain or its ID is taken.
func (p *plain) add(r *resource.Resource) bool {
	for a := range r.GetAnnotations() {
		if strings.HasPrefix(a, "config.kubernetes.io/") || strings.HasPrefix(a, "internal.config.kubernetes.io/") ||
			strings.HasPrefix(a, "config.k8s.io/") || strings.HasPrefix(a, "kustomize.config.k8s.io/") {
			return false
		}
	}
	id := r.CurId()
	key := idKey{id.Group, id.Version, id.Kind, id.Name, id.EffectiveNamespace()}
	if p.ids[key] || id.Name == "" || id.Kind == "" {
		return false
	}
	p.ids[key] = true
	p.out = append(p.out, r)
	return true
}

// sliceFromBytes gives what rf.SliceFromBytes gives, without kyaml's
// de-anchoring of the documents that it leaves as they are. kyaml
// de-anchors every document it reads: for every mapping it copies the
// mapping twice and sets each of its fields again, which was a third of
// the CPU time of a plain render. That changes a document only where it
// has an anchor, an alias, a merge key ("<<") or a key twice in one
// mapping (see needsDeAnchor); documents with any of these, and files
// with anything else that SliceFromBytes treats specially (lists, local
// configuration, empty items, bad metadata), go through SliceFromBytes
// itself. TestSliceFromBytesMatchesKustomize checks both give the same.
func sliceFromBytes(rf *resource.Factory, data []byte) ([]*resource.Resource, error) {
	nodes, err := (&kio.ByteReader{OmitReaderAnnotations: true, Reader: bytes.NewBuffer(data)}).Read()
	if err != nil {
		return rf.SliceFromBytes(data)
	}
	keep := make([]*kyaml.RNode, 0, len(nodes))
	for _, n := range nodes {
		if needsDeAnchor(n.YNode()) {
			if err := n.DeAnchor(); err != nil {
				return rf.SliceFromBytes(data)
			}
		}
		if n.IsNilOrEmpty() {
			continue
		}
		if strings.HasSuffix(n.GetKind(), "List") || len(n.GetAnnotations()) > 0 && special(n.GetAnnotations()) {
			return rf.SliceFromBytes(data)
		}
		if found, _ := n.HasNilEntryInList(); found {
			return rf.SliceFromBytes(data)
		}
		keep = append(keep, n)
	}
	rs, err := rf.ResourcesFromRNodes(keep)
	if err != nil || len(rs) != len(keep) {
		return rf.SliceFromBytes(data)
	}
	return rs, nil
}

// special reports whether annotations hold one of kustomize's own, which
// ResourcesFromRNodes may act on (local configuration) where
// SliceFromBytes does not.
func special(annotations map[string]string) bool {
	for a := range annotations {
		if strings.Contains(a, "config.kubernetes.io/") || strings.Contains(a, "config.k8s.io/") {
			return true
		}
	}
	return false
}

// needsDeAnchor reports whether kyaml's DeAnchor could change the node:
// whether it or a node under it has an anchor or is an alias, or is a
// mapping with a merge key ("<<", tagged or not) or with two keys of the
// same value (DeAnchor sets every field again by key: the later value
// would replace the earlier one). Otherwise DeAnchor leaves a copy that is
// equal in every field.
func needsDeAnchor(n *kyaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Anchor != "" || n.Kind == kyaml.AliasNode {
		return true
	}
	if n.Kind == kyaml.MappingNode && mergesOrRepeats(n.Content) {
		return true
	}
	for _, c := range n.Content {
		if needsDeAnchor(c) {
			return true
		}
	}
	return false
}

// mergesOrRepeats reports whether the keys of a mapping's content hold a
// merge key or a value twice.
func mergesOrRepeats(content []*kyaml.Node) bool {
	var seen map[string]bool
	if len(content) > 32 {
		seen = make(map[string]bool, len(content)/2)
	}
	for i := 0; i < len(content); i += 2 {
		k := content[i]
		if k.Tag == kyaml.MergeTag || k.Value == "<<" {
			return true
		}
		if seen != nil {
			if seen[k.Value] {
				return true
			}
			seen[k.Value] = true
			continue
		}
		for j := 0; j < i; j += 2 {
			if content[j].Value == k.Value {
				return true
			}
		}
	}
	return false
}
