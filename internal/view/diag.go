package view

// This file renders HCL diagnostics the way Terraform does: severity and
// summary, the file:line:col of the subject, a snippet of the source with
// the range marked, and the detail; and as JSON for `validate --json`. It
// prints what the diagnostic says and the source text, never expression
// values, so sensitive values cannot leak through it.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
)

// DiagOptions configure Diagnostics.
type DiagOptions struct {
	// Color turns on ANSI colour.
	Color bool
}

// maxSnippetLines bounds how many source lines one diagnostic shows.
const maxSnippetLines = 5

// Diagnostics renders diags to w. files maps file names (as in the
// ranges) to the parsed files, for snippets; a missing file just means no
// snippet.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, opts DiagOptions) error {
	bw := bufio.NewWriter(w)
	for _, d := range diags {
		writeDiag(bw, d, files, opts)
	}
	return bw.Flush()
}

func diagPaint(opts DiagOptions, style, s string) string { return painter(opts.Color).paint(style, s) }

func writeDiag(w *bufio.Writer, d *hcl.Diagnostic, files map[string]*hcl.File, opts DiagOptions) {
	sev, colour := "Error", red
	if d.Severity == hcl.DiagWarning {
		sev, colour = "Warning", yellow
	}
	fmt.Fprintf(w, "%s%s\n", diagPaint(opts, bold+colour, sev+": "), diagPaint(opts, bold, d.Summary))
	if d.Subject != nil {
		r := *d.Subject
		fmt.Fprintln(w)
		loc := fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
		snip := snippetOf(r, files)
		if snip != nil && snip.context != "" {
			fmt.Fprintf(w, "  on %s, in %s:\n", loc, snip.context)
		} else {
			fmt.Fprintf(w, "  on %s:\n", loc)
		}
		if snip != nil {
			writeSnippet(w, snip, opts, colour)
		}
	}
	if d.Detail != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, d.Detail)
	}
	fmt.Fprintln(w)
}

// snippet is the source around a range.
type snippet struct {
	context   string
	startLine int
	lines     []string
	// markStart and markEnd are the rune offsets of the range on each
	// line (markEnd -1: to the end of the line).
	markStart, markEnd []int
}

func snippetOf(r hcl.Range, files map[string]*hcl.File) *snippet {
	f, ok := files[r.Filename]
	if !ok || f == nil || r.Start.Byte > len(f.Bytes) || r.End.Byte > len(f.Bytes) || r.Start.Line < 1 {
		return nil
	}
	src := f.Bytes
	s := &snippet{context: hcled.ContextString(f, r.Start.Byte), startLine: r.Start.Line}
	// Find the start of the first line.
	lineStart := bytes.LastIndexByte(src[:r.Start.Byte], '\n') + 1
	line := r.Start.Line
	for pos := lineStart; pos <= len(src) && line <= r.End.Line && len(s.lines) < maxSnippetLines; line++ {
		end := bytes.IndexByte(src[pos:], '\n')
		if end < 0 {
			end = len(src) - pos
		}
		text := src[pos : pos+end]
		ms, me := 0, -1
		if line == r.Start.Line {
			ms = utf8.RuneCount(src[pos:max(pos, min(r.Start.Byte, pos+end))])
		}
		if line == r.End.Line {
			me = utf8.RuneCount(src[pos:max(pos, min(r.End.Byte, pos+end))])
		}
		s.lines = append(s.lines, redactUserinfo(strings.TrimRight(string(text), "\r")))
		s.markStart = append(s.markStart, ms)
		s.markEnd = append(s.markEnd, me)
		pos += end + 1
	}
	if len(s.lines) == 0 {
		return nil
	}
	return s
}

func writeSnippet(w *bufio.Writer, s *snippet, opts DiagOptions, colour string) {
	width := len(fmt.Sprint(s.startLine + len(s.lines) - 1))
	for i, text := range s.lines {
		runes := []rune(strings.ReplaceAll(text, "\t", " "))
		ms, me := s.markStart[i], s.markEnd[i]
		if me < 0 || me > len(runes) {
			me = len(runes)
		}
		if i > 0 {
			// A continuation line: mark from its first non-blank.
			for ms < me && runes[ms] == ' ' {
				ms++
			}
		}
		if ms > me {
			ms = me
		}
		line := string(runes)
		if opts.Color && me > ms {
			line = string(runes[:ms]) + underline + string(runes[ms:me]) + reset + string(runes[me:])
		}
		if line == "" {
			fmt.Fprintf(w, "  %*d:\n", width, s.startLine+i)
		} else {
			fmt.Fprintf(w, "  %*d: %s\n", width, s.startLine+i, line)
		}
		if me > ms || i == 0 {
			n := me - ms
			if n == 0 {
				n = 1 // an empty range (a missing item) still gets a marker
			}
			fmt.Fprintf(w, "  %*s  %s%s\n", width, "", strings.Repeat(" ", ms), diagPaint(opts, colour, strings.Repeat("^", n)))
		}
	}
}

