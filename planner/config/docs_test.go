package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// docBody is a block body of the language and where docs/stack-language.md
// shows it: a chain of block headers, each found at the start of a line
// (code or comment) inside the block of the one before.
type docBody struct {
	headers []string
	names   []string
}

// bodyNames returns the attribute names and nested block types of b.
func bodyNames[T any](b *body[T]) []string {
	var out []string
	for _, a := range b.attrs {
		out = append(out, a.name)
	}
	for _, n := range b.blocks {
		out = append(out, n.typ)
	}
	return out
}

// schemaNames returns the attribute names and block types of s.
func schemaNames(s *hcl.BodySchema) []string {
	var out []string
	for _, a := range s.Attributes {
		out = append(out, a.Name)
	}
	for _, b := range s.Blocks {
		out = append(out, b.Type)
	}
	return out
}

// TestStackLanguageDocNamesEveryAttribute keeps docs/stack-language.md
// complete: every attribute and nested block that a block body of the
// language accepts is named in the documented example of that block, as
// an attribute or in a comment inside it (policy blocks: in
// docs/policy.md). An attribute added to blocks.go without its line in the
// documentation fails here. (The variable block's schema is written
// inline in vars.go; its example names every attribute.)
func TestStackLanguageDocNamesEveryAttribute(t *testing.T) {
	const k, r = `kustomization "`, `release "`
	bodies := map[string]docBody{
		"strataBody":             {[]string{`strata {`}, bodyNames(&strataBody)},
		"localBackendBody":       {[]string{`backend "local"`}, bodyNames(&localBackendBody)},
		"kubernetesBackendBody":  {[]string{`backend "kubernetes"`}, bodyNames(&kubernetesBackendBody)},
		"encryptionBody":         {[]string{`strata {`, `encryption {`}, bodyNames(&encryptionBody)},
		"clusterBody":            {[]string{`cluster {`}, bodyNames(&clusterBody)},
		"gitSourceBody":          {[]string{`source "git"`}, bodyNames(&gitSourceBody)},
		"gitVerifyBody":          {[]string{`source "git"`, `verify {`}, bodyNames(&gitVerifyBody)},
		"gitAuthBody":            {[]string{`source "git"`, `auth {`}, bodyNames(&gitAuthBody)},
		"helmSourceBody":         {[]string{`source "helm"`}, bodyNames(&helmSourceBody)},
		"helmAuthBody":           {[]string{`source "helm"`, `auth {`}, bodyNames(&helmAuthBody)},
		"ociSourceBody":          {[]string{`source "oci"`}, bodyNames(&ociSourceBody)},
		"kustomizationBody":      {[]string{k}, bodyNames(&kustomizationBody)},
		"healthCheckBody":        {[]string{k, `health_check {`}, bodyNames(&healthCheckBody)},
		"patchBody":              {[]string{k, `patch {`}, bodyNames(&patchBody)},
		"selectorBody":           {[]string{k, `patch {`, `target {`}, bodyNames(&selectorBody)},
		"imageBody":              {[]string{k, `image {`}, bodyNames(&imageBody)},
		"decryptionBody":         {[]string{k, `decryption {`}, bodyNames(&decryptionBody)},
		"releaseBody":            {[]string{r}, bodyNames(&releaseBody)},
		"installBody":            {[]string{r, `install {`}, bodyNames(&installBody)},
		"installRemediationBody": {[]string{r, `install {`, `remediation {`}, bodyNames(&installRemediationBody)},
		"upgradeBody":            {[]string{r, `upgrade {`}, bodyNames(&upgradeBody)},
		"upgradeRemediationBody": {[]string{r, `upgrade {`, `remediation {`}, bodyNames(&upgradeRemediationBody)},
		"rollbackBody":           {[]string{r, `rollback {`}, bodyNames(&rollbackBody)},
		"uninstallBody":          {[]string{r, `uninstall {`}, bodyNames(&uninstallBody)},
		"driftDetectionBody":     {[]string{r, `drift_detection {`}, bodyNames(&driftDetectionBody)},
		"valuesFromBody":         {[]string{r, `values_from {`}, bodyNames(&valuesFromBody)},
		"notificationBody":       {[]string{`notification "`}, bodyNames(&notificationBody)},
		// Bodies declared as hcl.BodySchema.
		"environmentSchema": {[]string{`environment "`}, schemaNames(environmentSchema)},
		"movedSchema":       {[]string{`moved {`}, schemaNames(movedSchema)},
	}
	// policy.md documents the policy block, attribute by attribute.
	policyBodies := map[string][]string{
		"policySchema": schemaNames(policySchema),
		"matchSchema":  schemaNames(matchSchema),
	}

	doc := readDoc(t, "stack-language.md")
	for _, typ := range schemaNames(topSchema) {
		if !regexp.MustCompile(`(?m)^` + typ + `\b`).MatchString(doc) {
			t.Errorf("docs/stack-language.md has no example of the %s block", typ)
		}
	}

	bodyVars, schemaVars := languageVars(t)
	for _, v := range bodyVars {
		if _, ok := bodies[v]; !ok {
			t.Errorf("%s is a block body of the language that this test does not know: add it with the block headers of its example in docs/stack-language.md", v)
		}
	}
	for _, v := range schemaVars {
		_, ok := bodies[v]
		if _, policy := policyBodies[v]; !ok && !policy && v != "topSchema" {
			t.Errorf("%s is a block schema of the language that this test does not know: add it with the block headers of its example in docs/stack-language.md", v)
		}
	}

	names := make([]string, 0, len(bodies))
	for name := range bodies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b := bodies[name]
		texts := []string{doc}
		for _, h := range b.headers {
			texts = docBlocks(texts, h)
		}
		if len(texts) == 0 {
			t.Errorf("%s: docs/stack-language.md has no example block %s", name, strings.Join(b.headers, " > "))
			continue
		}
		text := strings.Join(texts, "\n")
		for _, attr := range b.names {
			if !regexp.MustCompile(`\b` + attr + `\b`).MatchString(text) {
				t.Errorf("%s: the example block %s of docs/stack-language.md does not name %q", name, strings.Join(b.headers, " > "), attr)
			}
		}
	}

	policyDoc := readDoc(t, "policy.md")
	for name, attrs := range policyBodies {
		for _, attr := range attrs {
			if !strings.Contains(policyDoc, "`"+attr+"`") {
				t.Errorf("%s: docs/policy.md does not describe `%s`", name, attr)
			}
		}
	}
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docBlocks returns, for every text, its blocks that begin with header at
// the start of a line (after indentation and an optional "#"): from the
// header to the brace that closes the first brace after it.
func docBlocks(texts []string, header string) []string {
	re := regexp.MustCompile(`(?m)^[ \t]*(?:#[ \t]*)?` + regexp.QuoteMeta(header))
	var out []string
	for _, text := range texts {
		for _, m := range re.FindAllStringIndex(text, -1) {
			// The header's own brace, or the first one after it.
			from := m[1] - len(header)
			open := strings.IndexByte(text[from:], '{')
			if open < 0 {
				continue
			}
			end, depth := len(text), 0
		scan:
			for i := from + open; i < len(text); i++ {
				switch text[i] {
				case '{':
					depth++
				case '}':
					depth--
					if depth == 0 {
						end = i + 1
						break scan
					}
				}
			}
			out = append(out, text[m[0]:end])
		}
	}
	return out
}

// languageVars returns the package-level variables of the package that
// are block bodies (body[T] literals) and block schemas (hcl.BodySchema).
func languageVars(t *testing.T) (bodies, schemas []string) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				if len(vs.Values) != 1 || len(vs.Names) != 1 {
					continue
				}
				v := vs.Values[0]
				if u, ok := v.(*ast.UnaryExpr); ok && u.Op == token.AND {
					v = u.X
				}
				lit, ok := v.(*ast.CompositeLit)
				if !ok {
					continue
				}
				switch typ := lit.Type.(type) {
				case *ast.IndexExpr:
					if id, ok := typ.X.(*ast.Ident); ok && id.Name == "body" {
						bodies = append(bodies, vs.Names[0].Name)
					}
				case *ast.SelectorExpr:
					if x, ok := typ.X.(*ast.Ident); ok && x.Name == "hcl" && typ.Sel.Name == "BodySchema" {
						schemas = append(schemas, vs.Names[0].Name)
					}
				}
			}
		}
	}
	if len(bodies) < 20 || len(schemas) < 4 {
		t.Fatalf("found %d bodies and %d schemas: the walk is broken", len(bodies), len(schemas))
	}
	return bodies, schemas
}
