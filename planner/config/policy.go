package config

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/planner/policy"
)

// Policy is a `policy NAME` block: a CEL condition every matched change of
// a plan must satisfy (see docs/policy.md).
type Policy struct {
	Meta
	policy.Spec
	// Compiled is the compiled policy; nil when the block has errors.
	Compiled *policy.Policy
	// Range is the whole block.
	Range hcl.Range
}

// PolicyErrors returns the errors of diags, from the Load of s, that keep
// the stack's policies from being evaluated: every error when the load
// stopped before it decoded the policy blocks (syntax errors), else the
// errors inside policy blocks. (Policies read the variables' values the
// plan recorded.) Applying a saved plan needs the current policies, not the rest
// of the stack (a chart directory may be gone).
func (s *Stack) PolicyErrors(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if !s.policiesDecoded || d.Subject == nil || s.inPolicy(*d.Subject) {
			out = append(out, d)
		}
	}
	return out
}

func (s *Stack) inPolicy(r hcl.Range) bool {
	for _, p := range s.Policies {
		b := p.Range
		if b.Filename == r.Filename && r.Start.Byte >= b.Start.Byte && r.End.Byte <= b.End.Byte {
			return true
		}
	}
	return false
}

// CompiledPolicies returns the stack's compiled policies, by name.
func (s *Stack) CompiledPolicies() []*policy.Policy {
	names := make([]string, 0, len(s.Policies))
	for n := range s.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*policy.Policy
	for _, n := range names {
		if p := s.Policies[n].Compiled; p != nil {
			out = append(out, p)
		}
	}
	return out
}

var policySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"}, {Name: "enforcement"}, {Name: "condition", Required: true},
		{Name: "message"}, {Name: "message_expression"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "match"}},
}

var matchSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "kinds"}, {Name: "groups"}, {Name: "namespaces"}, {Name: "blocks"}, {Name: "actions"},
}}

// decodePolicies decodes the policy blocks and compiles their CEL.
func (l *loader) decodePolicies(blocks []*hcl.Block) {
	l.st.policiesDecoded = true
	if len(blocks) == 0 {
		return
	}
	var vars, sensitive []string
	for n, v := range l.st.Variables {
		if v.Sensitive {
			sensitive = append(sensitive, n)
		} else {
			vars = append(vars, n)
		}
	}
	comp, err := policy.NewCompiler(vars, sensitive)
	if err != nil {
		l.errf(blocks[0].DefRange, "Cannot compile policies", "%s.", err)
		return
	}
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.validName(b, name) {
			continue
		}
		if prev, ok := seen[name]; ok {
			l.duplicate(b, "policy."+name, prev)
			continue
		}
		seen[name] = b.DefRange
		l.decodePolicy(b, comp)
	}
}

func (l *loader) decodePolicy(b *hcl.Block, comp *policy.Compiler) {
	p := &Policy{Spec: policy.Spec{Name: b.Labels[0], Enforcement: plan.Mandatory}, Range: hcl.RangeBetween(b.DefRange, b.Body.(*hclsyntax.Body).SrcRange)}
	l.st.Policies[p.Name] = p
	d := l.newDecoder(&p.Meta, b, nil)
	c := d.content(b.Body, policySchema)
	if c == nil {
		return
	}
	ok := l.policyText(d, c.Attributes, "description", &p.Description)
	d.oneOf(c.Attributes, "enforcement", &p.Enforcement, plan.Advisory, plan.Mandatory, plan.Approval)
	ok = l.policyExpr(d, c.Attributes, "condition", &p.Condition) && ok
	ok = l.policyText(d, c.Attributes, "message", &p.Message) && ok
	ok = l.policyExpr(d, c.Attributes, "message_expression", &p.MessageExpression) && ok
	if ms := c.Blocks.OfType("match"); len(ms) > 0 {
		d.atMostOne(ms)
		l.decodeMatch(d.nested("match", ms[0]), ms[0], &p.Match)
	}
	if !ok || l.diagsFor(b) {
		return
	}
	compiled, issues := comp.Compile(p.Spec)
	for _, is := range issues {
		a := c.Attributes[is.Field]
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid policy expression",
			Detail: fmt.Sprintf("The %s of policy %q is not a valid CEL expression: %s. Policies may read object, oldObject, change, release, plan and vars (the stack's non-sensitive variables); see docs/policy.md.",
				is.Field, p.Name, is.Message),
			Subject: l.celRange(a, is).Ptr(),
		})
	}
	p.Compiled = compiled
}

