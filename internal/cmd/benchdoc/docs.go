package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// moduleDocs returns a lookup of the doc comments of benchmark functions
// in the module rooted at root: by package import path and function name,
// "" when not found (a package outside the module, a file that does not
// parse).
func moduleDocs(root string) func(pkg, fn string) string {
	module := modulePath(filepath.Join(root, "go.mod"))
	cache := map[string]map[string]string{}
	return func(pkg, fn string) string {
		if module == "" || (pkg != module && !strings.HasPrefix(pkg, module+"/")) {
			return ""
		}
		docs, ok := cache[pkg]
		if !ok {
			docs = packageDocs(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/"))))
			cache[pkg] = docs
		}
		return docs[fn]
	}
}

// packageDocs returns the doc comments of the Benchmark functions of the
// test files in dir.
func packageDocs(dir string) map[string]string {
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Benchmark") && fd.Doc != nil {
				out[fd.Name.Name] = fd.Doc.Text()
			}
		}
	}
	return out
}

// modulePath returns the module path go.mod declares, "" if none.
func modulePath(gomod string) string {
	raw, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`)
		}
	}
	return ""
}
