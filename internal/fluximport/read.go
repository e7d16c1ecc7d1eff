package fluximport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// object is one Flux object read from a manifest.
type object struct {
	file       string // as the user named it
	line       int    // of the document's first key
	apiVersion string
	kind       string
	namespace  string // "" when not set
	name       string
	root       *yaml.Node // the document's mapping
	spec       fields
	// issues collects what the translation leaves to the user, of every
	// object; own those of this one.
	issues *[]Issue
	own    []Issue
	// errs collects what is wrong with the input.
	errs *[]error
	// taken marks the keys whose value was read whole; walked marks those
	// the translation descended into (their values are checked for
	// leftovers).
	taken, walked map[*yaml.Node]bool
}

// ref is a namespaced name, the identity of a Flux object of one kind.
type ref struct{ namespace, name string }

func (r ref) String() string { return r.namespace + "/" + r.name }

func (o *object) ref() ref { return ref{o.namespace, o.name} }

// readPaths reads every .yaml, .yml and .json file of paths (files, or
// directories walked recursively, skipping hidden entries) in lexical order.
func readPaths(paths []string) ([]*yaml.Node, []string, error) {
	var docs []*yaml.Node
	var names []string
	for _, p := range paths {
		files, err := manifestFiles(p)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, fmt.Errorf("read %s: %w", f, err)
			}
			ds, err := splitDocuments(f, src)
			if err != nil {
				return nil, nil, err
			}
			for range ds {
				names = append(names, f)
			}
			docs = append(docs, ds...)
		}
	}
	return docs, names, nil
}

// manifestFiles lists the manifest files of path.
func manifestFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("no file or directory %s", path)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, p)
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// yamlLine splits "line N: message" off a YAML parser error.
var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// splitDocuments parses the YAML documents of src; empty documents are
// left out.
func splitDocuments(file string, src []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				return nil, fmt.Errorf("%s:%s: not YAML: %s", file, m[1], m[2])
			}
			return nil, fmt.Errorf("%s: not YAML: %s", file, msg)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s:%d: a manifest must be a mapping with apiVersion and kind, not a %s", file, root.Line, kindName(root))
		}
		docs = append(docs, root)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "value"
}

// fields is a YAML mapping of an object together with its dotted path
// ("spec.ref"), read through typed getters that mark what they read.
type fields struct {
	o    *object
	n    *yaml.Node
	path string
}

// valid reports whether the mapping is there.
func (f fields) valid() bool { return f.n != nil }

func (f fields) at(key string) string {
	if f.path == "" {
		return key
	}
	return f.path + "." + key
}

// lookup finds key without reading it.
func (f fields) lookup(key string) (k, v *yaml.Node) {
	if f.n == nil {
		return nil, nil
	}
	for i := 0; i+1 < len(f.n.Content); i += 2 {
		if f.n.Content[i].Value == key {
			return f.n.Content[i], f.n.Content[i+1]
		}
	}
	return nil, nil
}

// has reports whether key is set to something other than null.
func (f fields) has(key string) bool {
	_, v := f.lookup(key)
	return v != nil && v.Tag != "!!null"
}

// line returns the line of key, or of the mapping when key is not set.
func (f fields) line(key string) int {
	if k, _ := f.lookup(key); k != nil {
		return k.Line
	}
	if f.n != nil {
		return f.n.Line
	}
	return f.o.line
}

// take reads key whole; nil when it is not set or null.
func (f fields) take(key string) *yaml.Node {
	k, v := f.lookup(key)
	if k == nil {
		return nil
	}
	f.o.taken[k] = true
	if v.Tag == "!!null" {
		return nil
	}
	return v
}

func (f fields) typeErr(key string, v *yaml.Node, want string) {
	*f.o.errs = append(*f.o.errs, fmt.Errorf("%s:%d: %s %s: %s must be %s, not %q", f.o.file, v.Line, f.o.kind, f.o.ref(), f.at(key), want, v.Value))
}

// str reads a string.
func (f fields) str(key string) string {
	v := f.take(key)
	if v == nil {
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		f.typeErr(key, v, "a string")
		return ""
	}
	return v.Value
}

// required reads a string that must be set.
func (f fields) required(key string) string {
	s := f.str(key)
	if s == "" && f.n != nil {
		if _, v := f.lookup(key); v == nil || v.Tag == "!!null" {
			*f.o.errs = append(*f.o.errs, fmt.Errorf("%s:%d: %s %s: %s is required", f.o.file, f.line(""), f.o.kind, f.o.ref(), f.at(key)))
		}
	}
	return s
}

