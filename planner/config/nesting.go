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
// until its end, every unary operator of an unbroken run, and every "?" of
// a chain of conditionals (the parser reads the branches of a conditional
// recursively) until the end of the expression: a comma, a closing token,
// or a newline where newlines end an expression. A missing closing token
// only makes the count larger, so the count is never less than the
// parser's depth.
func checkTokens(toks hclsyntax.Tokens) hcl.Diagnostics {
	depth, unary := 0, 0
	cond := conditionals{levels: []condLevel{{}}}
	for i, tok := range toks {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if tok.Type == hclsyntax.TokenTemplateControl && directiveOpens(toks[i+1:]) {
				depth++
			}
			cond.open(tok.Type)
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
			cond.close()
		case hclsyntax.TokenIdent:
			if i > 0 && toks[i-1].Type == hclsyntax.TokenTemplateControl && directiveCloses(tok) {
				depth = max(depth-1, 0)
			}
		case hclsyntax.TokenQuestion:
			cond.question()
		case hclsyntax.TokenComma:
			cond.end()
		case hclsyntax.TokenNewline:
			if cond.newlineEnds() {
				cond.end()
			}
		}
		if tok.Type == hclsyntax.TokenBang || tok.Type == hclsyntax.TokenMinus {
			unary++
		} else {
			unary = 0
		}
		if depth+unary+cond.total > MaxNesting {
			return tooDeep(tok.Range)
		}
	}
	return nil
}

// conditionals counts the "?" of unfinished conditional expressions, per
// level of brackets.
type conditionals struct {
	levels []condLevel
	total  int
}

type condLevel struct {
	opener    hclsyntax.TokenType // the token that opened the level; 0 at the top
	questions int
}

func (c *conditionals) open(t hclsyntax.TokenType) {
	c.levels = append(c.levels, condLevel{opener: t})
}

func (c *conditionals) close() {
	if len(c.levels) == 1 {
		c.end()
		return
	}
	c.total -= c.levels[len(c.levels)-1].questions
	c.levels = c.levels[:len(c.levels)-1]
}

func (c *conditionals) question() {
	c.levels[len(c.levels)-1].questions++
	c.total++
}

// end ends the expression of the innermost level.
func (c *conditionals) end() {
	top := &c.levels[len(c.levels)-1]
	c.total -= top.questions
	top.questions = 0
}

// newlineEnds reports whether a newline ends an expression in the innermost
// level: at the top and in blocks and objects, not inside parentheses,
// brackets or templates, where the parser skips newlines.
func (c *conditionals) newlineEnds() bool {
	t := c.levels[len(c.levels)-1].opener
	return t == 0 || t == hclsyntax.TokenOBrace
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
