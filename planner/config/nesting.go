package config

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxNesting is how deeply brackets, braces, parentheses, blocks, quoted
// strings, template interpolations and directives, and chains of unary
// operators may nest in a stack file, a variables file, a template or a
// --var value. hcl's parsers are recursive: about 70,000 levels exhaust
// the Go stack and end the process, so input is checked before it is
// parsed. Real stacks nest a few dozen levels at most.
const MaxNesting = 1000

// CheckNesting returns an error diagnostic, pointing at the first token too
// deep, when the HCL configuration src nests deeper than MaxNesting. It
// only lexes src (lexing is not recursive); syntax errors are left to the
// parser.
func CheckNesting(src []byte, filename string) hcl.Diagnostics {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	return checkTokens(toks)
}

// checkTemplateNesting is CheckNesting for a template (templatefile).
func checkTemplateNesting(src []byte, filename string) hcl.Diagnostics {
	toks, _ := hclsyntax.LexTemplate(src, filename, hcl.InitialPos)
	return checkTokens(toks)
}

// checkExpressionNesting is CheckNesting for a single expression (a --var
// or STRATA_VAR_ value).
func checkExpressionNesting(src []byte, filename string) hcl.Diagnostics {
	toks, _ := hclsyntax.LexExpression(src, filename, hcl.InitialPos)
	return checkTokens(toks)
}

// checkTokens counts the levels the parser recurses into: every opening
// token until its closing token, every if or for directive of a template
// until its end, and every unary operator of an unbroken run. A missing
// closing token only makes the count larger, so the count is never less
// than the parser's depth.
func checkTokens(toks hclsyntax.Tokens) hcl.Diagnostics {
	depth, unary := 0, 0
	for i, tok := range toks {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if tok.Type == hclsyntax.TokenTemplateControl && directiveOpens(toks[i+1:]) {
				depth++
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
		case hclsyntax.TokenIdent:
			if i > 0 && toks[i-1].Type == hclsyntax.TokenTemplateControl && directiveCloses(tok) {
				depth = max(depth-1, 0)
			}
		}
		if tok.Type == hclsyntax.TokenBang || tok.Type == hclsyntax.TokenMinus {
			unary++
		} else {
			unary = 0
		}
		if depth+unary > MaxNesting {
			return tooDeep(tok.Range)
		}
	}
	return nil
}

// directiveOpens reports whether the template directive whose tokens
// follow "%{" opens a level that "%{ endif }" or "%{ endfor }" closes.
func directiveOpens(rest hclsyntax.Tokens) bool {
	if len(rest) == 0 || rest[0].Type != hclsyntax.TokenIdent {
		return false
	}
	word := string(rest[0].Bytes)
	return word == "if" || word == "for"
}

func directiveCloses(tok hclsyntax.Token) bool {
	word := string(tok.Bytes)
	return word == "endif" || word == "endfor"
}

func tooDeep(rng hcl.Range) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Too deeply nested",
		Detail: fmt.Sprintf("This file nests brackets, blocks, strings or operators more than %d levels deep, which strata does not read. "+
			"Flatten the structure, or move deep data into a file that a function such as yamldecode or jsondecode reads.", MaxNesting),
		Subject: rng.Ptr(),
	}}
}

// checkJSONNesting is CheckNesting for a JSON variables file: it counts
// arrays and objects, and checks every string as a template, since hcl
// reads JSON strings as templates. Invalid JSON is left to the parser.
func checkJSONNesting(src []byte, filename string) hcl.Diagnostics {
	dec := json.NewDecoder(bytes.NewReader(src))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or invalid JSON that the parser reports
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '[' || v == '{' {
				depth++
			} else {
				depth--
			}
		case string:
			if diags := checkTemplateNesting([]byte(v), filename); diags.HasErrors() {
				return tooDeep(jsonRange(src, filename, dec.InputOffset()))
			}
		}
		if depth > MaxNesting {
			return tooDeep(jsonRange(src, filename, dec.InputOffset()))
		}
	}
}

// jsonRange is the range of the single byte at offset in src.
func jsonRange(src []byte, filename string, offset int64) hcl.Range {
	off := int(min(offset, int64(len(src))))
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(src[:off], '\n')
	pos := hcl.Pos{Line: line, Column: col, Byte: off}
	return hcl.Range{Filename: filename, Start: pos, End: pos}
}
