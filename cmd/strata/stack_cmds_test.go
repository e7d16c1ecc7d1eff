package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/golden"
)

// runStrata runs strata with stdin and returns the exit code and outputs.
func runStrata(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := a.run(args)
	return code, stdout.String(), stderr.String()
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	code, out, errOut := runStrata(t, "", "validate", "../../planner/config/testdata/valid/full")
	if code != 0 || out != "Success! The stack is valid (7 blocks).\n" || errOut != "" {
		t.Errorf("valid stack: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	bad := "../../planner/config/testdata/invalid/unknown_attribute"
	code, out, errOut = runStrata(t, "", "validate", bad)
	if code != 1 || out != "" {
		t.Errorf("invalid stack: exit %d, stdout %q", code, out)
	}
	for _, want := range []string{
		"Error: Unsupported argument",
		"on " + bad + "/main.hcl:2:3, in kustomization \"a\":",
		"  2:   pathh = \".\"\n       ^^^^^\n",
		`Did you mean "path"?`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "\x1b[") {
		t.Errorf("colour written to a non-terminal:\n%q", errOut)
	}

	code, out, _ = runStrata(t, "", "validate", "--json", bad)
	if code != 1 {
		t.Errorf("--json invalid: exit %d", code)
	}
	var rep struct {
		Valid       bool `json:"valid"`
		ErrorCount  int  `json:"error_count"`
		Diagnostics []struct {
			Summary string `json:"summary"`
			Range   struct {
				Filename string `json:"filename"`
				Start    struct{ Line, Column int }
			} `json:"range"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	if rep.Valid || rep.ErrorCount != 1 || rep.Diagnostics[0].Summary != "Unsupported argument" ||
		rep.Diagnostics[0].Range.Start.Line != 2 || rep.Diagnostics[0].Range.Start.Column != 3 {
		t.Errorf("--json report = %+v", rep)
	}

	code, out, _ = runStrata(t, "", "validate", "--json", "../../planner/config/testdata/valid/full")
	if code != 0 || !strings.Contains(out, `"valid": true`) {
		t.Errorf("--json valid: exit %d\n%s", code, out)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "main.hcl")
	copyFile(t, "testdata/fmt/messy.hcl", file)

	// --check reports and writes nothing.
	code, out, _ := runStrata(t, "", "fmt", "--check", dir)
	if code != 3 || out != file+"\n" {
		t.Errorf("fmt --check messy: exit %d, stdout %q", code, out)
	}
	if b, _ := os.ReadFile(file); !bytes.Equal(b, mustRead(t, "testdata/fmt/messy.hcl")) {
		t.Error("fmt --check changed the file")
	}

	// --diff --check prints the diff.
	code, out, _ = runStrata(t, "", "fmt", "--check", "--diff", file)
	if code != 3 {
		t.Errorf("fmt --check --diff: exit %d", code)
	}
	golden.Check(t, "testdata/fmt/messy.diff", []byte(strings.ReplaceAll(out, file, "main.hcl")))

	// fmt rewrites the file to the golden result.
	code, out, errOut := runStrata(t, "", "fmt", dir)
	if code != 0 || out != file+"\n" {
		t.Errorf("fmt: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	got := mustRead(t, file)
	golden.Check(t, "testdata/fmt/messy.golden", got)

	// A second run changes nothing.
	code, out, _ = runStrata(t, "", "fmt", dir)
	if code != 0 || out != "" || !bytes.Equal(mustRead(t, file), got) {
		t.Errorf("second fmt: exit %d, stdout %q, changed=%v", code, out, !bytes.Equal(mustRead(t, file), got))
	}
	if code, _, _ := runStrata(t, "", "fmt", "--check", dir); code != 0 {
		t.Errorf("fmt --check on formatted files: exit %d", code)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFmtRefusesLinksLeadingOut: a *.hcl symbolic link in the directory
// that leads outside it is neither read nor written by fmt, which would
// print the target in a diff or a diagnostic (a pull request could link a
// kubeconfig or an .env file) and write through the link; a link that
// stays inside is formatted.
func TestFmtRefusesLinksLeadingOut(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "ci.env")
	const env = "TOKEN=\"s3cret-env-value\"\n"
	if err := os.WriteFile(outside, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyFile(t, "testdata/fmt/messy.hcl", filepath.Join(dir, "sub", "real.hcl"))
	if err := os.Symlink(filepath.Join("sub", "real.hcl"), filepath.Join(dir, "inside.hcl")); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runStrata(t, "", "fmt", "--check", dir)
	if code != 3 || out != filepath.Join(dir, "inside.hcl")+"\n" {
		t.Errorf("fmt --check with a link inside: exit %d, stdout %q", code, out)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "evil.hcl")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"fmt", "--check", "--diff", dir}, {"fmt", "--diff", dir}, {"fmt", "--recursive", dir}} {
		code, out, errOut := runStrata(t, "", args...)
		if code != 1 || !strings.Contains(errOut, "evil.hcl is a symbolic link that leads outside") {
			t.Errorf("%v: exit %d, want 1 naming the link\n%s%s", args, code, out, errOut)
		}
		if strings.Contains(out+errOut, "s3cret") {
			t.Errorf("%v shows the linked file's content:\n%s%s", args, out, errOut)
		}
	}
	if b := mustRead(t, outside); string(b) != env {
		t.Errorf("fmt wrote through the link: %q", b)
	}
}

func TestFmtRecursiveStdinAndErrors(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "testdata/fmt/messy.hcl", filepath.Join(dir, "a.hcl"))
	copyFile(t, "testdata/fmt/messy.hcl", filepath.Join(dir, "sub", "b.hcl"))
	copyFile(t, "testdata/fmt/messy.hcl", filepath.Join(dir, ".hidden", "c.hcl"))

	_, out, _ := runStrata(t, "", "fmt", "--check", dir)
	if want := filepath.Join(dir, "a.hcl") + "\n"; out != want {
		t.Errorf("without --recursive: %q, want %q", out, want)
	}
	_, out, _ = runStrata(t, "", "fmt", "--check", "--recursive", dir)
	if want := filepath.Join(dir, "a.hcl") + "\n" + filepath.Join(dir, "sub", "b.hcl") + "\n"; out != want {
		t.Errorf("with --recursive: %q, want %q", out, want)
	}

	code, out, _ := runStrata(t, string(mustRead(t, "testdata/fmt/messy.hcl")), "fmt", "-")
	if code != 0 || out != string(mustRead(t, "testdata/fmt/messy.golden")) {
		t.Errorf("fmt - : exit %d\n%s", code, out)
	}

	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("release \"a\" {\n  chart = \n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runStrata(t, "", "fmt", bad)
	if code != 1 || !strings.Contains(errOut, "Error: Invalid expression") || !strings.Contains(errOut, "bad.hcl:2:") {
		t.Errorf("fmt of a syntax error: exit %d\n%s", code, errOut)
	}
	if string(mustRead(t, bad)) != "release \"a\" {\n  chart = \n}\n" {
		t.Error("fmt rewrote a file with a syntax error")
	}
}

func TestGraphCommand(t *testing.T) {
	stack := "../../planner/config/testdata/valid/full"
	code, out1, errOut := runStrata(t, "", "graph", stack)
	if code != 0 {
		t.Fatalf("graph: exit %d: %s", code, errOut)
	}
	_, out2, _ := runStrata(t, "", "graph", stack)
	if out1 != out2 {
		t.Error("graph output differs between runs")
	}
	if !strings.Contains(out1, `"kustomization.platform_base" -> "kustomization.crds" [style = dashed];`) {
		t.Errorf("dot output lacks the depends_on edge:\n%s", out1)
	}
	code, out, _ := runStrata(t, "", "graph", "--format", "mermaid", stack)
	if code != 0 || !strings.HasPrefix(out, "flowchart RL\n") {
		t.Errorf("mermaid: exit %d\n%s", code, out)
	}
	if code, _, errOut := runStrata(t, "", "graph", "--format", "png", stack); code != 1 || !strings.Contains(errOut, "unknown graph format") {
		t.Errorf("bad format: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runStrata(t, "", "graph", "../../planner/config/testdata/invalid/cycle_length_2"); code != 1 || !strings.Contains(errOut, "Dependency cycle") {
		t.Errorf("cycle: exit %d, %s", code, errOut)
	}
}

// TestFmtIdempotentOnTestStacks formats every stack file of the language
// tests twice: the second pass must change nothing.
func TestFmtIdempotentOnTestStacks(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../planner/config/testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hcl") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "testdata/fmt/messy.hcl")
	checked := 0
	for _, f := range files {
		once, _, diags := formatHCL(mustRead(t, f), f)
		if diags.HasErrors() {
			continue // the syntax-error cases
		}
		twice, _, _ := formatHCL(once, f)
		if !bytes.Equal(once, twice) {
			t.Errorf("%s: a second fmt changes the file:\n%s", f, cmp.Diff(string(once), string(twice)))
		}
		checked++
	}
	if checked < 50 {
		t.Errorf("checked only %d files", checked)
	}
}

// TestDeepNestingRefusedByValidateAndFmt checks that a stack file nested
// 70,000 levels deep, which overflowed the Go stack in hcl's parser (exit 2
// and a goroutine dump), is refused by validate and fmt with a diagnostic
// naming the file and line. The stack limit is lowered so that a
// regression fails fast.
func TestDeepNestingRefusedByValidateAndFmt(t *testing.T) {
	old := debug.SetMaxStack(256 << 20)
	t.Cleanup(func() { debug.SetMaxStack(old) })
	dir := t.TempDir()
	src := "locals {\n  x = " + strings.Repeat("[", 70000) + strings.Repeat("]", 70000) + "\n}\n"
	writeFiles(t, dir, map[string]string{"main.hcl": src})
	for _, args := range [][]string{{"validate", dir}, {"fmt", dir}} {
		code, _, errOut := runStrata(t, "", args...)
		if code != 1 || !strings.Contains(errOut, "Error: Too deeply nested") || !strings.Contains(errOut, "main.hcl:2:") {
			t.Errorf("strata %s: exit %d, stderr:\n%.400s", args[0], code, errOut)
		}
	}
	if string(mustRead(t, filepath.Join(dir, "main.hcl"))) != src {
		t.Error("fmt rewrote the file")
	}
}
