package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// checkReferences checks every reference in expr to a variable, a local or
// a block, reporting unknown names with a suggestion. It returns the block
// references (including those made through locals) and whether all
// references were valid.
func (l *loader) checkReferences(expr hcl.Expression) ([]Ref, bool) {
	var refs []Ref
	ok := true
	for _, tr := range expr.Variables() {
		r, valid := l.checkTraversal(tr)
		if !valid {
			ok = false
			continue
		}
		refs = append(refs, r...)
	}
	return refs, ok
}

func attrName(tr hcl.Traversal, i int) (string, hcl.Range, bool) {
	if len(tr) <= i {
		return "", tr.SourceRange(), false
	}
	switch s := tr[i].(type) {
	case hcl.TraverseAttr:
		return s.Name, s.SrcRange, true
	case hcl.TraverseIndex:
		if k := s.Key; k.Type().FriendlyName() == "string" && k.IsKnown() && !k.IsNull() {
			return k.AsString(), s.SrcRange, true
		}
	}
	return "", tr[i].SourceRange(), false
}

func (l *loader) checkTraversal(tr hcl.Traversal) ([]Ref, bool) {
	root := tr.RootName()
	switch root {
	case "var":
		name, rng, ok := attrName(tr, 1)
		if !ok {
			l.errf(tr.SourceRange(), "Invalid reference", "A variable reference needs a name, like var.environment.")
			return nil, false
		}
		if _, declared := l.st.Variables[name]; !declared {
			l.errf(hcl.RangeBetween(tr[0].SourceRange(), rng), "Reference to undeclared input variable",
				"An input variable with the name %q has not been declared.%s Declare it with a variable %q {} block.",
				name, didYouMean(name, mapKeys(l.st.Variables)), name)
			return nil, false
		}
		return nil, true
	case "local":
		name, rng, ok := attrName(tr, 1)
		if !ok {
			l.errf(tr.SourceRange(), "Invalid reference", "A local value reference needs a name, like local.registry.")
			return nil, false
		}
		loc, declared := l.st.Locals[name]
		if !declared {
			l.errf(hcl.RangeBetween(tr[0].SourceRange(), rng), "Reference to undeclared local value",
				"A local value with the name %q has not been declared.%s Declare it in a locals block.",
				name, didYouMean(name, mapKeys(l.st.Locals)))
			return nil, false
		}
		out := make([]Ref, len(loc.blockRefs))
		for i, r := range loc.blockRefs {
			out[i] = Ref{Addr: r.Addr, Range: tr.SourceRange()}
		}
		return out, true
	case "source", "kustomization", "release":
		addr, rng, ok := l.traversalAddress(tr)
		if !ok {
			return nil, false
		}
		if _, declared := l.blocks[addr]; !declared {
			l.unknownBlock(addr, rng, nil)
			return nil, false
		}
		return []Ref{{Addr: addr, Range: rng}}, true
	}
	return nil, true
}

// traversalAddress reads the block address at the start of tr.
func (l *loader) traversalAddress(tr hcl.Traversal) (Address, hcl.Range, bool) {
	root := tr.RootName()
	if root == "source" {
		typ, _, ok1 := attrName(tr, 1)
		name, rng, ok2 := attrName(tr, 2)
		if !ok1 || !ok2 {
			l.errf(tr.SourceRange(), "Invalid reference", "A source reference needs a type and a name, like source.git.platform or source.helm.bitnami.")
			return Address{}, hcl.Range{}, false
		}
		if typ != SourceGit && typ != SourceHelm && typ != SourceOCI {
			l.errf(tr.SourceRange(), "Invalid reference", "There is no source type %q.%s Sources are source.git.NAME, source.helm.NAME or source.oci.NAME.",
				typ, didYouMean(typ, []string{SourceGit, SourceHelm, SourceOCI}))
			return Address{}, hcl.Range{}, false
		}
		return Address{Kind: KindSource, Type: typ, Name: name}, hcl.RangeBetween(tr[0].SourceRange(), rng), true
	}
	name, rng, ok := attrName(tr, 1)
	if !ok {
		l.errf(tr.SourceRange(), "Invalid reference", "A %s reference needs a name, like %s.NAME.", root, root)
		return Address{}, hcl.Range{}, false
	}
	return Address{Kind: Kind(root), Name: name}, hcl.RangeBetween(tr[0].SourceRange(), rng), true
}

