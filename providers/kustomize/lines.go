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
	kind, name string
	line       int
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
// documents, for Lines.Line: each document's kind, metadata.name and the
// line where its content starts (after comments and "---"), and in a
// kustomization file each configMapGenerator and secretGenerator entry
// (the line of its "- name:"). Only kinds and names are kept, never
// values; a SOPS-encrypted file is read as it is on disk. A file that
// does not parse gives the zero Lines.
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
		kind, apiVersion := scalar(m, "kind"), scalar(m, "apiVersion")
		if kind != "" && !strings.HasPrefix(apiVersion, "kustomize.config.k8s.io/") {
			l.decls = append(l.decls, declaration{kind: kind, name: scalar(value(m, "metadata"), "name"), line: m.Line})
		}
		for _, g := range generators {
			if gen := value(m, g.key); gen != nil && gen.Kind == yaml.SequenceNode {
				for _, e := range gen.Content {
					if e.Kind == yaml.MappingNode {
						l.decls = append(l.decls, declaration{kind: g.kind, name: scalar(e, "name"), line: e.Line, generated: true})
					}
				}
			}
		}
	}
}

// Line returns the line (from 1) where the object of kind named name, as
// the Build rendered it, is declared in the file; 0 when not known. A
// kustomization's namePrefix or nameSuffix changes names, so when no
// declaration has that kind and name, the file's only declaration of that
// kind is taken, else the file's only document (its kind encrypted, say);
// a generator's entry matches the names with its hash.
func (l Lines) Line(kind, name string) int {
	var ofKind []declaration
	for _, d := range l.decls {
		if d.kind != kind {
			continue
		}
		if d.name == name || d.generated && d.name != "" && strings.HasPrefix(name, d.name+"-") && !strings.Contains(name[len(d.name)+1:], "-") {
			return d.line
		}
		ofKind = append(ofKind, d)
	}
	switch {
	case len(ofKind) == 1:
		return ofKind[0].line
	case len(l.decls) == 1 && !l.decls[0].generated:
		return l.decls[0].line
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
