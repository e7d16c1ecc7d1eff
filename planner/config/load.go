package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/strata-gitops/strata/internal/buildinfo"
)

// LoadOptions are the inputs of Load besides the directory.
type LoadOptions struct {
	// Vars are --var and --var-file values in command line order (later
	// ones win).
	Vars []VarArg
	// Getenv looks up environment variables for STRATA_VAR_name and env().
	// Nil means an empty environment.
	Getenv func(string) string
	// Version is the strata version checked against required_version.
	// Default buildinfo.Version. A pre-release suffix is ignored for the
	// check, so "v0.2.0-dev" satisfies ">= 0.2.0".
	Version string
	// Partial makes missing variable values and env() of unset variables
	// unknown instead of an error, for validate and graph.
	Partial bool
	// Environment selects one of the stack's environment blocks: its
	// cluster, variable values and backend become the stack's. A stack
	// that declares environments needs one, unless AnyEnvironment.
	Environment string
	// AnyEnvironment loads a stack that declares environments without
	// selecting one, for the commands that read the language only
	// (validate, graph): every environment's values and blocks are
	// checked, none is applied.
	AnyEnvironment bool
	// StatePathUnused says that the state file is not the one the stack
	// names: the person running strata names it (--state), or a saved
	// plan does. The local backends' paths of the stack are then not
	// checked to stay inside the stack directory.
	StatePathUnused bool
}

// VarArg is one --var NAME=VALUE (Name and Value set) or --var-file FILE
// (File set).
type VarArg struct {
	Name  string
	Value string
	File  string
}

// envVarPrefix prefixes environment variables that set stack variables.
const envVarPrefix = "STRATA_VAR_"

// Load loads the stack in dir. It always returns a non-nil Stack with what
// could be decoded; callers check diags.HasErrors().
func Load(dir string, opts LoadOptions) (*Stack, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		st := newStack(dir)
		return st, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read the stack directory",
			Detail:   fmt.Sprintf("Reading %s failed: %s. Pass the directory that holds the stack's *.hcl files.", dir, err),
		}}
	}
	var files, autoVars []string
	var diags hcl.Diagnostics
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		var list *[]string
		switch {
		case strings.HasSuffix(n, ".auto.vars.hcl"), strings.HasSuffix(n, ".auto.vars.json"):
			list = &autoVars
		case strings.HasSuffix(n, ".vars.hcl"):
			continue // a var file for --var-file, not part of the stack
		case strings.HasSuffix(n, ".hcl"):
			list = &files
		default:
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			if _, err := confinePath(dir, n); err != nil {
				diags = append(diags, linkedFileDiag(dir, n, err))
				continue
			}
		}
		*list = append(*list, n)
	}
	sort.Strings(files)
	sort.Strings(autoVars)
	srcs := make([]sourceFile, 0, len(files))
	for _, n := range files {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return newStack(dir), hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot read a stack file",
				Detail:   fmt.Sprintf("Reading %s failed: %s.", filepath.Join(dir, n), err),
			}}
		}
		srcs = append(srcs, sourceFile{name: displayName(dir, n), src: b})
	}
	autos := make([]sourceFile, 0, len(autoVars))
	for _, n := range autoVars {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return newStack(dir), hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot read a variables file",
				Detail:   fmt.Sprintf("Reading %s failed: %s.", filepath.Join(dir, n), err),
			}}
		}
		autos = append(autos, sourceFile{name: displayName(dir, n), src: b})
	}
	if diags.HasErrors() {
		return newStack(dir), diags
	}
	return loadSources(dir, srcs, autos, opts)
}

// linkedFileDiag refuses a stack or variables file that is a symbolic link
// leading outside the stack directory (or nowhere).
func linkedFileDiag(dir, name string, err error) *hcl.Diagnostic {
	pos := hcl.Pos{Line: 1, Column: 1}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Stack file outside the stack directory",
		Detail: fmt.Sprintf("%s is a symbolic link that cannot be read: %s. Replace the link by the file itself.",
			displayName(dir, name), err),
		Subject: &hcl.Range{Filename: displayName(dir, name), Start: pos, End: pos},
	}
}