// unknownBlock reports a reference to an undeclared block; allowed limits
// the suggestions to those kinds (nil: any).
func (l *loader) unknownBlock(addr Address, rng hcl.Range, allowed func(Address) bool) {
	var names []string
	for a := range l.blocks {
		if allowed == nil || allowed(a) {
			names = append(names, a.String())
		}
	}
	sort.Strings(names)
	hint := didYouMean(addr.String(), names)
	if hint == "" && allowed != nil {
		for a := range l.blocks {
			if a.Name == addr.Name && !allowed(a) {
				hint = fmt.Sprintf(" There is %s of that name, %s, but it cannot be used here.", kindNoun(a), a)
				break
			}
		}
	}
	l.errf(rng, "Reference to undeclared block",
		"There is no %s in this stack.%s Declare it, or fix the reference.", addr, hint)
}

// blockRef decodes an attribute that must be a single reference to a
// block; allowed says which addresses fit and what was expected.
func (d *decoder) blockRef(attrs hcl.Attributes, name string, allowed func(Address) bool, want string) *Ref {
	a, ok := attrs[name]
	if !ok {
		return nil
	}
	path := d.prefix + name
	d.meta.Attrs[path] = a.Range
	tr, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() {
		d.l.errf(a.Expr.Range(), "Invalid reference",
			"The %s must be a reference to %s without quotes, like %s = %s.", name, want, name, exampleFor(want))
		return nil
	}
	switch tr.RootName() {
	case "source", "kustomization", "release":
	case "null":
		return nil
	default:
		d.l.errf(a.Expr.Range(), "Invalid reference", "The %s must be a reference to %s, like %s = %s.", name, want, name, exampleFor(want))
		return nil
	}
	addr, rng, ok := d.l.traversalAddress(tr)
	if !ok {
		return nil
	}
	if _, declared := d.l.blocks[addr]; !declared {
		d.l.unknownBlock(addr, rng, allowed)
		return nil
	}
	if !allowed(addr) {
		d.l.errf(rng, "Invalid reference kind", "The %s must be %s, but %s is %s.", name, want, addr, kindNoun(addr))
		return nil
	}
	return &Ref{Addr: addr, Range: rng}
}

func exampleFor(want string) string {
	switch {
	case strings.Contains(want, "Helm"):
		return "source.helm.NAME"
	case strings.Contains(want, "Git"):
		return "source.git.NAME"
	}
	return "kustomization.NAME"
}

// kindNoun names the kind of block a is, with its article: "a Git
// source", "an OCI source", "a release".
func kindNoun(a Address) string {
	if a.Kind == KindSource {
		switch a.Type {
		case SourceGit:
			return "a Git source"
		case SourceOCI:
			return "an OCI source"
		}
		return "a Helm source"
	}
	return "a " + string(a.Kind)
}

// dependsOn decodes a depends_on list of block references.
func (d *decoder) dependsOn(attrs hcl.Attributes) []Ref {
	a, ok := attrs["depends_on"]
	if !ok {
		return nil
	}
	d.meta.Attrs[d.prefix+"depends_on"] = a.Range
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		d.l.errf(a.Expr.Range(), "Invalid depends_on", "depends_on must be a list of block references, like [kustomization.crds, release.cert_manager].")
		return nil
	}
	var out []Ref
	for _, e := range exprs {
		tr, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() {
			d.l.errf(e.Range(), "Invalid depends_on entry", "Each depends_on entry must be a block reference without quotes, like kustomization.crds.")
			continue
		}
		switch tr.RootName() {
		case "source", "kustomization", "release":
		default:
			d.l.errf(e.Range(), "Invalid depends_on entry",
				"%s is not a block. depends_on lists sources, kustomizations and releases, like kustomization.crds.", tr.RootName())
			continue
		}
		addr, rng, ok := d.l.traversalAddress(tr)
		if !ok {
			continue
		}
		if _, declared := d.l.blocks[addr]; !declared {
			d.l.unknownBlock(addr, rng, nil)
			continue
		}
		out = append(out, Ref{Addr: addr, Range: rng, Explicit: true})
	}
	return out
}

// didYouMean returns ` Did you mean "x"?` for the closest candidate within
// a small edit distance of s, or "".
func didYouMean(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		if c == s {
			continue
		}
		d := levenshtein(s, c)
		limit := 2
		if n := len(s) / 4; n > limit {
			limit = n
		}
		if d <= limit && (best == "" || d < bestD || (d == bestD && c < best)) {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
