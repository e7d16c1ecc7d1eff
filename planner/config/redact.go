package config

import (
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/planner/plan"
)

// hiddenDetail replaces the detail of an error raised while evaluating an
// expression that uses a sensitive value: function errors often quote
// their arguments.
const hiddenDetail = "The details are not displayed because the expression uses a sensitive value. Check the value you set for the variable."

// usesSensitive reports whether expr refers to a sensitive variable,
// directly or through local values.
func (l *loader) usesSensitive(expr hcl.Expression) bool {
	return l.usesSensitiveSeen(expr, map[string]bool{})
}

func (l *loader) usesSensitiveSeen(expr hcl.Expression, seen map[string]bool) bool {
	for _, tr := range expr.Variables() {
		name, _, ok := attrName(tr, 1)
		if !ok {
			continue
		}
		switch tr.RootName() {
		case "var":
			if v, ok := l.st.Variables[name]; ok && v.Sensitive {
				return true
			}
		case "local":
			if seen[name] {
				continue
			}
			seen[name] = true
			if loc, ok := l.st.Locals[name]; ok && l.usesSensitiveSeen(loc.Expr, seen) {
				return true
			}
		}
	}
	return false
}

// hideSensitive rewrites the error details of diags raised by expr when
// expr uses a sensitive value.
func (l *loader) hideSensitive(expr hcl.Expression, diags hcl.Diagnostics) hcl.Diagnostics {
	if !diags.HasErrors() || !l.usesSensitive(expr) {
		return diags
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		if c.Severity == hcl.DiagError {
			c.Detail = hiddenDetail
		}
		out[i] = &c
	}
	return out
}

// scrubSecrets replaces every occurrence of a sensitive value of the stack
// (Stack.SensitiveValues: variables, what expressions derived from them,
// credentials), in the forms plan.Secrets knows (plain, escaped, base64),
// in the diagnostics with "(sensitive value)", as a last line of defence;
// the same masking as plan, apply and validate.
func (l *loader) scrubSecrets() {
	secrets := plan.NewSecrets(l.st.SensitiveValues()...)
	if secrets.Empty() {
		return
	}
	for i, d := range l.diags {
		sum, det := secrets.Scrub(d.Summary), secrets.Scrub(d.Detail)
		if sum != d.Summary || det != d.Detail {
			c := *d
			c.Summary, c.Detail = sum, det
			l.diags[i] = &c
		}
	}
}

// appendSensitive appends the non-empty string leaves of v (numbers as
// text) to out as secrets, once each.
func appendSensitive(out []Sensitive, v cty.Value) []Sensitive {
	var leaves []string
	leafStrings(v, &leaves)
	for _, s := range leaves {
		if !slices.Contains(out, NewSensitive(s)) {
			out = append(out, NewSensitive(s))
		}
	}
	return out
}

// mergeSensitive appends the secrets of add missing from out.
func mergeSensitive(out, add []Sensitive) []Sensitive {
	for _, s := range add {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// sensitiveParts returns the values of the sub-expressions of expr that are
// sensitive: what a function or a template made of a sensitive value
// before it was joined with other text ("prefix-${upper(var.x)}" yields
// upper(var.x)), which is what a rendered object may show on its own.
// Sub-expressions that cannot be evaluated alone (for-expression bodies)
// are skipped.
func (l *loader) sensitiveParts(expr hcl.Expression) []Sensitive {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return nil
	}
	var out []Sensitive
	_ = hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		e, ok := n.(hclsyntax.Expression)
		if !ok {
			return nil
		}
		v, diags := e.Value(l.ctx)
		if !diags.HasErrors() && v.IsWhollyKnown() && v.HasMark(sensitiveMark) {
			out = appendSensitive(out, v)
		}
		return nil
	})
	return out
}

// leafStrings appends the non-empty string leaves of v, and its numbers as
// text (a number substituted into a manifest becomes that text).
func leafStrings(v cty.Value, out *[]string) {
	if v.IsNull() || !v.IsKnown() {
		return
	}
	v, _ = v.UnmarkDeep()
	ty := v.Type()
	switch {
	case ty == cty.String:
		if s := v.AsString(); s != "" {
			*out = append(*out, s)
		}
	case ty == cty.Number:
		*out = append(*out, numberForms(v.AsBigFloat())...)
	case ty.IsCollectionType() || ty.IsObjectType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			leafStrings(e, out)
		}
	}
}

// numberForms returns the texts a number takes in a rendered object: in
// full, and as Go prints the float64 a chart's values hold (Helm prints a
// release value of 1000000 as 1e+06).
func numberForms(f *big.Float) []string {
	out := []string{f.Text('f', -1)}
	f64, _ := f.Float64()
	for _, s := range []string{strconv.FormatFloat(f64, 'g', -1, 64), strconv.FormatFloat(f64, 'f', -1, 64)} {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// SensitiveValues returns, once each, every secret string of the stack:
// the values of sensitive variables, every value of a block derived from
// one (SensitiveValues of each block: substitutions, release values, ...
// including what functions and templates made of them) and the values of
// credential attributes (source passwords and keys, notification URLs).
// Plan, apply and drift keep them, and their encodings, out of every
// output and error text.
func (s *Stack) SensitiveValues() []string {
	var all []Sensitive
	for _, v := range s.Variables {
		if v.Sensitive && v.Value != cty.NilVal {
			all = appendSensitive(all, v.Value)
		}
	}
	for _, loc := range s.Locals {
		all = mergeSensitive(all, loc.SensitiveValues)
	}
	walkSensitive(reflect.ValueOf(s.GitSources), &all)
	walkSensitive(reflect.ValueOf(s.HelmSources), &all)
	walkSensitive(reflect.ValueOf(s.OCISources), &all)
	walkSensitive(reflect.ValueOf(s.Kustomizations), &all)
	walkSensitive(reflect.ValueOf(s.Releases), &all)
	walkSensitive(reflect.ValueOf(s.Notifications), &all)
	walkSensitive(reflect.ValueOf(s.Strata.Encryption), &all)
	out := make([]string, 0, len(all))
	for _, v := range all {
		if !v.IsEmpty() && !slices.Contains(out, v.Reveal()) {
			out = append(out, v.Reveal())
		}
	}
	sort.Strings(out)
	return out
}

// walkSensitive appends every non-empty Sensitive found in v.
func walkSensitive(v reflect.Value, out *[]Sensitive) {
	if !v.IsValid() {
		return
	}
	if v.Type() == sensitiveType {
		if s := v.Interface().(Sensitive); !s.IsEmpty() {
			*out = append(*out, s)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSensitive(v.Elem(), out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkSensitive(v.Field(i), out)
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			walkSensitive(it.Value(), out)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkSensitive(v.Index(i), out)
		}
	}
}
