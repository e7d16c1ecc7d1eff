package config_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const configPkg = "github.com/strata-gitops/strata/planner/config"

// readerPackages are the packages that may give a decoded attribute its
// effect: the engine, the graph and the CLI (imports flow cmd -> planner).
var readerPackages = []string{
	"github.com/strata-gitops/strata/planner",
	"github.com/strata-gitops/strata/planner/graph",
	"github.com/strata-gitops/strata/cmd/strata",
}

// decodedElsewhere names what carries the value of schema entries whose
// decoder fills no field directly (a helper returns the value, or the value
// is converted first), keyed by "Type.attribute": a field ("Type.Field") or
// a method ("Type.Method") the readers must use instead.
var decodedElsewhere = map[string]string{
	// depends_on is folded into Refs, which the graph reads through
	// Block.References.
	"Kustomization.depends_on": "Block.References",
	"Release.depends_on":       "Block.References",
	"Release.values":           "Release.Values",
	"Notification.headers":     "Notification.Headers",
	// strataEncryption decodes it with a Meta and an eval context of its
	// own.
	"Strata.encryption": "Strata.Encryption",
}

// refused are attributes whose whole effect is to refuse a stack at load
// (the stack under testdata/invalid named here shows it), so they need no
// reader: those whose only accepted value is the default, and
// required_version, which refuses a strata that does not satisfy it.
var refused = map[string]string{
	"GitSource.recurse_submodules":     "submodules",
	"GitAuth.insecure_ignore_host_key": "insecure_host_key",
	"Strata.required_version":          "required_version_unsatisfied",
}

// pending are fields another change gives an effect; the test fails once
// they are read, so that the entry is removed.
var pending = map[string]string{}

// TestEverySchemaAttributeHasAReader walks the schema tables of the
// package (the attr and nested entries of every body, see schema.go):
// every attribute and nested block must be decoded into a field of the
// stack's structs, and every such field must be read by the engine or the
// CLI (not only by planner/config itself). An attribute that is accepted,
// decoded and then ignored fails here; it must be given an effect (and a
// test of it) or be refused with a diagnostic.
func TestEverySchemaAttributeHasAReader(t *testing.T) {
	exports := exportData(t)
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})

	fset := token.NewFileSet()
	cfgFiles, cfgInfo := check(t, fset, imp, configPkg, ".")
	entries := schemaEntries(fset, cfgFiles, cfgInfo)
	if len(entries) < 100 {
		t.Fatalf("found only %d schema entries: the walk is broken", len(entries))
	}

	read := map[string]bool{}
	for _, pkg := range readerPackages {
		dir := filepath.Join("..", "..", strings.TrimPrefix(pkg, "github.com/strata-gitops/strata/"))
		_, info := check(t, fset, imp, pkg, dir)
		for _, sel := range info.Selections {
			if key, ok := fieldKey(sel); ok {
				read[key] = true
			}
		}
	}

	missing := unread(t, entries, read)
	for key, why := range pending {
		if read[key] {
			missing = append(missing, fmt.Sprintf("%s is read now (%s): remove it from pending", key, why))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Error(m)
	}

	// The walk itself: entries added to the package are found, with the
	// field that their accessor or decoder fills, and reported when that
	// field is not read or when there is none.
	probeFiles, probeInfo := check(t, fset, imp, configPkg, ".", walkProbe)
	var probes []schemaEntry
	for _, e := range schemaEntries(fset, probeFiles, probeInfo) {
		if strings.HasPrefix(e.name, "probe_") {
			e.pos = token.Position{}
			probes = append(probes, e)
		}
	}
	want := []string{
		"-: Kustomization.probe_none: no field is decoded from it (add it to decodedElsewhere if a helper decodes it)",
		"-: Kustomization.probe_unread is decoded into Kustomization.SourceAddr, which nothing outside planner/config reads",
	}
	if diff := cmp.Diff(want, unread(t, probes, read)); diff != "" {
		t.Errorf("walk of the probe entries (-want +got):\n%s", diff)
	}
	if len(probes) != 5 {
		t.Errorf("found %d of the 5 probe entries: %v", len(probes), probes)
	}
}

