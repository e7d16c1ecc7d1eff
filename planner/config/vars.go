package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// varDecl is a variable while it is being resolved.
type varDecl struct {
	v        *Variable
	defaults *typeexpr.Defaults
}

func (l *loader) decodeVariables(blocks []*hcl.Block, autos []sourceFile) {
	decls := map[string]*varDecl{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.validName(b, name) {
			continue
		}
		if prev, ok := l.st.Variables[name]; ok {
			l.duplicate(b, "var."+name, prev.DeclRange)
			continue
		}
		v := &Variable{Name: name, Type: cty.DynamicPseudoType, Nullable: true, ValueSource: FromNowhere}
		l.st.Variables[name] = v
		decl := &varDecl{v: v}
		decls[name] = decl
		d := l.newDecoder(&v.Meta, b, nil)
		c := d.content(b.Body, &hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}, {Name: "nullable"}},
			Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
		})
		if c == nil {
			continue
		}
		if a, ok := c.Attributes["type"]; ok {
			v.Meta.Attrs["type"] = a.Range
			ty, defs, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				v.Type, decl.defaults = ty, defs
			}
		}
		d.str(c.Attributes, "description", &v.Description)
		d.boolean(c.Attributes, "sensitive", &v.Sensitive)
		d.boolean(c.Attributes, "nullable", &v.Nullable)
		if a, ok := c.Attributes["default"]; ok {
			v.Meta.Attrs["default"] = a.Range
			val, diags := a.Expr.Value(nil)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				if cv, ok := l.convertVar(decl, val, "the default", a.Expr.Range()); ok {
					v.Default = cv
					v.Value, v.ValueSource = cv, FromDefault
				}
			}
		}
		for i, vb := range c.Blocks.OfType("validation") {
			vd := d.nested(fmt.Sprintf("validation[%d]", i), vb)
			vc := vd.content(vb.Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
				{Name: "condition", Required: true}, {Name: "error_message", Required: true},
			}})
			if vc == nil || vc.Attributes["condition"] == nil || vc.Attributes["error_message"] == nil {
				continue
			}
			v.Validations = append(v.Validations, Validation{
				Condition:    vc.Attributes["condition"].Expr,
				ErrorMessage: vc.Attributes["error_message"].Expr,
				DeclRange:    vb.DefRange,
			})
		}
	}

	getenv := l.opts.Getenv
	if getenv != nil {
		for _, name := range mapKeys(decls) {
			raw := getenv(envVarPrefix + name)
			if raw == "" {
				continue
			}
			l.setRaw(decls[name], raw, FromEnv, "the environment variable "+envVarPrefix+name)
		}
	}
	for _, f := range autos {
		l.varFile(decls, f.name, f.src, FromAutoFile)
	}
	l.environmentValues(decls)
	for _, a := range l.opts.Vars {
		if a.File != "" {
			src, err := os.ReadFile(a.File)
			if err != nil {
				l.diags = append(l.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Cannot read a variables file",
					Detail:   fmt.Sprintf("Reading the --var-file %s failed: %s.", a.File, err),
				})
				continue
			}
			l.varFile(decls, a.File, src, FromVarFile)
			continue
		}
		decl, ok := decls[a.Name]
		if !ok {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("The command line sets variable %q, but the stack declares no such variable.%s Declare it with a variable block, or drop the --var.",
					a.Name, didYouMean(a.Name, mapKeys(decls))),
			})
			continue
		}
		l.setRaw(decl, a.Value, FromCLI, "the command line")
	}

	for _, name := range mapKeys(decls) {
		v := decls[name].v
		if v.ValueSource != FromNowhere {
			if v.Sensitive {
				v.Value = v.Value.Mark(sensitiveMark)
			}
			continue
		}
		if l.opts.Partial {
			v.Value = cty.UnknownVal(v.Type)
			if v.Sensitive {
				v.Value = v.Value.Mark(sensitiveMark)
			}
			continue
		}
		v.Value = cty.UnknownVal(v.Type)
		l.errf(v.DeclRange, "No value for required variable",
			"The variable %q has no default, so it must be set: with --var %s=VALUE, in a --var-file or a *.auto.vars.hcl file, or with the environment variable %s%s.",
			name, name, envVarPrefix, name)
	}
}