// DiagReport is the JSON form of a set of diagnostics, shaped like
// `terraform validate -json`.
type DiagReport struct {
	FormatVersion string      `json:"format_version"`
	Valid         bool        `json:"valid"`
	ErrorCount    int         `json:"error_count"`
	WarningCount  int         `json:"warning_count"`
	Diagnostics   []DiagEntry `json:"diagnostics"`
}

// DiagEntry is one diagnostic in a DiagReport.
type DiagEntry struct {
	Severity string       `json:"severity"` // "error" or "warning"
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail,omitempty"`
	Range    *DiagRange   `json:"range,omitempty"`
	Snippet  *DiagSnippet `json:"snippet,omitempty"`
}

// DiagRange is a source range in a DiagReport.
type DiagRange struct {
	Filename string  `json:"filename"`
	Start    DiagPos `json:"start"`
	End      DiagPos `json:"end"`
}

// DiagPos is a position: 1-based line and column, 0-based byte offset.
type DiagPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// DiagSnippet is the source of a diagnostic's range in a DiagReport.
type DiagSnippet struct {
	// Context names the enclosing block, e.g. `kustomization "base"`.
	Context   string `json:"context,omitempty"`
	Code      string `json:"code"`
	StartLine int    `json:"start_line"`
	// HighlightStartOffset and HighlightEndOffset are byte offsets of the
	// range in Code.
	HighlightStartOffset int `json:"highlight_start_offset"`
	HighlightEndOffset   int `json:"highlight_end_offset"`
}

// NewDiagReport builds the JSON report of diags.
func NewDiagReport(diags hcl.Diagnostics, files map[string]*hcl.File) DiagReport {
	rep := DiagReport{FormatVersion: "1.0", Valid: !diags.HasErrors(), Diagnostics: []DiagEntry{}}
	for _, d := range diags {
		jd := DiagEntry{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			rep.WarningCount++
		} else {
			rep.ErrorCount++
		}
		if d.Subject != nil {
			r := *d.Subject
			jd.Range = &DiagRange{
				Filename: r.Filename,
				Start:    DiagPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:      DiagPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
			}
			if f, ok := files[r.Filename]; ok && f != nil && r.End.Byte <= len(f.Bytes) && r.Start.Byte <= r.End.Byte {
				src := f.Bytes
				start := bytes.LastIndexByte(src[:r.Start.Byte], '\n') + 1
				end := bytes.IndexByte(src[r.End.Byte:], '\n')
				if end < 0 {
					end = len(src)
				} else {
					end += r.End.Byte
				}
				code := redactUserinfo(string(src[start:end]))
				jd.Snippet = &DiagSnippet{
					Context:              hcled.ContextString(f, r.Start.Byte),
					Code:                 code,
					StartLine:            r.Start.Line,
					HighlightStartOffset: min(r.Start.Byte-start, len(code)),
					HighlightEndOffset:   min(r.End.Byte-start, len(code)),
				}
			}
		}
		rep.Diagnostics = append(rep.Diagnostics, jd)
	}
	return rep
}

// DiagnosticsJSON writes the JSON report of diags to w, indented.
func DiagnosticsJSON(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDiagReport(diags, files))
}

// SortDiagnostics orders diagnostics by file, line and column, errors before warnings
// at the same place, so output is stable.
func SortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i], diags[j]
		if (a.Subject == nil) != (b.Subject == nil) {
			return a.Subject == nil
		}
		if a.Subject != nil {
			ra, rb := *a.Subject, *b.Subject
			if ra.Filename != rb.Filename {
				return ra.Filename < rb.Filename
			}
			if ra.Start.Byte != rb.Start.Byte {
				return ra.Start.Byte < rb.Start.Byte
			}
		}
		return a.Severity < b.Severity
	})
}

// userinfo matches the password of a URL's user information
// (scheme://user:password@): group 1 is what comes before the password.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/@\s"':]*):[^/@\s"']*@`)

// redactUserinfo replaces the passwords of the URLs in a line of source
// with xxxxx, as errors show URLs (net/url's Redacted): a stack may hold
// a credential in a url attribute, and a snippet of it must not show it.
func redactUserinfo(line string) string {
	if !strings.Contains(line, "@") {
		return line
	}
	return userinfo.ReplaceAllString(line, "${1}:xxxxx@")
}