// walkProbe is a file added to the package to check the walk: an accessor
// and a decoder that fill read fields, one that fills a field nothing
// reads, one that fills none, and a nested block.
const walkProbe = `package config

import "github.com/hashicorp/hcl/v2"

var probeBody = body[Kustomization]{
	attrs: []attr[Kustomization]{
		{name: "probe_accessor", decode: text(func(k *Kustomization) *string { return &k.NamePrefix })},
		{name: "probe_decoder", decode: probeDecoder},
		{name: "probe_unread", decode: probeUnread},
		{name: "probe_none", decode: func(*decoder, hcl.Attributes, string, *Kustomization) {}},
	},
	blocks: []nested[Kustomization]{
		{typ: "probe_block", decode: repeated(&imageBody, func(k *Kustomization) *[]Image { return &k.Images })},
	},
}

func probeDecoder(d *decoder, attrs hcl.Attributes, name string, k *Kustomization) {
	d.str(attrs, name, &k.NameSuffix)
}

func probeUnread(d *decoder, attrs hcl.Attributes, name string, k *Kustomization) {
	k.SourceAddr = probeAddress(d)
}

func probeAddress(*decoder) Address { return Address{} }
`

// unread reports the entries that fill no field, or a field that the
// readers do not read, unless listed in refused.
func unread(t *testing.T, entries []schemaEntry, read map[string]bool) []string {
	var missing []string
	for _, a := range entries {
		if dir, ok := refused[a.key()]; ok {
			if _, err := os.Stat(filepath.Join("testdata", "invalid", dir, "main.hcl")); err != nil {
				missing = append(missing, fmt.Sprintf("%s: %s is listed as refused, but testdata/invalid/%s does not show it: %v", a.pos, a.key(), dir, err))
			}
			continue
		}
		if len(a.fields) == 0 {
			missing = append(missing, fmt.Sprintf("%s: %s: no field is decoded from it (add it to decodedElsewhere if a helper decodes it)", a.pos, a.key()))
		}
		for _, f := range a.fields {
			if why, ok := pending[f]; ok {
				t.Logf("%s: %s: %s is pending (%s)", a.pos, a.key(), f, why)
				continue
			}
			if !read[f] {
				missing = append(missing, fmt.Sprintf("%s: %s is decoded into %s, which nothing outside planner/config reads", a.pos, a.key(), f))
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// schemaEntry is one attribute or nested block of a body table and the
// fields of the body's type it is decoded into.
type schemaEntry struct {
	// typ is the body's Go type ("GitSource"), name the attribute or
	// nested block type ("url", "auth").
	typ, name string
	pos       token.Position
	fields    []string
}

func (e schemaEntry) key() string { return e.typ + "." + e.name }

// schemaEntries finds every attr[T] and nested[T] literal of the package
// and the fields of T its decoder fills: in the literal itself (the field
// accessors, func(g *GitSource) *string { return &g.URL }) and in the
// package functions the literal names (custom decoders such as
// releaseChart), a field counts when its address is taken (&x.Field) or
// when a call's result is assigned to it (x.Field = d.blockRef(...)).
func schemaEntries(fset *token.FileSet, files []*ast.File, info *types.Info) []schemaEntry {
	decls := map[types.Object]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
				decls[info.Defs[fn.Name]] = fn
			}
		}
	}
	var out []schemaEntry
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			typ, key, ok := schemaEntryType(info.TypeOf(lit))
			if !ok {
				return true
			}
			e := schemaEntry{typ: typ, pos: fset.Position(lit.Pos())}
			for _, el := range lit.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == key {
						e.name, _ = stringLit(kv.Value)
					}
				}
			}
			if over, ok := decodedElsewhere[e.key()]; ok {
				e.fields = []string{over}
			} else {
				e.fields = filledFields(info, lit, typ, decls)
			}
			out = append(out, e)
			return false
		})
	}
	return out
}