// setRaw sets a variable from a command line or environment string: as is
// for string (and untyped) variables, parsed as an HCL expression otherwise.
func (l *loader) setRaw(decl *varDecl, raw string, from ValueSource, where string) {
	v := decl.v
	var val cty.Value
	if v.Type == cty.String || v.Type == cty.DynamicPseudoType {
		val = cty.StringVal(raw)
	} else {
		name := "<value for var." + v.Name + ">"
		if checkExpressionNesting([]byte(raw), name).HasErrors() {
			l.errf(v.DeclRange, "Invalid value for input variable",
				"The value for variable %q from %s nests more than %d levels deep, which strata does not read.",
				v.Name, where, MaxNesting)
			return
		}
		expr, diags := hclsyntax.ParseExpression([]byte(raw), name, hcl.InitialPos)
		if !diags.HasErrors() {
			val, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			l.errf(v.DeclRange, "Invalid value for input variable",
				"The value for variable %q from %s is not a valid expression for type %s. Write it in HCL syntax, like [\"a\", \"b\"] or {key = \"value\"}.",
				v.Name, where, typeexpr.TypeString(v.Type))
			return
		}
	}
	if cv, ok := l.convertVar(decl, val, where, v.DeclRange); ok {
		v.Value, v.ValueSource = cv, from
		delete(l.varSet, v.Name)
	}
}

// varFile reads variable values from an HCL or JSON file.
func (l *loader) varFile(decls map[string]*varDecl, name string, src []byte, from ValueSource) {
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(name, ".json") {
		if diags = checkJSONNesting(src, name); !diags.HasErrors() {
			file, diags = l.parser.ParseJSON(src, name)
		}
	} else {
		if diags = CheckNesting(src, name); !diags.HasErrors() {
			file, diags = l.parser.ParseHCL(src, name)
		}
	}
	l.diags = append(l.diags, diags...)
	if file == nil || diags.HasErrors() {
		return
	}
	attrs, diags := file.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	ctx := &hcl.EvalContext{Functions: l.funcs}
	for _, a := range sortedAttrs(attrs) {
		decl, ok := decls[a.Name]
		if !ok {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("The stack declares no variable %q, so this value is ignored.%s",
					a.Name, didYouMean(a.Name, mapKeys(decls))),
				Subject: a.NameRange.Ptr(),
			})
			continue
		}
		val, diags := a.Expr.Value(ctx)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		if cv, ok := l.convertVar(decl, val, name, a.Expr.Range()); ok {
			rng := a.Expr.Range()
			decl.v.Value, decl.v.ValueSource = cv, from
			l.varSet[a.Name] = rng
		}
	}
}

// convertVar applies a variable's type defaults and converts val to its
// type. The value is never quoted in diagnostics.
func (l *loader) convertVar(decl *varDecl, val cty.Value, where string, rng hcl.Range) (cty.Value, bool) {
	v := decl.v
	if val.IsNull() {
		if !v.Nullable {
			l.errf(rng, "Invalid value for input variable", "The variable %q is not nullable, but %s sets it to null.", v.Name, where)
			return cty.NilVal, false
		}
		return cty.NullVal(v.Type), true
	}
	if decl.defaults != nil {
		val = decl.defaults.Apply(val)
	}
	cv, err := convert.Convert(val, v.Type)
	if err != nil {
		l.errf(rng, "Invalid value for input variable",
			"The value for variable %q from %s is not suitable: %s. The variable's type is %s.",
			v.Name, where, convertError(err), typeexpr.TypeString(v.Type))
		return cty.NilVal, false
	}
	return cv, true
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Range, out[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}

func (l *loader) varObject() cty.Value {
	vals := make(map[string]cty.Value, len(l.st.Variables))
	for name, v := range l.st.Variables {
		val := v.Value
		if val == cty.NilVal {
			val = cty.DynamicVal
		}
		vals[name] = val
	}
	return cty.ObjectVal(vals)
}

// runValidations checks every variable's validation blocks.
func (l *loader) runValidations() {
	ctx := &hcl.EvalContext{Functions: l.funcs, Variables: map[string]cty.Value{"var": l.ctx.Variables["var"]}}
	for _, name := range mapKeys(l.st.Variables) {
		v := l.st.Variables[name]
		if !v.Value.IsWhollyKnown() {
			continue
		}
		for _, val := range v.Validations {
			cond, diags := val.Condition.Value(ctx)
			l.diags = append(l.diags, l.hideSensitive(val.Condition, diags)...)
			if diags.HasErrors() {
				continue
			}
			cond, _ = cond.UnmarkDeep()
			if !cond.IsKnown() {
				continue
			}
			if cond.IsNull() || cond.Type() != cty.Bool {
				l.errf(val.Condition.Range(), "Invalid validation condition", "The condition must be true or false.")
				continue
			}
			if cond.True() {
				continue
			}
			msg := "The value is not valid."
			mv, diags := val.ErrorMessage.Value(ctx)
			if !diags.HasErrors() {
				if mv.ContainsMarked() {
					msg = "The error message included a sensitive value, so it is not displayed."
				} else if s, err := convert.Convert(mv, cty.String); err == nil && s.IsKnown() && !s.IsNull() {
					msg = s.AsString()
				}
			}
			// Point at where the value was written, unless that would
			// show a secret; else at the rule.
			subject := val.Condition.Range()
			if !v.Sensitive {
				if r, ok := v.Attrs["default"]; ok && v.ValueSource == FromDefault {
					subject = r
				} else if r, ok := l.varSet[name]; ok {
					subject = r
				}
			}
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail: fmt.Sprintf("%s\n\nThe value of var.%s (from %s) failed the validation rule at %s:%d.",
					msg, name, v.ValueSource, val.DeclRange.Filename, val.DeclRange.Start.Line),
				Subject: subject.Ptr(),
			})
		}
	}
}

