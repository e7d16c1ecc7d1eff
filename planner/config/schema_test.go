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
)

const configPkg = "github.com/strata-gitops/strata/planner/config"

// readerPackages are the packages that may give a decoded attribute its
// effect: the engine, the graph and the CLI (imports flow cmd -> planner).
var readerPackages = []string{
	"github.com/strata-gitops/strata/planner",
	"github.com/strata-gitops/strata/planner/graph",
	"github.com/strata-gitops/strata/cmd/strata",
}

// decodedElsewhere names what carries the value of attributes that
// blocks.go decodes without a destination argument (a helper returns the
// value, or the value is converted first), keyed by the decode function and
// attribute name: a field ("Type.Field") or a method ("Type.Method") the
// readers must use.
var decodedElsewhere = map[string]string{
	// depends_on is folded into Refs, which the graph reads through
	// Block.References.
	"decodeKustomization.depends_on": "Block.References",
	"decodeRelease.depends_on":       "Block.References",
	"decodeRelease.values":           "Release.Values",
	"decodeNotification.headers":     "Notification.Headers",
}

// refused are attributes whose only accepted value is the default: any
// other is refused at validate (the stack under testdata/invalid named
// here shows it), so they need no reader.
var refused = map[string]string{
	"decodeGitSource.recurse_submodules":       "submodules",
	"decodeGitSource.insecure_ignore_host_key": "insecure_host_key",
}

// pending are fields another change gives an effect; the test fails once
// they are read, so that the entry is removed.
var pending = map[string]string{}

// TestEverySchemaAttributeHasAReader walks the block schemas of blocks.go:
// every attribute name of every hcl.AttributeSchema must be decoded into a
// field of the stack's structs, and every such field must be read by the
// engine or the CLI (not only by planner/config itself). An attribute that
// is accepted, decoded and then ignored fails here; it must be given an
// effect (and a test of it) or be refused with a diagnostic.
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
	var blocks *ast.File
	for _, f := range cfgFiles {
		if filepath.Base(fset.Position(f.Pos()).Filename) == "blocks.go" {
			blocks = f
		}
	}
	if blocks == nil {
		t.Fatal("blocks.go not found")
	}
	attrs := schemaAttributes(t, fset, blocks, cfgInfo)
	if len(attrs) < 50 {
		t.Fatalf("found only %d schema attributes in blocks.go: the walk is broken", len(attrs))
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

	var missing []string
	for key, why := range pending {
		if read[key] {
			missing = append(missing, fmt.Sprintf("%s is read now (%s): remove it from pending", key, why))
		}
	}
	for _, a := range attrs {
		if dir, ok := refused[a.fn+"."+a.name]; ok {
			if _, err := os.Stat(filepath.Join("testdata", "invalid", dir, "main.hcl")); err != nil {
				missing = append(missing, fmt.Sprintf("%s: %s %q is listed as refused, but testdata/invalid/%s does not show it: %v", a.pos, a.fn, a.name, dir, err))
			}
			continue
		}
		if len(a.fields) == 0 {
			missing = append(missing, fmt.Sprintf("%s: %s %q: no field is decoded from it (add it to decodedElsewhere if a helper decodes it)", a.pos, a.fn, a.name))
		}
		for _, f := range a.fields {
			if why, ok := pending[f]; ok {
				t.Logf("%s: %s %q: %s is pending (%s)", a.pos, a.fn, a.name, f, why)
				continue
			}
			if !read[f] {
				missing = append(missing, fmt.Sprintf("%s: %s %q is decoded into %s, which nothing outside planner/config reads", a.pos, a.fn, a.name, f))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Error(m)
	}
}

// schemaAttr is one attribute name of a block schema and the fields it is
// decoded into.
type schemaAttr struct {
	fn, name string
	pos      token.Position
	fields   []string
}

// schemaAttributes finds, in every function of blocks.go, the attribute
// names of its hcl.AttributeSchema literals and the fields the decode calls
// (d.str(attrs, "name", &x.Field), x.Field = d.blockRef(attrs, "name",
// ...)) write each of them to.
func schemaAttributes(t *testing.T, fset *token.FileSet, f *ast.File, info *types.Info) []schemaAttr {
	var out []schemaAttr
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		names := map[string]token.Pos{}
		dests := map[string][]string{}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if !isAttributeSchema(info.TypeOf(n)) {
					return true
				}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
							if s, ok := stringLit(kv.Value); ok {
								names[s] = kv.Pos()
							}
						}
					}
				}
			case *ast.AssignStmt:
				if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
					if call, ok := n.Rhs[0].(*ast.CallExpr); ok {
						if name, ok := attributeArg(call); ok {
							if key, ok := selectorField(info, n.Lhs[0]); ok {
								dests[name] = append(dests[name], key)
							}
						}
					}
				}
			case *ast.CallExpr:
				name, ok := attributeArg(n)
				if !ok {
					return true
				}
				for _, arg := range n.Args {
					if u, ok := arg.(*ast.UnaryExpr); ok && u.Op == token.AND {
						if key, ok := selectorField(info, u.X); ok {
							dests[name] = append(dests[name], key)
						}
					}
				}
			}
			return true
		})
		for name, pos := range names {
			a := schemaAttr{fn: fn.Name.Name, name: name, pos: fset.Position(pos), fields: dests[name]}
			if f, ok := decodedElsewhere[fn.Name.Name+"."+name]; ok {
				a.fields = append(a.fields, f)
			}
			out = append(out, a)
		}
	}
	return out
}

func isAttributeSchema(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Name() == "AttributeSchema" && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "github.com/hashicorp/hcl/v2"
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

// attributeArg returns the attribute name of a decode call: its first
// argument is a body's attributes (x.Attributes) and its second a string.
func attributeArg(call *ast.CallExpr) (string, bool) {
	if len(call.Args) < 2 {
		return "", false
	}
	sel, ok := call.Args[0].(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Attributes" {
		return "", false
	}
	return stringLit(call.Args[1])
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

// check parses and type-checks the non-test files of the package in dir.
func check(t *testing.T, fset *token.FileSet, imp types.Importer, path, dir string) ([]*ast.File, *types.Info) {
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
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
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

// TestBehaviourTestsExist checks behaviourTests: each field is decoded from
// a schema attribute of blocks.go and each named test exists.
func TestBehaviourTestsExist(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "blocks.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	// Field names written by decode calls (&x.Field), without types: the
	// type-checked walk is TestEverySchemaAttributeHasAReader's.
	written := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			written[sel.Sel.Name] = true
		}
		return true
	})
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
			t.Errorf("%s: blocks.go decodes no field %s", field, name)
		}
		for _, n := range names {
			if !tests[n] {
				t.Errorf("%s: test %s does not exist", field, n)
			}
		}
	}
}
