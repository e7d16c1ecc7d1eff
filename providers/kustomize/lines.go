package kustomize

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/strata-gitops/strata/internal/confine"
)

// Lines says where, in one file of a kustomization's tree, the objects a
// Build made from that file are declared, so that an error at an object
// can name FILE:LINE. The zero Lines knows no line.
type Lines struct {
	decls []declaration
}

// declaration is one object a file declares: a YAML document, or an
// entry of a generator of a kustomization file.
type declaration struct {
	kind, namespace, name string
	line                  int
	// generated marks a generator's entry: the names of its objects end
	// with a hash ("settings-7c9h2m5d4t") unless the hash is disabled.
	generated bool
}

// ReadLines is ParseLines of the file at name, relative to root (as Origin
// names it, with Options.Root), read only inside root (see
// confine.Resolve); the zero Lines when it cannot be read.
func ReadLines(root, name string) Lines {
	p, err := confine.Resolve(root, filepath.FromSlash(name))
	if err != nil {
		return Lines{}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return Lines{}
	}
	return ParseLines(data)
}

// ParseLines reads data, the content of a YAML file of one or more
// documents, for Lines.Line: each document's kind, metadata.namespace,
// metadata.name and the line where its content starts (after comments and
// "---"), each item of a document of a List kind (kind: List,
// ConfigMapList, ...: kustomize reads its items as objects; the line of
// the item's "- "), and in a kustomization file each configMapGenerator
// and secretGenerator entry (the line of its "- name:"). Only kinds,
// namespaces and names are kept, never values; a SOPS-encrypted file is
// read as it is on disk. A file that does not parse gives the zero Lines.
func ParseLines(data []byte) Lines {
	var l Lines
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return l
		}
		if err != nil {
			return Lines{}
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[0]
		if !strings.HasPrefix(scalar(m, "apiVersion"), "kustomize.config.k8s.io/") {
			l.object(m, 0)
		}
		for _, g := range generators {
			if gen := value(m, g.key); gen != nil && gen.Kind == yaml.SequenceNode {
				for _, e := range gen.Content {
					if e.Kind == yaml.MappingNode {
						l.decls = append(l.decls, declaration{kind: g.kind, namespace: scalar(e, "namespace"),
							name: scalar(e, "name"), line: e.Line, generated: true})
					}
				}
			}
		}
	}
}

// maxListDepth bounds the Lists within Lists that object reads.
const maxListDepth = 8

// object adds the declaration of m, an object's mapping, or of its items
// when it is a List (a kind ending in "List" with a sequence of items, as
// kustomize expands it), depth Lists deep.
func (l *Lines) object(m *yaml.Node, depth int) {
	kind := scalar(m, "kind")
	if kind == "" {
		return
	}
	if items := value(m, "items"); strings.HasSuffix(kind, "List") && items != nil && items.Kind == yaml.SequenceNode {
		if depth < maxListDepth {
			for _, it := range items.Content {
				if it.Kind == yaml.MappingNode {
					l.object(it, depth+1)
				}
			}
		}
		return
	}
	meta := value(m, "metadata")
	l.decls = append(l.decls, declaration{kind: kind, namespace: scalar(meta, "namespace"), name: scalar(meta, "name"), line: m.Line})
}

// Line returns the line (from 1) where the object of kind named name in
// namespace (as the Build rendered it, "" for a cluster-scoped object) is
// declared in the file; 0 when not known. Of the declarations with that
// kind and name, the one in namespace is taken, else the only one without
// a namespace (it got one from the kustomization or the plan), else the
// only one. A kustomization's namePrefix or nameSuffix changes names, so
// when no declaration has that kind and name, the file's only declaration
// of that kind is taken (its namespace says nothing: the kustomization's
// namespace may have replaced it), else the file's only document (its kind
// encrypted, say); a generator's entry matches the names with its hash.
func (l Lines) Line(kind, namespace, name string) int {
	var named, ofKind []declaration
	for _, d := range l.decls {
		if d.kind != kind {
			continue
		}
		if d.name == name || d.generated && d.name != "" && strings.HasPrefix(name, d.name+"-") && !strings.Contains(name[len(d.name)+1:], "-") {
			named = append(named, d)
		}
		ofKind = append(ofKind, d)
	}
	if len(named) > 0 {
		return inNamespace(named, namespace)
	}
	switch {
	case len(ofKind) == 1:
		return ofKind[0].line
	case len(l.decls) == 1 && !l.decls[0].generated:
		return l.decls[0].line
	}
	return 0
}

// inNamespace returns the line of the declaration of ds in namespace, else
// of the only one without a namespace, else of the only one; 0 when that
// leaves several.
func inNamespace(ds []declaration, namespace string) int {
	var in, without []declaration
	for _, d := range ds {
		switch d.namespace {
		case namespace:
			in = append(in, d)
		case "":
			without = append(without, d)
		}
	}
	for _, c := range [][]declaration{in, without, ds} {
		if len(c) == 1 {
			return c[0].line
		}
	}
	return 0
}

// generators are the fields of a kustomization file whose entries make
// objects, and the kind they make.
var generators = []struct{ key, kind string }{{"configMapGenerator", "ConfigMap"}, {"secretGenerator", "Secret"}}

// value returns the value of key in the mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// scalar returns the scalar value of key in the mapping m, or "".
func scalar(m *yaml.Node, key string) string {
	if v := value(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
