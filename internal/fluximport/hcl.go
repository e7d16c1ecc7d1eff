package fluximport

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	yaml "go.yaml.in/yaml/v3"
)

// comment appends "# " lines to body.
func comment(body *hclwrite.Body, text string) {
	var toks hclwrite.Tokens
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte(strings.TrimRight("# "+l, " ") + "\n")})
	}
	body.AppendUnstructuredTokens(toks)
}

// setStr sets a string attribute; text of several lines ending in a
// newline becomes a heredoc.
func setStr(body *hclwrite.Body, name, s string) {
	body.SetAttributeRaw(name, stringTokens(s))
}

func setBool(body *hclwrite.Body, name string, b bool) { body.SetAttributeValue(name, cty.BoolVal(b)) }

func setInt(body *hclwrite.Body, name string, n int) {
	body.SetAttributeValue(name, cty.NumberIntVal(int64(n)))
}

// setDuration sets a duration in Go's form, "5m" rather than "5m0s".
func setDuration(body *hclwrite.Body, name string, d time.Duration) {
	setStr(body, name, formatDuration(d))
}

func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func setStrs(body *hclwrite.Body, name string, list []string) {
	elems := make([]hclwrite.Tokens, len(list))
	for i, s := range list {
		elems[i] = stringTokens(s)
	}
	body.SetAttributeRaw(name, hclwrite.TokensForTuple(elems))
}

func setStrMap(body *hclwrite.Body, name string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]hclwrite.ObjectAttrTokens, len(keys))
	for i, k := range keys {
		items[i] = hclwrite.ObjectAttrTokens{Name: keyTokens(k), Value: stringTokens(m[k])}
	}
	body.SetAttributeRaw(name, hclwrite.TokensForObject(items))
}

// refTokens is a block reference such as source.git.podinfo.
func refTokens(parts ...string) hclwrite.Tokens {
	t := hcl.Traversal{hcl.TraverseRoot{Name: parts[0]}}
	for _, p := range parts[1:] {
		t = append(t, hcl.TraverseAttr{Name: p})
	}
	return hclwrite.TokensForTraversal(t)
}

// envTokens is env("NAME") or, with a default, env("NAME", "DEFAULT").
func envTokens(name string, def *string) hclwrite.Tokens {
	args := []hclwrite.Tokens{stringTokens(name)}
	if def != nil {
		args = append(args, stringTokens(*def))
	}
	return hclwrite.TokensForFunctionCall("env", args...)
}

// stringTokens is s as an HCL string: a heredoc for text of several lines
// that ends in a newline, else a quoted string; template sequences are
// escaped so that s is taken literally.
func stringTokens(s string) hclwrite.Tokens {
	if strings.Count(s, "\n") > 1 && strings.HasSuffix(s, "\n") && !strings.ContainsAny(s, "\r") {
		delim := "EOT"
		for i := 2; hasLine(s, delim); i++ {
			delim = "EOT" + strconv.Itoa(i)
		}
		return hclwrite.Tokens{
			{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<" + delim + "\n")},
			{Type: hclsyntax.TokenStringLit, Bytes: []byte(escapeTemplate(s))},
			{Type: hclsyntax.TokenCHeredoc, Bytes: []byte(delim)},
		}
	}
	return hclwrite.Tokens{
		{Type: hclsyntax.TokenOQuote, Bytes: []byte(`"`)},
		{Type: hclsyntax.TokenQuotedLit, Bytes: []byte(escapeQuoted(s))},
		{Type: hclsyntax.TokenCQuote, Bytes: []byte(`"`)},
	}
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// escapeTemplate escapes HCL's template sequences ${ and %{.
func escapeTemplate(s string) string {
	s = strings.ReplaceAll(s, "${", "$${")
	return strings.ReplaceAll(s, "%{", "%%{")
}

func escapeQuoted(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return escapeTemplate(b.String())
}

// keyTokens is an object key: bare when it is a plain identifier, quoted
// otherwise.
func keyTokens(k string) hclwrite.Tokens {
	if plainIdent(k) {
		return hclwrite.TokensForIdentifier(k)
	}
	return stringTokens(k)
}

func plainIdent(s string) bool {
	switch s {
	case "", "true", "false", "null", "for", "in", "if", "endif", "endfor", "else":
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// maxValueNodes bounds the nodes the values of one release may expand to
// through YAML aliases.
const maxValueNodes = 1 << 17

// valueTokens converts YAML data (Helm values) to an HCL expression that
// evaluates to the same JSON value.
func valueTokens(n *yaml.Node) (hclwrite.Tokens, error) {
	w := &valueWriter{open: map[*yaml.Node]bool{}, budget: maxValueNodes}
	return w.tokens(n)
}

// valueWriter converts values, refusing aliases that contain themselves
// and expansions beyond budget nodes.
type valueWriter struct {
	open   map[*yaml.Node]bool // anchors being expanded
	budget int
}

func (w *valueWriter) tokens(n *yaml.Node) (hclwrite.Tokens, error) {
	if w.budget--; w.budget < 0 {
		return nil, fmt.Errorf("line %d: the values expand to more than %d nodes through YAML aliases", n.Line, maxValueNodes)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if w.open[n.Alias] {
			return nil, fmt.Errorf("line %d: the YAML alias *%s contains itself", n.Line, n.Value)
		}
		w.open[n.Alias] = true
		defer delete(w.open, n.Alias)
		return w.tokens(n.Alias)
	case yaml.MappingNode:
		items := make([]hclwrite.ObjectAttrTokens, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: YAML merge keys (<<) are not supported; write the merged mapping out", k.Line)
			}
			vt, err := w.tokens(v)
			if err != nil {
				return nil, err
			}
			items = append(items, hclwrite.ObjectAttrTokens{Name: keyTokens(k.Value), Value: vt})
		}
		return hclwrite.TokensForObject(items), nil
	case yaml.SequenceNode:
		elems := make([]hclwrite.Tokens, 0, len(n.Content))
		for _, e := range n.Content {
			et, err := w.tokens(e)
			if err != nil {
				return nil, err
			}
			elems = append(elems, et)
		}
		return hclwrite.TokensForTuple(elems), nil
	}
	return scalarTokens(n)
}

func scalarTokens(n *yaml.Node) (hclwrite.Tokens, error) {
	switch n.ShortTag() {
	case "!!null":
		return hclwrite.TokensForValue(cty.NullVal(cty.DynamicPseudoType)), nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return hclwrite.TokensForValue(cty.BoolVal(b)), nil
	case "!!int":
		var i big.Int
		var v int64
		if err := n.Decode(&v); err == nil {
			i.SetInt64(v)
		} else if _, ok := i.SetString(n.Value, 0); !ok {
			return nil, fmt.Errorf("line %d: %q is not a number", n.Line, n.Value)
		}
		return hclwrite.Tokens{{Type: hclsyntax.TokenNumberLit, Bytes: []byte(i.String())}}, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: %q is not a finite number, which Helm values (JSON) cannot hold", n.Line, n.Value)
		}
		return hclwrite.Tokens{{Type: hclsyntax.TokenNumberLit, Bytes: []byte(strconv.FormatFloat(f, 'f', -1, 64))}}, nil
	}
	return stringTokens(n.Value), nil
}