// policyText reads a text attribute shown in plans, which cannot hold a
// sensitive value; it reports false when the attribute is unusable.
func (l *loader) policyText(d *decoder, attrs hcl.Attributes, name string, dst *string) bool {
	a, ok := attrs[name]
	if !ok {
		return true
	}
	if !d.str(attrs, name, dst) {
		return false
	}
	if d.sensitive(name) {
		l.errf(a.Expr.Range(), "Sensitive value in a policy",
			"The %s of a policy cannot hold a sensitive value: policy messages are shown in plans. Read non-sensitive variables in CEL as vars.NAME.", name)
		return false
	}
	return true
}

// policyExpr reads a CEL expression attribute; it reports false when the
// attribute is present but unusable (already reported).
func (l *loader) policyExpr(d *decoder, attrs hcl.Attributes, name string, dst *string) bool {
	a, ok := attrs[name]
	if !ok {
		return true
	}
	if !l.policyText(d, attrs, name, dst) {
		return false
	}
	if strings.TrimSpace(*dst) == "" {
		l.errf(a.Expr.Range(), "Empty policy expression", "The %s must be a CEL expression, like \"object.spec.replicas <= 5\".", name)
		return false
	}
	return true
}

func (l *loader) decodeMatch(d *decoder, b *hcl.Block, m *policy.Match) {
	c := d.content(b.Body, matchSchema)
	if c == nil {
		return
	}
	d.strList(c.Attributes, "kinds", &m.Kinds)
	d.strList(c.Attributes, "groups", &m.Groups)
	d.strList(c.Attributes, "namespaces", &m.Namespaces)
	if d.strList(c.Attributes, "blocks", &m.Blocks) {
		for _, p := range m.Blocks {
			if _, err := path.Match(p, ""); err != nil {
				l.errf(c.Attributes["blocks"].Expr.Range(), "Invalid block pattern",
					"%q is not a block address or pattern: %s. Write addresses like \"kustomization.app\" or patterns like \"release.*\".", p, err)
			}
		}
	}
	if d.strList(c.Attributes, "actions", &m.Actions) {
		for _, a := range m.Actions {
			if !slices.Contains(policy.Actions, a) {
				l.errf(c.Attributes["actions"].Expr.Range(), "Invalid action",
					"%q is not an action.%s Use %s.", a, didYouMean(a, policy.Actions), quoteList(policy.Actions))
			}
		}
	}
}

// diagsFor reports whether an error was reported inside block b.
func (l *loader) diagsFor(b *hcl.Block) bool {
	body := b.Body.(*hclsyntax.Body).SrcRange
	for _, d := range l.diags {
		if d.Severity == hcl.DiagError && d.Subject != nil && d.Subject.Filename == body.Filename &&
			d.Subject.Start.Byte >= b.DefRange.Start.Byte && d.Subject.End.Byte <= body.End.Byte {
			return true
		}
	}
	return false
}

// celRange locates a CEL issue in the stack file: exactly, when the
// attribute is a string without escapes or interpolations (so that the
// expression's text is the file's), else the whole expression.
func (l *loader) celRange(a *hcl.Attribute, is policy.Issue) hcl.Range {
	rng := a.Expr.Range()
	t, ok := a.Expr.(*hclsyntax.TemplateExpr)
	if !ok || len(t.Parts) != 1 || is.Line < 1 || is.Column < 1 {
		return rng
	}
	lit, ok := t.Parts[0].(*hclsyntax.LiteralValueExpr)
	if !ok {
		return rng
	}
	part := lit.Range()
	f := l.parser.Files()[part.Filename]
	if f == nil || part.End.Byte > len(f.Bytes) {
		return rng
	}
	src := string(f.Bytes[part.Start.Byte:part.End.Byte])
	if v := lit.Val; !v.Type().Equals(cty.String) || v.AsString() != src {
		return rng
	}
	lines := strings.SplitAfter(src, "\n")
	if is.Line > len(lines) {
		return rng
	}
	offset := 0
	for _, ln := range lines[:is.Line-1] {
		offset += len(ln)
	}
	offset += is.Column - 1
	if offset > len(src) {
		return rng
	}
	pos := hcl.Pos{Line: part.Start.Line + is.Line - 1, Byte: part.Start.Byte + offset}
	if is.Line == 1 {
		pos.Column = part.Start.Column + is.Column - 1
	} else {
		pos.Column = is.Column
	}
	end := pos
	if pos.Byte < part.End.Byte {
		end.Byte, end.Column = pos.Byte+1, pos.Column+1
	}
	return hcl.Range{Filename: part.Filename, Start: pos, End: end}
}