// schemaEntryType returns the type argument's name of attr[T] or
// nested[T], and the field of the literal that names the entry.
func schemaEntryType(t types.Type) (typ, key string, ok bool) {
	n, isNamed := t.(*types.Named)
	if !isNamed || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != configPkg || n.TypeArgs().Len() != 1 {
		return "", "", false
	}
	arg, isNamed := n.TypeArgs().At(0).(*types.Named)
	if !isNamed {
		return "", "", false
	}
	switch n.Origin().Obj().Name() {
	case "attr":
		return arg.Obj().Name(), "name", true
	case "nested":
		return arg.Obj().Name(), "typ", true
	}
	return "", "", false
}

// filledFields returns the fields of typ that the entry lit fills, looking
// into the package functions it names one level deep.
func filledFields(info *types.Info, lit ast.Node, typ string, decls map[types.Object]*ast.FuncDecl) []string {
	seen := map[string]bool{}
	var out []string
	add := func(e ast.Expr) {
		if key, ok := selectorField(info, e); ok && strings.HasPrefix(key, typ+".") && !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	visit := func(root ast.Node) {
		ast.Inspect(root, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					add(n.X)
				}
			case *ast.AssignStmt:
				if len(n.Lhs) == 1 && len(n.Rhs) == 1 && isCall(info, n.Rhs[0]) {
					add(n.Lhs[0])
				}
			}
			return true
		})
	}
	visit(lit)
	ast.Inspect(lit, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if fn, ok := decls[info.Uses[id]]; ok {
				visit(fn.Body)
			}
		}
		return true
	})
	return out
}

// isCall reports whether e is a call of a function (not a builtin such as
// make or a conversion).
func isCall(info *types.Info, e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	tv := info.Types[call.Fun]
	if tv.IsType() || tv.IsBuiltin() {
		return false
	}
	return true
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

// selectorField returns "Type.Field" for a selector of a field of a struct
// of planner/config.
func selectorField(info *types.Info, e ast.Expr) (string, bool) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	s, ok := info.Selections[sel]
	if !ok || s.Kind() != types.FieldVal {
		return "", false
	}
	return fieldKey(s)
}

// fieldKey names the field or method a selection uses as "Type.Name", when
// it belongs to a type of planner/config.
func fieldKey(s *types.Selection) (string, bool) {
	recv := s.Recv()
	if p, ok := recv.(*types.Pointer); ok {
		recv = p.Elem()
	}
	// Walk embedded fields to the struct that declares the field.
	for _, i := range s.Index()[:len(s.Index())-1] {
		st, ok := recv.Underlying().(*types.Struct)
		if !ok {
			return "", false
		}
		recv = st.Field(i).Type()
		if p, ok := recv.(*types.Pointer); ok {
			recv = p.Elem()
		}
	}
	n, ok := recv.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != configPkg {
		return "", false
	}
	return n.Obj().Name() + "." + s.Obj().Name(), true
}

// check parses and type-checks the non-test files of the package in dir,
// and the sources extra as files added to it.
func check(t *testing.T, fset *token.FileSet, imp types.Importer, path, dir string, extra ...string) ([]*ast.File, *types.Info) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, m, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for i, src := range extra {
		f, err := parser.ParseFile(fset, fmt.Sprintf("extra%d.go", i), src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
	}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check(path, fset, files, info); err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	return files, info
}

// exportData maps the import path of every dependency of the reader
// packages to its compiled export data (go list -export).
func exportData(t *testing.T) map[string]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}"}, readerPackages...)
	cmd := exec.Command(goBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), "="); ok && file != "" {
			m[path] = file
		}
	}
	return m
}