// displayName is the file name used in diagnostics: relative to the
// working directory when dir is relative.
func displayName(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return filepath.Join(dir, name)
}

type sourceFile struct {
	name string
	src  []byte
}

func newStack(dir string) *Stack {
	return &Stack{
		Dir:            dir,
		Files:          map[string]*hcl.File{},
		Strata:         Strata{Backend: Backend{Type: "local", Path: DefaultStatePath}},
		Variables:      map[string]*Variable{},
		Locals:         map[string]*Local{},
		GitSources:     map[string]*GitSource{},
		HelmSources:    map[string]*HelmSource{},
		OCISources:     map[string]*OCISource{},
		Kustomizations: map[string]*Kustomization{},
		Releases:       map[string]*Release{},
		Notifications:  map[string]*Notification{},
		Policies:       map[string]*Policy{},
	}
}

// loader holds the state of one Load.
type loader struct {
	dir    string
	opts   LoadOptions
	st     *Stack
	parser *hclparse.Parser
	diags  hcl.Diagnostics
	funcs  map[string]function.Function
	ctx    *hcl.EvalContext

	// declared blocks by address, for reference checks.
	blocks map[Address]hcl.Range
	// varSet is where a variable's value was written in a vars file.
	varSet map[string]hcl.Range
}

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "strata"},
		{Type: "cluster"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "kustomization", LabelNames: []string{"name"}},
		{Type: "release", LabelNames: []string{"name"}},
		{Type: "notification", LabelNames: []string{"name"}},
		{Type: "moved"},
		{Type: "environment", LabelNames: []string{"name"}},
		{Type: "policy", LabelNames: []string{"name"}},
	},
}

// loadSources is Load on in-memory files; autos are *.auto.vars files.
func loadSources(dir string, files, autos []sourceFile, opts LoadOptions) (*Stack, hcl.Diagnostics) {
	if opts.Version == "" {
		opts.Version = buildinfo.Version
	}
	l := &loader{
		dir:    dir,
		opts:   opts,
		st:     newStack(dir),
		parser: hclparse.NewParser(),
		blocks: map[Address]hcl.Range{},
		varSet: map[string]hcl.Range{},
	}
	l.funcs = functions(dir, opts.Getenv, opts.Partial)
	if len(files) == 0 {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No stack files",
			Detail:   fmt.Sprintf("The directory %s holds no *.hcl files. Pass the directory of a stack, or create main.hcl.", dir),
		})
		return l.st, l.diags
	}

	var blocks []*hcl.Block
	for _, f := range files {
		if diags := CheckNesting(f.src, f.name); diags.HasErrors() {
			l.diags = append(l.diags, diags...)
			continue
		}
		file, diags := l.parser.ParseHCL(f.src, f.name)
		l.diags = append(l.diags, diags...)
		if file == nil {
			continue
		}
		l.st.Files[f.name] = file
		content, diags := file.Body.Content(topSchema)
		l.diags = append(l.diags, diags...)
		blocks = append(blocks, content.Blocks...)
	}
	if l.diags.HasErrors() {
		// Syntax errors: decoding the rest would mostly repeat them.
		return l.st, l.diags
	}

	byType := map[string][]*hcl.Block{}
	for _, b := range blocks {
		byType[b.Type] = append(byType[b.Type], b)
	}
	l.decodeStrata(byType["strata"])
	l.declareBlocks(byType)
	if !l.declareEnvironments(byType["environment"]) {
		l.st.Files = l.parser.Files()
		return l.st, l.diags
	}
	l.decodeVariables(byType["variable"], autos)
	l.ctx = &hcl.EvalContext{Functions: l.funcs, Variables: map[string]cty.Value{}}
	l.ctx.Variables["var"] = l.varObject()
	l.addBlockObjects()
	l.decodeLocals(byType["locals"])
	l.runValidations()
	l.decodeCluster(byType["cluster"])
	l.decodeEnvironments()
	for _, b := range byType["source"] {
		switch b.Labels[0] {
		case SourceGit:
			l.decodeGitSource(b)
		case SourceHelm:
			l.decodeHelmSource(b)
		case SourceOCI:
			l.decodeOCISource(b)
		}
	}
	for _, b := range byType["kustomization"] {
		l.decodeKustomization(b)
	}
	for _, b := range byType["release"] {
		l.decodeRelease(b)
	}
	l.checkReleaseNames()
	for _, b := range byType["notification"] {
		l.decodeNotification(b)
	}
	l.decodeMoved(byType["moved"])
	l.decodePolicies(byType["policy"])
	l.st.Files = l.parser.Files()
	l.scrubSecrets()
	return l.st, l.diags
}

