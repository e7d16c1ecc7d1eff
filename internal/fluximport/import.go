package fluximport

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	yaml "go.yaml.in/yaml/v3"
)

// Issue is a setting of a Flux manifest that the stack does not carry over
// exactly: the user has to decide.
type Issue struct {
	File   string
	Line   int
	Object string // "Kustomization flux-system/apps"
	Field  string // "spec.postBuild.substituteFrom"
	Reason string
}

// String is the issue as the command lists it:
// "FILE:LINE: KIND NAMESPACE/NAME: FIELD: REASON".
func (i Issue) String() string {
	return fmt.Sprintf("%s:%d: %s: %s: %s", i.File, i.Line, i.Object, i.Field, i.Reason)
}

// Result is an imported stack.
type Result struct {
	// Files are the stack files by name ("sources.hcl", ...), formatted.
	Files map[string][]byte
	// Issues lists, in input order, what was left to the user.
	Issues []Issue
	// Skipped lists the documents that are not Flux objects
	// ("FILE:LINE: Kind name (apiVersion)").
	Skipped []string
}

// File names of the generated stack.
const (
	SourcesFile        = "sources.hcl"
	KustomizationsFile = "kustomizations.hcl"
	ReleasesFile       = "releases.hcl"
)

// The Flux API groups and the versions of each kind that Import reads.
const (
	groupSource       = "source.toolkit.fluxcd.io"
	groupKustomize    = "kustomize.toolkit.fluxcd.io"
	groupHelm         = "helm.toolkit.fluxcd.io"
	groupNotification = "notification.toolkit.fluxcd.io"
	groupImage        = "image.toolkit.fluxcd.io"
)

// kinds lists, per group and kind, the API versions Import translates.
var kinds = map[string]map[string][]string{
	groupSource: {
		"GitRepository":  {"v1", "v1beta2"},
		"HelmRepository": {"v1", "v1beta2"},
		"HelmChart":      {"v1", "v1beta2"},
		"OCIRepository":  {"v1", "v1beta2"},
	},
	groupKustomize: {"Kustomization": {"v1", "v1beta2"}},
	groupHelm:      {"HelmRelease": {"v2", "v2beta2", "v2beta1"}},
}

// untranslated are Flux kinds strata has no counterpart of.
var untranslated = map[string]map[string]string{
	groupSource:       {"Bucket": "strata has no S3-compatible bucket source; copy the manifests into a Git repository"},
	groupNotification: {"Alert": notificationReason, "Provider": notificationReason, "Receiver": "strata runs when you run it; trigger `strata apply` from your CI instead of a webhook receiver"},
	groupImage:        {"ImageRepository": imageReason, "ImagePolicy": imageReason, "ImageUpdateAutomation": imageReason},
}

const (
	notificationReason = "Flux notifications are not translated; strata's `notification` blocks report drift and errors of `strata drift` and `strata apply` to Slack or a webhook"
	imageReason        = "strata does not update images in Git; pin the image with an `image` block of the kustomization or a release value"
)

// importer holds one import.
type importer struct {
	objs    []*object
	byKind  map[string]map[ref]*object
	names   map[string]map[ref]string // block category -> object -> block name
	issues  []Issue
	errs    []error
	skipped []string
	// chartUse marks the OCIRepositories and HelmCharts that releases use.
	chartUse map[string]map[ref]bool
	kustUse  map[ref]bool // OCIRepositories kustomizations use
	// omitted are the objects, by kind, whose blocks cannot be expressed
	// and are written as comments.
	omitted map[string]map[ref]bool
	// ociCharts and charts are the charts of OCIRepositories and
	// HelmCharts, read once for all the releases that use them.
	ociCharts, charts map[ref]sharedChart
}

// sharedChart is the chart of an OCIRepository or HelmChart and the issues
// reading it found, which go to every release using it.
type sharedChart struct {
	info  chartInfo
	ok    bool
	notes []Issue
}

// bootstrap is the name and namespace of the GitRepository and
// Kustomization that `flux bootstrap` creates.
var bootstrap = ref{"flux-system", "flux-system"}

func (im *importer) isOmitted(kind string, r ref) bool { return im.omitted[kind][r] }

