package config

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// sensitiveMark is the cty mark of values from sensitive variables.
const sensitiveMark = "sensitive"

// decoder decodes the attributes of one block (or nested block) into Meta
// and typed fields, collecting diagnostics in the loader.
type decoder struct {
	l *loader
	// block is the block (or nested block) being decoded.
	block  *hcl.Block
	meta   *Meta
	prefix string
	// refs collects the block references found in expressions; nil for
	// blocks that are not graph nodes.
	refs *[]Ref
}

func (l *loader) newDecoder(meta *Meta, b *hcl.Block, refs *[]Ref) *decoder {
	meta.DeclRange = b.DefRange
	if meta.Attrs == nil {
		meta.Attrs = map[string]hcl.Range{}
	}
	return &decoder{l: l, block: b, meta: meta, refs: refs}
}

// nested returns a decoder for a nested block at path (e.g. "upgrade" or
// "health_check[0]").
func (d *decoder) nested(path string, b *hcl.Block) *decoder {
	p := d.prefix + path
	d.meta.Attrs[p] = b.DefRange
	return &decoder{l: d.l, block: b, meta: d.meta, prefix: p + ".", refs: d.refs}
}

// content applies schema to body, reporting what does not fit. It returns
// what did fit (nil only if nothing could be read).
func (d *decoder) content(body hcl.Body, schema *hcl.BodySchema) *hcl.BodyContent {
	c, diags := body.Content(schema)
	d.l.diags = append(d.l.diags, diags...)
	return c
}

// value evaluates the attribute name of attrs and converts it to ty. It
// returns false when the attribute is absent, null, unknown or invalid
// (after reporting why).
func (d *decoder) value(attrs hcl.Attributes, name string, ty cty.Type) (cty.Value, bool) {
	a, ok := attrs[name]
	if !ok {
		return cty.NilVal, false
	}
	path := d.prefix + name
	d.meta.Attrs[path] = a.Range
	v, ok := d.eval(a.Expr)
	if !ok {
		return cty.NilVal, false
	}
	if v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		d.meta.Unknown = appendSorted(d.meta.Unknown, path)
		return cty.NilVal, false
	}
	v, pvm := v.UnmarkDeepWithPaths()
	sensitive := false
	for _, pm := range pvm {
		if _, ok := pm.Marks[sensitiveMark]; ok {
			sensitive = true
			d.meta.SensitivePaths = appendSorted(d.meta.SensitivePaths, path+pathString(pm.Path))
			if sv, err := pm.Path.Apply(v); err == nil {
				d.meta.SensitiveValues = appendSensitive(d.meta.SensitiveValues, sv)
			}
		}
	}
	if sensitive {
		d.meta.SensitiveValues = mergeSensitive(d.meta.SensitiveValues, d.l.sensitiveParts(a.Expr))
	}
	if ty != cty.DynamicPseudoType {
		cv, err := convert.Convert(v, ty)
		if err != nil {
			d.l.diags = append(d.l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Incorrect attribute value type",
				Detail:   fmt.Sprintf("Inappropriate value for attribute %q: %s.", name, convertError(err)),
				Subject:  a.Expr.Range().Ptr(),
			})
			return cty.NilVal, false
		}
		v = cv
	}
	return v, true
}

// convertError renders a conversion error without the value.
func convertError(err error) string {
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return fmt.Sprintf("at %s: %s", strings.TrimPrefix(pathString(pe.Path), "."), pe.Error())
	}
	return err.Error()
}