// declareBlocks records every graph block's address, reporting duplicates
// and bad labels, so that references can be checked in any order.
func (l *loader) declareBlocks(byType map[string][]*hcl.Block) {
	seenNotif := map[string]hcl.Range{}
	for _, typ := range []string{"source", "kustomization", "release", "notification"} {
		for _, b := range byType[typ] {
			name := b.Labels[len(b.Labels)-1]
			if !l.validName(b, name) {
				continue
			}
			var addr Address
			switch typ {
			case "source":
				st := b.Labels[0]
				if st != SourceGit && st != SourceHelm && st != SourceOCI {
					l.errf(b.LabelRanges[0], "Unknown source type",
						"There is no source type %q.%s Use \"git\" for Git repositories, \"helm\" for Helm chart repositories and OCI registries, or \"oci\" for manifests in OCI artifacts.",
						st, didYouMean(st, []string{SourceGit, SourceHelm, SourceOCI}))
					continue
				}
				addr = Address{Kind: KindSource, Type: st, Name: name}
			case "notification":
				if prev, ok := seenNotif[name]; ok {
					l.duplicate(b, "notification."+name, prev)
					continue
				}
				seenNotif[name] = b.DefRange
				continue
			default:
				addr = Address{Kind: Kind(typ), Name: name}
			}
			if prev, ok := l.blocks[addr]; ok {
				l.duplicate(b, addr.String(), prev)
				continue
			}
			l.blocks[addr] = b.DefRange
		}
	}
}

func (l *loader) duplicate(b *hcl.Block, addr string, prev hcl.Range) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + b.Type + " block",
		Detail: fmt.Sprintf("%s is already declared at %s:%d. Block names must be unique; rename or remove one of them.",
			addr, prev.Filename, prev.Start.Line),
		Subject: b.DefRange.Ptr(),
	})
	b.Type = "" // marks the block as skipped
}

// validName checks a block label used as a name.
func (l *loader) validName(b *hcl.Block, name string) bool {
	if isIdentifier(name) {
		return true
	}
	l.errf(b.LabelRanges[len(b.LabelRanges)-1], "Invalid block name",
		"The name %q is not valid. A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.", name)
	b.Type = ""
	return false
}

// isIdentifier reports whether s is a valid HCL identifier.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// addBlockObjects puts the static objects of every declared block into the
// evaluation context.
func (l *loader) addBlockObjects() {
	git := map[string]cty.Value{}
	helm := map[string]cty.Value{}
	ociSrc := map[string]cty.Value{}
	kust := map[string]cty.Value{}
	rel := map[string]cty.Value{}
	for addr := range l.blocks {
		obj := cty.ObjectVal(map[string]cty.Value{
			"address": cty.StringVal(addr.String()),
			"kind":    cty.StringVal(string(addr.Kind)),
			"type":    cty.StringVal(addr.Type),
			"name":    cty.StringVal(addr.Name),
		})
		switch {
		case addr.Kind == KindSource && addr.Type == SourceGit:
			git[addr.Name] = obj
		case addr.Kind == KindSource && addr.Type == SourceOCI:
			ociSrc[addr.Name] = obj
		case addr.Kind == KindSource:
			helm[addr.Name] = obj
		case addr.Kind == KindKustomization:
			kust[addr.Name] = obj
		case addr.Kind == KindRelease:
			rel[addr.Name] = obj
		}
	}
	l.ctx.Variables["source"] = cty.ObjectVal(map[string]cty.Value{
		"git":  cty.ObjectVal(git),
		"helm": cty.ObjectVal(helm),
		"oci":  cty.ObjectVal(ociSrc),
	})
	l.ctx.Variables["kustomization"] = cty.ObjectVal(kust)
	l.ctx.Variables["release"] = cty.ObjectVal(rel)
}