// nested returns the mapping at the path of keys under m, or nil.
func nested(m *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if m == nil {
			return nil
		}
		m = mapping(m, k)
	}
	return m
}

// willOmit reports whether the block of o cannot be expressed: a
// kustomization whose source is not an imported Git or OCI repository, a release
// whose chart comes from a bucket or from an object not imported.
func (im *importer) willOmit(o *object) bool {
	switch o.kind {
	case "Kustomization":
		return o.ref() == bootstrap || !im.imported(o, nested(o.spec.n, "sourceRef"), "GitRepository", "OCIRepository")
	case "HelmRelease":
		if cr := nested(o.spec.n, "chartRef"); cr != nil {
			if !im.imported(o, cr, "OCIRepository", "HelmChart") {
				return true
			}
			hc := im.byKind["HelmChart"][im.refOf(o, cr)]
			return hc != nil && !im.imported(hc, nested(hc.spec.n, "sourceRef"), "HelmRepository", "GitRepository")
		}
		return !im.imported(o, nested(o.spec.n, "chart", "spec", "sourceRef"), "HelmRepository", "GitRepository")
	}
	return false
}

// refOf is the object a reference mapping of o names.
func (im *importer) refOf(o *object, m *yaml.Node) ref {
	ns := scalar(m, "namespace")
	if ns == "" {
		ns = o.namespace
	}
	return ref{ns, scalar(m, "name")}
}

// imported reports whether the reference mapping m of o names an imported
// object of one of kinds.
func (im *importer) imported(o *object, m *yaml.Node, kinds ...string) bool {
	k := scalar(m, "kind")
	return m != nil && contains(kinds, k) && im.byKind[k][im.refOf(o, m)] != nil
}

// Import reads the Flux manifests at paths (files, or directories read
// recursively) and translates them to a stack. The error names the file and
// line of bad input.
func Import(paths []string) (*Result, error) {
	docs, files, err := readPaths(paths)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no Flux objects in %s", strings.Join(paths, ", "))
	}
	return importDocs(docs, files)
}

