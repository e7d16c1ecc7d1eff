package view

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

const diagSrc = `kustomization "base" {
  path    = "gitops/base"
  timeout = "5 minutes"
  values = {
    a = 1
  }
}
`

func parseDiagSrc(t *testing.T) map[string]*hcl.File {
	t.Helper()
	p := hclparse.NewParser()
	if _, diags := p.ParseHCL([]byte(diagSrc), "main.hcl"); diags.HasErrors() {
		t.Fatal(diags)
	}
	return p.Files()
}

func rng(sl, sc, sb, el, ec, eb int) *hcl.Range {
	return &hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: sl, Column: sc, Byte: sb}, End: hcl.Pos{Line: el, Column: ec, Byte: eb}}
}

func testDiags() hcl.Diagnostics {
	return hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Invalid duration", Detail: `"5 minutes" is not a positive duration. Write it like "5m".`, Subject: rng(3, 13, 61, 3, 24, 72)},
		{Severity: hcl.DiagWarning, Summary: "Deprecated values", Detail: "Use something else.", Subject: rng(4, 12, 84, 6, 4, 100)},
		{Severity: hcl.DiagError, Summary: "No stack files", Detail: "The directory holds no *.hcl files."},
		{Severity: hcl.DiagError, Summary: "In a file we do not have", Subject: &hcl.Range{Filename: "gone.hcl", Start: hcl.Pos{Line: 9, Column: 1}, End: hcl.Pos{Line: 9, Column: 2, Byte: 1}}},
	}
}

func TestDiagnosticsGolden(t *testing.T) {
	files := parseDiagSrc(t)
	for name, color := range map[string]bool{"plain": false, "color": true} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Diagnostics(&buf, testDiags(), files, DiagOptions{Color: color}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(buf.String(), "\x1b["); got != color {
				t.Errorf("ANSI escapes present = %v, want %v", got, color)
			}
			checkGolden(t, "diag-"+name+".golden", buf.Bytes())
		})
	}
}

func TestDiagnosticsJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := DiagnosticsJSON(&buf, testDiags(), parseDiagSrc(t)); err != nil {
		t.Fatal(err)
	}
	var rep DiagReport
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Valid || rep.ErrorCount != 3 || rep.WarningCount != 1 || len(rep.Diagnostics) != 4 {
		t.Fatalf("report = %+v", rep)
	}
	d := rep.Diagnostics[0]
	want := &DiagSnippet{Context: `kustomization "base"`, Code: `  timeout = "5 minutes"`, StartLine: 3, HighlightStartOffset: 12, HighlightEndOffset: 23}
	if diff := cmp.Diff(want, d.Snippet); diff != "" {
		t.Errorf("snippet (-want +got):\n%s", diff)
	}
	if got := d.Snippet.Code[d.Snippet.HighlightStartOffset:d.Snippet.HighlightEndOffset]; got != `"5 minutes"` {
		t.Errorf("highlight = %q", got)
	}
	if rep.Diagnostics[2].Range != nil || rep.Diagnostics[3].Snippet != nil {
		t.Errorf("diagnostic without subject or file: %+v %+v", rep.Diagnostics[2], rep.Diagnostics[3])
	}
}

func TestSortDiagnostics(t *testing.T) {
	d := testDiags()
	d = append(hcl.Diagnostics{d[1]}, d[0], d[3], d[2])
	SortDiagnostics(d)
	var got []string
	for _, x := range d {
		got = append(got, x.Summary)
	}
	want := []string{"No stack files", "In a file we do not have", "Invalid duration", "Deprecated values"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// TestDiagnosticsRedactURLPasswords checks that the source lines of a
// diagnostic at a url holding a password show it as xxxxx, in the text
// and JSON forms, and leave other URLs alone.
func TestDiagnosticsRedactURLPasswords(t *testing.T) {
	const src = "source \"git\" \"p\" {\n  url = \"https://ci:hunter2@git.example.com/p.git\"\n}\n"
	p := hclparse.NewParser()
	if _, diags := p.ParseHCL([]byte(src), "main.hcl"); diags.HasErrors() {
		t.Fatal(diags)
	}
	start := strings.Index(src, "url")
	line2 := strings.Index(src, "\n") + 1
	end := strings.Index(src[start:], "\n") + start
	d := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Git source cannot be fetched",
		Subject: &hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 2, Column: start - line2 + 1, Byte: start}, End: hcl.Pos{Line: 2, Column: end - line2 + 1, Byte: end}}}}
	var text, js bytes.Buffer
	if err := Diagnostics(&text, d, p.Files(), DiagOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := DiagnosticsJSON(&js, d, p.Files()); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text.String(), "json": js.String()} {
		if strings.Contains(out, "hunter2") || !strings.Contains(out, "https://ci:xxxxx@git.example.com/p.git") {
			t.Errorf("%s:\n%s", name, out)
		}
	}
	for in, want := range map[string]string{
		`url = "https://git.example.com/p.git"`:      `url = "https://git.example.com/p.git"`,
		`url = "ssh://git@git.example.com/p.git"`:    `url = "ssh://git@git.example.com/p.git"`,
		`url = "oci://u:p@r.example.com/x", a = "b"`: `url = "oci://u:xxxxx@r.example.com/x", a = "b"`,
	} {
		if got := redactUserinfo(in); got != want {
			t.Errorf("redactUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