// behaviourTests name, for decoded fields, the tests that show their effect
// on a real cluster (a reader alone does not prove one). Every field listed
// must be decoded from some schema attribute, and every test must exist.
var behaviourTests = map[string][]string{
	"Release.ServiceAccount":           {"providers/helm.TestImpersonatedRelease", "planner.TestReleaseServiceAccount"},
	"Kustomization.ServiceAccount":     {"providers/kube.TestImpersonationForbidden", "planner/config.TestServiceAccountBareName"},
	"ReleaseUpgrade.CRDs":              {"providers/helm.TestUpgradeCRDPolicy", "planner.TestReleaseSpecSettings"},
	"ReleaseInstall.CRDs":              {"providers/helm.TestChartWithCRDsInstallsInOneRun", "planner.TestReleaseSpecSettings"},
	"ReleaseRollback.Force":            {"providers/helm.TestRollbackOptions", "planner.TestReleaseSpecSettings"},
	"ReleaseRollback.Recreate":         {"providers/helm.TestRollbackOptions", "planner.TestReleaseSpecSettings"},
	"ReleaseRollback.DisableHooks":     {"providers/helm.TestRollbackOptions", "planner.TestReleaseSpecSettings"},
	"ReleaseRollback.Timeout":          {"providers/helm.TestRollbackTimeout", "planner.TestReleaseSpecSettings"},
	"ReleaseUninstall.DisableHooks":    {"providers/helm.TestUninstallOptions", "planner.TestReleaseSpecSettings"},
	"ReleaseUninstall.Timeout":         {"providers/helm.TestUninstallOptions", "planner.TestReleaseSpecSettings"},
	"ReleaseUninstall.KeepHistory":     {"providers/helm.TestUninstallKeepHistoryAndReinstall", "planner.TestRemovedReleaseKeepsHistory"},
	"Remediation.RemediateLastFailure": {"planner.TestRemediateLastFailure", "providers/helm.TestKeepLastFailureThenRollbackPlan"},
	"ReleaseInstall.DisableHooks":      {"providers/helm.TestInstallUpgradeDisableHooks", "planner.TestReleaseSpecSettings"},
	"ReleaseUpgrade.DisableHooks":      {"providers/helm.TestInstallUpgradeDisableHooks", "planner.TestReleaseSpecSettings"},
	"GitSource.Timeout":                {"planner.TestSourceTimeout"},
	"HelmSource.Timeout":               {"planner.TestSourceTimeout"},
}

// TestBehaviourTestsExist checks behaviourTests: each field is filled by
// the package's decoders and each named test exists.
func TestBehaviourTestsExist(t *testing.T) {
	fset := token.NewFileSet()
	matches, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// Field names the package writes (&x.Field, x.Field = ...), without
	// types: the type-checked walk is TestEverySchemaAttributeHasAReader's.
	written := map[string]bool{}
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, m, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var dst ast.Expr
			switch n := n.(type) {
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					dst = n.X
				}
			case *ast.AssignStmt:
				dst = n.Lhs[0]
			}
			if sel, ok := dst.(*ast.SelectorExpr); ok {
				written[sel.Sel.Name] = true
			}
			return true
		})
	}
	tests := map[string]bool{}
	err = filepath.WalkDir(filepath.Join("..", ".."), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join("..", ".."), filepath.Dir(p))
		for _, line := range strings.Split(string(src), "\n") {
			if name, ok := strings.CutPrefix(line, "func Test"); ok {
				name, _, _ = strings.Cut(name, "(")
				tests[filepath.ToSlash(rel)+".Test"+name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for field, names := range behaviourTests {
		_, name, _ := strings.Cut(field, ".")
		if !written[name] {
			t.Errorf("%s: planner/config decodes no field %s", field, name)
		}
		for _, n := range names {
			if !tests[n] {
				t.Errorf("%s: test %s does not exist", field, n)
			}
		}
	}
}