// importDocs translates the parsed documents; files[i] is the file of
// docs[i].
func importDocs(docs []*yaml.Node, files []string) (*Result, error) {
	im := &importer{byKind: map[string]map[ref]*object{}, names: map[string]map[ref]string{},
		chartUse: map[string]map[ref]bool{"OCIRepository": {}, "HelmChart": {}}, kustUse: map[ref]bool{}, omitted: map[string]map[ref]bool{}, ociCharts: map[ref]sharedChart{}, charts: map[ref]sharedChart{}}
	for i, d := range docs {
		im.add(files[i], d)
	}
	if len(im.errs) == 0 && len(im.objs) == 0 {
		return nil, fmt.Errorf("no Flux objects in %s", strings.Join(uniq(files), ", "))
	}
	if err := errors.Join(im.errs...); err != nil {
		return nil, err
	}
	im.findUses()
	im.nameBlocks()
	res := im.translate()
	if err := errors.Join(im.errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// add reads one document.
func (im *importer) add(file string, root *yaml.Node) {
	o := &object{file: file, line: root.Line, root: root, issues: &im.issues, errs: &im.errs,
		taken: map[*yaml.Node]bool{}, walked: map[*yaml.Node]bool{}}
	top := fields{o: o, n: root}
	o.apiVersion, o.kind = scalar(root, "apiVersion"), scalar(root, "kind")
	meta := fields{o: o, n: mapping(root, "metadata")}
	o.name, o.namespace = scalar(meta.n, "name"), scalar(meta.n, "namespace")
	if o.apiVersion == "" || o.kind == "" {
		im.errs = append(im.errs, fmt.Errorf("%s:%d: the document has no apiVersion or kind; is it a Kubernetes manifest?", file, root.Line))
		return
	}
	group, ver, _ := strings.Cut(o.apiVersion, "/")
	if !strings.HasSuffix(group, ".fluxcd.io") {
		im.skipped = append(im.skipped, fmt.Sprintf("%s:%d: %s %s (%s)", file, root.Line, o.kind, o.name, o.apiVersion))
		return
	}
	if reason, ok := untranslated[group][o.kind]; ok {
		o.leave(root.Line, "kind", o.kind+" is not translated: "+reason)
		return
	}
	vers, ok := kinds[group][o.kind]
	switch {
	case !ok:
		im.errs = append(im.errs, fmt.Errorf("%s:%d: unknown kind %s of %s%s", file, root.Line, o.kind, group, suggestKind(group, o.kind)))
		return
	case !contains(vers, ver):
		im.errs = append(im.errs, fmt.Errorf("%s:%d: %s %s is not supported (supported: %s); convert it to a current version first (flux migrate)",
			file, root.Line, o.kind, o.apiVersion, strings.Join(vers, ", ")))
		return
	case o.name == "":
		im.errs = append(im.errs, fmt.Errorf("%s:%d: %s without metadata.name", file, root.Line, o.kind))
		return
	}
	if o.namespace == "" {
		o.namespace = "default"
		o.leave(meta.line("namespace"), "metadata.namespace", "not set: taken as \"default\"; the namespace a kustomize overlay or the Kustomization applying this file gives it is not known here")
	}
	o.spec = top.child("spec")
	if !o.spec.valid() {
		im.errs = append(im.errs, fmt.Errorf("%s:%d: %s %s has no spec", file, root.Line, o.kind, o.ref()))
		return
	}
	if im.byKind[o.kind] == nil {
		im.byKind[o.kind] = map[ref]*object{}
	}
	if prev, dup := im.byKind[o.kind][o.ref()]; dup {
		im.errs = append(im.errs, fmt.Errorf("%s:%d: %s %s is declared twice (first at %s:%d); for kustomize overlays, import the output of kustomize build", file, root.Line, o.kind, o.ref(), prev.file, prev.line))
		return
	}
	im.byKind[o.kind][o.ref()] = o
	im.objs = append(im.objs, o)
}

// uniq returns list without repetitions, in order.
func uniq(list []string) []string {
	var out []string
	for i, s := range list {
		if i == 0 || list[i-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func suggestKind(group, kind string) string {
	var known []string
	for k := range kinds[group] {
		known = append(known, k)
		if strings.EqualFold(k, kind) || strings.EqualFold(strings.ReplaceAll(k, "z", "s"), strings.ReplaceAll(kind, "z", "s")) {
			return fmt.Sprintf("; did you mean %s?", k)
		}
	}
	if len(known) == 0 {
		return ""
	}
	sort.Strings(known)
	return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
}

func scalar(m *yaml.Node, key string) string {
	if m == nil || m.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

func mapping(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.MappingNode {
			return m.Content[i+1]
		}
	}
	return nil
}

// sourceRef reads a sourceRef-like mapping: its kind and the namespaced
// name, in the namespace of o unless it names one.
func sourceRef(f fields, o *object) (string, ref) {
	kind := f.str("kind")
	f.ignore("apiVersion")
	r := ref{namespace: f.str("namespace"), name: f.required("name")}
	if r.namespace == "" {
		r.namespace = o.namespace
	}
	return kind, r
}

// findUses finds the OCIRepositories and HelmCharts that releases use as
// their chart, and the OCIRepositories that kustomizations use.
func (im *importer) findUses() {
	for _, o := range im.objs {
		if im.willOmit(o) {
			if im.omitted[o.kind] == nil {
				im.omitted[o.kind] = map[ref]bool{}
			}
			im.omitted[o.kind][o.ref()] = true
		}
		switch o.kind {
		case "HelmRelease":
			k, v := o.spec.lookup("chartRef")
			if k == nil || v.Kind != yaml.MappingNode {
				continue
			}
			kind, ns := scalar(v, "kind"), scalar(v, "namespace")
			if ns == "" {
				ns = o.namespace
			}
			if m := im.chartUse[kind]; m != nil {
				m[ref{ns, scalar(v, "name")}] = true
			}
		case "Kustomization":
			if k, v := o.spec.lookup("sourceRef"); k != nil && v.Kind == yaml.MappingNode && scalar(v, "kind") == "OCIRepository" {
				ns := scalar(v, "namespace")
				if ns == "" {
					ns = o.namespace
				}
				im.kustUse[ref{ns, scalar(v, "name")}] = true
			}
		}
	}
}

// categories maps a block category to the kinds whose objects become
// blocks of it.
var categories = map[string][]string{
	"git":           {"GitRepository"},
	"helm":          {"HelmRepository", "OCIRepository"},
	"oci":           {"OCIRepository"},
	"kustomization": {"Kustomization"},
	"release":       {"HelmRelease"},
}

// nameBlocks gives every object that becomes a block its block name: the
// object's name, or NAMESPACE_NAME when two objects of one category share
// a name, with the kind appended when they share both.
func (im *importer) nameBlocks() {
	for cat, ks := range categories {
		type entry struct {
			kind string
			r    ref
		}
		var es []entry
		for _, k := range ks {
			for r := range im.byKind[k] {
				if cat == "helm" && k == "OCIRepository" && !im.chartUse["OCIRepository"][r] {
					continue
				}
				if cat == "oci" && !im.artifactUse(r) {
					continue
				}
				es = append(es, entry{k, r})
			}
		}
		count := map[string]int{}
		for _, e := range es {
			count[ident(e.r.name)]++
			count[ident(e.r.namespace+"_"+e.r.name)]++
		}
		im.names[cat] = map[ref]string{}
		for _, e := range es {
			n := ident(e.r.name)
			if count[n] > 1 {
				n = ident(e.r.namespace + "_" + e.r.name)
			}
			if count[n] > 1 && e.kind == "OCIRepository" && cat == "helm" {
				n += "_oci"
			}
			im.names[cat][e.r] = n
		}
	}
}

var notIdent = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// ident makes a Kubernetes name a block name.
func ident(s string) string {
	s = notIdent.ReplaceAllString(s, "_")
	if s == "" || s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
		s = "_" + s
	}
	return s
}

// translate writes every object's block.
func (im *importer) translate() *Result {
	outs := map[string]*hclwrite.File{}
	// file returns the body of the named file, ready for the next block.
	file := func(name string) *hclwrite.Body {
		f := outs[name]
		if f == nil {
			f = hclwrite.NewEmptyFile()
			comment(f.Body(), "Imported from Flux manifests by `strata import flux`. Review the TODO(strata import)\ncomments: each marks a setting that was not carried over exactly.")
			outs[name] = f
		}
		f.Body().AppendNewline()
		return f.Body()
	}
	for _, o := range im.objs {
		switch o.kind {
		case "GitRepository":
			im.gitSource(file(SourcesFile), o)
		case "HelmRepository":
			im.helmSource(file(SourcesFile), o)
		case "OCIRepository":
			im.ociSource(file, o)
		case "HelmChart":
			im.helmChart(o)
		case "Kustomization":
			im.kustomization(file(KustomizationsFile), o)
		case "HelmRelease":
			im.release(file(ReleasesFile), o)
		}
	}
	res := &Result{Files: map[string][]byte{}, Issues: im.issues, Skipped: im.skipped}
	for name, f := range outs {
		res.Files[name] = hclwrite.Format(f.Bytes())
	}
	return res
}

// emit appends the block of o to body, headed by comments that say where
// it came from and what was not carried over.
func emit(body *hclwrite.Body, o *object, b *hclwrite.Block) {
	o.leftovers()
	comment(body, fmt.Sprintf("%s %s (%s:%d)", o.kind, o.ref(), o.file, o.line))
	notes(body, o)
	body.AppendBlock(b)
}

// notes writes a TODO comment for every issue of o.
func notes(body *hclwrite.Body, o *object) {
	for _, is := range o.own {
		comment(body, fmt.Sprintf("TODO(strata import): %s:%d: %s: %s", is.File, is.Line, is.Field, is.Reason))
	}
}

// substVar finds Flux post-build variables (${name}) in a string.
var substVar = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-=][^}]*)?\}`)

// checkSubst records strings of o that hold ${var} references, which the
// Kustomization that applies o's file substitutes in Flux.
func checkSubst(o *object) {
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], path+"."+n.Content[i].Value)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.ScalarNode:
			if m := substVar.FindString(n.Value); m != "" {
				o.leave(n.Line, strings.TrimPrefix(path, "."), fmt.Sprintf("%s is a variable that the postBuild substitution of the Flux Kustomization applying this file replaces; it is carried over literally: use a strata variable instead", m))
			}
		}
	}
	walk(o.spec.n, "spec")
}