// eval checks the references of expr and evaluates it.
func (d *decoder) eval(expr hcl.Expression) (cty.Value, bool) {
	refs, ok := d.l.checkReferences(expr)
	if !ok {
		return cty.NilVal, false
	}
	if d.refs != nil {
		*d.refs = append(*d.refs, refs...)
	}
	v, diags := expr.Value(d.l.ctx)
	d.l.diags = append(d.l.diags, d.l.hideSensitive(expr, diags)...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	return v, true
}

func (d *decoder) sensitive(name string) bool { return d.meta.IsSensitive(d.prefix + name) }

// show quotes s for a diagnostic, unless the attribute is sensitive.
func (d *decoder) show(name, s string) string {
	if d.sensitive(name) {
		return "The value (sensitive)"
	}
	return strconv.Quote(s)
}

func (d *decoder) str(attrs hcl.Attributes, name string, dst *string) bool {
	v, ok := d.value(attrs, name, cty.String)
	if ok {
		*dst = v.AsString()
	}
	return ok
}

func (d *decoder) secret(attrs hcl.Attributes, name string, dst *Sensitive) bool {
	v, ok := d.value(attrs, name, cty.String)
	if ok {
		*dst = NewSensitive(v.AsString())
	}
	return ok
}

func (d *decoder) boolean(attrs hcl.Attributes, name string, dst *bool) bool {
	v, ok := d.value(attrs, name, cty.Bool)
	if ok {
		*dst = v.True()
	}
	return ok
}

func (d *decoder) integer(attrs hcl.Attributes, name string, min int, dst *int) bool {
	v, ok := d.value(attrs, name, cty.Number)
	if !ok {
		return false
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || i < int64(min) || i > 1<<31 {
		d.l.errf(attrs[name].Expr.Range(), "Invalid number",
			"%s must be a whole number of at least %d.", name, min)
		return false
	}
	*dst = int(i)
	return true
}

func (d *decoder) duration(attrs hcl.Attributes, name string, dst *time.Duration) bool {
	var s string
	if !d.str(attrs, name, &s) {
		return false
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur <= 0 {
		d.l.errf(attrs[name].Expr.Range(), "Invalid duration",
			"%s is not a positive duration. Write it like \"30s\", \"5m\" or \"1h30m\".", d.show(name, s))
		return false
	}
	*dst = dur
	return true
}

func (d *decoder) strList(attrs hcl.Attributes, name string, dst *[]string) bool {
	v, ok := d.value(attrs, name, cty.List(cty.String))
	if !ok {
		return false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.l.errf(attrs[name].Expr.Range(), "Invalid list element", "%s must not contain null.", name)
			return false
		}
		out = append(out, e.AsString())
	}
	*dst = out
	return true
}

func (d *decoder) strMap(attrs hcl.Attributes, name string, dst *map[string]string) bool {
	v, ok := d.value(attrs, name, cty.Map(cty.String))
	if !ok {
		return false
	}
	out := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			d.l.errf(attrs[name].Expr.Range(), "Invalid map element", "%s[%q] must not be null.", name, k.AsString())
			return false
		}
		out[k.AsString()] = e.AsString()
	}
	*dst = out
	return true
}

// oneOf checks that an attribute's value is one of allowed.
func (d *decoder) oneOf(attrs hcl.Attributes, name string, dst *string, allowed ...string) bool {
	var s string
	if !d.str(attrs, name, &s) {
		return false
	}
	for _, a := range allowed {
		if s == a {
			*dst = s
			return true
		}
	}
	d.l.errf(attrs[name].Expr.Range(), "Invalid value for "+name,
		"%s is not valid here.%s Use one of: %s.", d.show(name, s), didYouMean(s, allowed), quoteList(allowed))
	return false
}

// dnsLabel checks a Kubernetes namespace or other DNS-1123 label.
func (d *decoder) dnsLabel(name, s string) bool {
	if s == "" || isDNSLabel(s) {
		return true
	}
	d.l.errf(d.meta.Range(d.prefix+name), "Invalid "+strings.ReplaceAll(name, "_", " "),
		"%s is not a valid Kubernetes name: use at most 63 lower case letters, digits and dashes, starting and ending with a letter or digit.", d.show(name, s))
	return false
}

func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

// jsonable converts a known, unmarked cty value into plain Go data.
func jsonable(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Bool:
		return v.True()
	case ty == cty.Number:
		bf := v.AsBigFloat()
		if i, acc := bf.Int64(); acc == big.Exact {
			return i
		}
		f, _ := bf.Float64()
		return f
	case ty.IsObjectType() || ty.IsMapType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = jsonable(e)
		}
		return out
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, jsonable(e))
		}
		return out
	}
	return nil
}

// pathString renders a cty path as ".a.b[0]".
func pathString(p cty.Path) string {
	var b strings.Builder
	for _, s := range p {
		switch t := s.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + t.Name)
		case cty.IndexStep:
			k := t.Key
			switch {
			case k.Type() == cty.String:
				b.WriteString("." + k.AsString())
			case k.Type() == cty.Number:
				i, _ := k.AsBigFloat().Int64()
				b.WriteString("[" + strconv.FormatInt(i, 10) + "]")
			}
		}
	}
	return b.String()
}

func appendSorted(s []string, v string) []string {
	i := sort.SearchStrings(s, v)
	if i < len(s) && s[i] == v {
		return s
	}
	s = append(s, "")
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