// boolean reads a bool; set is false when key is not set.
func (f fields) boolean(key string) (b, set bool) {
	v := f.take(key)
	if v == nil {
		return false, false
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		f.typeErr(key, v, "true or false")
		return false, false
	}
	b, _ = strconv.ParseBool(v.Value)
	return b, true
}

// integer reads an int.
func (f fields) integer(key string) (n int, set bool) {
	v := f.take(key)
	if v == nil {
		return 0, false
	}
	n, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		f.typeErr(key, v, "an integer")
		return 0, false
	}
	return n, true
}

// duration reads a Kubernetes duration and returns it in Go's canonical
// form ("5m0s" becomes "5m").
func (f fields) duration(key string) (time.Duration, bool) {
	s := f.str(key)
	if s == "" {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		_, v := f.lookup(key)
		f.typeErr(key, v, "a duration like \"5m\"")
		return 0, false
	}
	return d, true
}

// child descends into the mapping at key; the result is not valid when
// key is not set.
func (f fields) child(key string) fields {
	k, v := f.lookup(key)
	if k == nil || v.Tag == "!!null" {
		return fields{o: f.o, path: f.at(key)}
	}
	if v.Kind != yaml.MappingNode {
		f.o.taken[k] = true
		f.typeErr(key, v, "a mapping")
		return fields{o: f.o, path: f.at(key)}
	}
	f.o.walked[k] = true
	return fields{o: f.o, n: v, path: f.at(key)}
}

// children descends into the list of mappings at key.
func (f fields) children(key string) []fields {
	k, v := f.lookup(key)
	if k == nil || v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		f.o.taken[k] = true
		f.typeErr(key, v, "a list")
		return nil
	}
	f.o.walked[k] = true
	var out []fields
	for i, e := range v.Content {
		p := fmt.Sprintf("%s[%d]", f.at(key), i)
		if e.Kind != yaml.MappingNode {
			*f.o.errs = append(*f.o.errs, fmt.Errorf("%s:%d: %s %s: %s must be a mapping", f.o.file, e.Line, f.o.kind, f.o.ref(), p))
			continue
		}
		out = append(out, fields{o: f.o, n: e, path: p})
	}
	return out
}

// strs reads a list of strings.
func (f fields) strs(key string) []string {
	v := f.take(key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		f.typeErr(key, v, "a list of strings")
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode {
			f.typeErr(key, e, "a list of strings")
			return nil
		}
		out = append(out, e.Value)
	}
	return out
}

// strMap reads a map of strings.
func (f fields) strMap(key string) map[string]string {
	v := f.take(key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		f.typeErr(key, v, "a map of strings")
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i+1].Kind != yaml.ScalarNode {
			f.typeErr(key, v.Content[i+1], "a map of strings")
			return nil
		}
		out[v.Content[i].Value] = v.Content[i+1].Value
	}
	return out
}

// leave records that the value at key is not carried over, when it is
// set, and marks it read.
func (f fields) leave(key, reason string) {
	if f.has(key) {
		f.o.leave(f.line(key), f.at(key), reason)
	}
	f.take(key)
}

// leaveIf records reason for a boolean key that is true.
func (f fields) leaveIf(key, reason string) {
	line := f.line(key)
	if b, _ := f.boolean(key); b {
		f.o.leave(line, f.at(key), reason)
	}
}

// ignore marks key read without translating it: Flux uses it for
// something strata has no counterpart of and needs none (such as the
// labels of the HelmChart object Flux creates).
func (f fields) ignore(keys ...string) {
	for _, k := range keys {
		f.take(k)
	}
}

// leave records a setting left to the user.
func (o *object) leave(line int, field, reason string) {
	is := Issue{File: o.file, Line: line, Object: o.kind + " " + o.ref().String(), Field: field, Reason: reason}
	o.own = append(o.own, is)
	for _, x := range *o.issues {
		if x == is {
			return // an OCIRepository's two blocks share their settings
		}
	}
	*o.issues = append(*o.issues, is)
}

// leftovers reports every field of the spec that the translation did not
// read.
func (o *object) leftovers() {
	o.walk(o.spec.n, "spec")
}

func (o *object) walk(n *yaml.Node, path string) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path + "." + k.Value
			switch {
			case o.taken[k]:
			case o.walked[k]:
				o.walk(v, p)
			default:
				o.leave(k.Line, p, "strata import does not know this field; it is not carried over")
			}
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			o.walk(e, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}