// decodeLocals declares every local value and evaluates them in dependency
// order.
func (l *loader) decodeLocals(blocks []*hcl.Block) {
	var attrs []*hcl.Attribute
	for _, b := range blocks {
		as, diags := b.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		attrs = append(attrs, sortedAttrs(as)...)
	}
	for _, a := range attrs {
		if prev, ok := l.st.Locals[a.Name]; ok {
			l.errf(a.NameRange, "Duplicate local value",
				"local.%s is already defined at %s:%d. Local value names must be unique in the stack.",
				a.Name, prev.Range.Filename, prev.Range.Start.Line)
			continue
		}
		l.st.Locals[a.Name] = &Local{Name: a.Name, Expr: a.Expr, Range: a.Range}
	}
	vals := map[string]cty.Value{}
	for name := range l.st.Locals {
		vals[name] = cty.DynamicVal // until evaluated; also for cycles
	}
	state := map[string]int{} // 1 visiting, 2 done
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		loc := l.st.Locals[name]
		switch state[name] {
		case 2:
			return
		case 1:
			i := len(stack) - 1
			for i > 0 && stack[i] != name {
				i--
			}
			cycle := stack[i:]
			var parts []string
			for _, n := range cycle {
				r := l.st.Locals[n].Range
				parts = append(parts, fmt.Sprintf("local.%s (%s:%d)", n, r.Filename, r.Start.Line))
			}
			l.errf(loc.Range, "Cycle in local values",
				"These local values refer to each other: %s. Break the cycle.", strings.Join(parts, " -> "))
			return
		}
		state[name] = 1
		stack = append(stack, name)
		for _, tr := range loc.Expr.Variables() {
			if tr.RootName() != "local" {
				continue
			}
			if dep, _, ok := attrName(tr, 1); ok {
				if _, declared := l.st.Locals[dep]; declared {
					visit(dep)
				}
			}
		}
		stack = stack[:len(stack)-1]
		l.ctx.Variables["local"] = cty.ObjectVal(vals)
		loc.Value = cty.DynamicVal
		if refs, ok := l.checkReferences(loc.Expr); ok {
			loc.blockRefs = refs
			v, diags := loc.Expr.Value(l.ctx)
			l.diags = append(l.diags, l.hideSensitive(loc.Expr, diags)...)
			if !diags.HasErrors() {
				loc.Value = v
				if v.IsWhollyKnown() && v.ContainsMarked() {
					loc.SensitiveValues = l.sensitiveParts(loc.Expr)
				}
			}
		}
		vals[name] = loc.Value
		state[name] = 2
	}
	for _, name := range mapKeys(l.st.Locals) {
		if state[name] == 0 {
			visit(name)
		}
	}
	l.ctx.Variables["local"] = cty.ObjectVal(vals)
}