func (l *loader) errf(rng hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

func (l *loader) decodeStrata(blocks []*hcl.Block) {
	if len(blocks) > 1 {
		l.errf(blocks[1].DefRange, "Duplicate strata block",
			"A stack has at most one strata block; the first is at %s:%d. Merge them.",
			blocks[0].DefRange.Filename, blocks[0].DefRange.Start.Line)
	}
	if len(blocks) == 0 {
		return
	}
	s := &l.st.Strata
	decodeBody(l.newDecoder(&s.Meta, blocks[0], nil), blocks[0], &strataBody, s)
}

// requiredVersion decodes required_version and refuses a strata that does
// not satisfy it.
func requiredVersion(d *decoder, attrs hcl.Attributes, name string, s *Strata) {
	a, ok := attrs[name]
	if !ok {
		return
	}
	var raw string
	if !d.str(attrs, name, &raw) {
		return
	}
	cons, err := version.NewConstraint(raw)
	if err != nil {
		d.l.errf(a.Expr.Range(), "Invalid version constraint",
			"%q is not a version constraint: %s. Write it like \">= 0.1.0\" or \"~> 1.2\" (hashicorp/go-version syntax).", raw, err)
		return
	}
	s.RequiredVersion = cons
	d.l.checkVersion(cons, a.Expr.Range())
}

func (l *loader) checkVersion(cons version.Constraints, rng hcl.Range) {
	v, err := version.NewVersion(l.opts.Version)
	if err != nil {
		return // a development build without a version
	}
	core := v.Core()
	if !cons.Check(core) {
		l.errf(rng, "Unsupported strata version",
			"This stack requires strata %s, but this is strata %s. Use a strata release that satisfies the constraint, or change required_version.",
			cons, l.opts.Version)
	}
}

// backendBodies are the bodies of the backend block by its type label.
var backendBodies = map[string]*body[Backend]{
	"local":      &localBackendBody,
	"kubernetes": &kubernetesBackendBody,
}

// strataBackend decodes the state backend: one backend block, whose type
// label selects its body.
func strataBackend(d *decoder, backends hcl.Blocks, s *Strata) {
	if len(backends) > 1 {
		d.l.errf(backends[1].DefRange, "Duplicate backend block", "A stack has one state backend; remove all but one backend block.")
	}
	if len(backends) == 0 {
		return
	}
	b := backends[0]
	be := &s.Backend
	be.Type = b.Labels[0]
	be.Path = ""
	bd := d.l.newDecoder(&be.Meta, b, nil)
	if schema, ok := backendBodies[be.Type]; ok {
		decodeBody(bd, b, schema, be)
		return
	}
	d.l.errf(b.LabelRanges[0], "Unknown backend type",
		"There is no backend %q.%s Use \"local\" (a file) or \"kubernetes\" (a Secret in the cluster).",
		be.Type, didYouMean(be.Type, []string{"local", "kubernetes"}))
}

func (l *loader) decodeCluster(blocks []*hcl.Block) {
	if len(blocks) > 1 {
		l.errf(blocks[1].DefRange, "Duplicate cluster block",
			"A stack talks to one cluster; the first cluster block is at %s:%d.",
			blocks[0].DefRange.Filename, blocks[0].DefRange.Start.Line)
	}
	if len(blocks) == 0 {
		return
	}
	c := &l.st.Cluster
	decodeBody(l.newDecoder(&c.Meta, blocks[0], nil), blocks[0], &clusterBody, c)
}

// homePath decodes a file path in which a leading "~/" means $HOME.
func homePath[T any](f func(*T) *string) attrFunc[T] {
	return func(d *decoder, attrs hcl.Attributes, name string, t *T) {
		if d.str(attrs, name, f(t)) {
			*f(t) = d.l.expandHome(*f(t))
		}
	}
}

// expandHome replaces a leading "~/" with $HOME (from LoadOptions.Getenv).
func (l *loader) expandHome(p string) string {
	if !strings.HasPrefix(p, "~/") || l.opts.Getenv == nil {
		return p
	}
	home := l.opts.Getenv("HOME")
	if home == "" {
		return p
	}
	return filepath.Join(home, p[2:])
}
