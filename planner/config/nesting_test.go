package config_test

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/planner/config"
)

// TestDeepNestingIsRefused loads input nested about 70,000 levels deep,
// which overflowed the Go stack in hcl's recursive parser and ended the
// process. Each must be refused with a diagnostic naming the file and line.
// The stack limit is lowered so that a regression fails fast instead of
// growing a 1 GB stack (a chain of 70,000 conditionals needs more than 32
// MB).
func TestDeepNestingIsRefused(t *testing.T) {
	old := debug.SetMaxStack(32 << 20)
	t.Cleanup(func() { debug.SetMaxStack(old) })
	const n = 70000
	deepList := strings.Repeat("[", n) + strings.Repeat("]", n)
	tests := map[string]struct {
		files   map[string]string
		vars    []config.VarArg
		summary string // of the error diagnostic
		where   string // "file:line" of its subject, "" for none
		detail  string // in its detail
	}{
		"brackets": {
			files:   map[string]string{"main.hcl": "locals {\n  x = " + deepList + "\n}\n"},
			summary: "Too deeply nested", where: "main.hcl:2",
		},
		"blocks": {
			files:   map[string]string{"main.hcl": strings.Repeat("locals {\n", n) + strings.Repeat("}\n", n)},
			summary: "Too deeply nested", where: "main.hcl:1001",
		},
		"unary operators": {
			files:   map[string]string{"main.hcl": "locals {\n  x = " + strings.Repeat("!", n) + "true\n}\n"},
			summary: "Too deeply nested", where: "main.hcl:2",
		},
		"conditional chain": {
			files:   map[string]string{"main.hcl": "locals {\n  x = " + strings.Repeat("true ? 1 : ", n) + "1\n}\n"},
			summary: "Too deeply nested", where: "main.hcl:2",
		},
		"string interpolations": {
			files:   map[string]string{"main.hcl": "locals {\n  x = " + strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n) + "\n}\n"},
			summary: "Too deeply nested", where: "main.hcl:2",
		},
		"auto vars file": {
			files: map[string]string{
				"main.hcl":           "variable \"x\" {\n  type = any\n}\n",
				"a.auto.vars.hcl":    "x = " + deepList + "\n",
				"unrelated.vars.hcl": "ignored = 1\n",
			},
			summary: "Too deeply nested", where: "a.auto.vars.hcl:1",
		},
		"json vars file": {
			files: map[string]string{
				"main.hcl":         "variable \"x\" {\n  type = any\n}\n",
				"a.auto.vars.json": "{\n\"x\": " + deepList + "\n}\n",
			},
			summary: "Too deeply nested", where: "a.auto.vars.json:2",
		},
		"template in a json string": {
			files: map[string]string{
				"main.hcl":         "variable \"x\" {\n  type = any\n}\n",
				"a.auto.vars.json": "{\n\"x\": \"" + strings.Repeat("${(", n) + "1" + strings.Repeat(")}", n) + "\"\n}\n",
			},
			summary: "Too deeply nested", where: "a.auto.vars.json:2",
		},
		"var value": {
			files:   map[string]string{"main.hcl": "variable \"x\" {\n  type = list(any)\n}\n"},
			vars:    []config.VarArg{{Name: "x", Value: deepList}},
			summary: "Invalid value for input variable", where: "main.hcl:1", detail: "nests more than 1000 levels deep",
		},
		"template directives": {
			files: map[string]string{
				"main.hcl": "locals {\n  x = templatefile(\"t.tpl\", {})\n}\n",
				"t.tpl":    strings.Repeat("%{ if true }", n) + strings.Repeat("%{ endif }", n),
			},
			summary: "Invalid function argument", where: "main.hcl:2", detail: "t.tpl:1,11989-11991: Too deeply nested",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeStack(t, tt.files)
			_, diags := config.Load(dir, config.LoadOptions{Version: "0.1.0", Vars: tt.vars, Getenv: func(string) string { return "" }})
			d := firstError(diags)
			if d == nil {
				t.Fatalf("no error diagnostic; got %v", diags)
			}
			if d.Summary != tt.summary {
				t.Errorf("summary %q, want %q (detail: %s)", d.Summary, tt.summary, d.Detail)
			}
			if got := summaries(dir, hcl.Diagnostics{d})[0]; !strings.HasPrefix(got, tt.where+": ") {
				t.Errorf("diagnostic at %q, want %s", got, tt.where)
			}
			if !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tt.detail)
			}
		})
	}
}

// TestNestingBelowTheLimitLoads checks that the limit leaves ordinary deep
// structures alone.
func TestNestingBelowTheLimitLoads(t *testing.T) {
	const n = 300
	var conds strings.Builder // many conditionals, none nested in another
	for i := range config.MaxNesting + 10 {
		fmt.Fprintf(&conds, "  c%d = true ? [true ? 1 : 2, (true ? 3 : 4)] : [{ a = true ? 5 : 6 }.a, 7]\n", i)
	}
	dir := writeStack(t, map[string]string{
		"main.hcl": "locals {\n" + conds.String() +
			"  l = [" + strings.Repeat("true ? 1 : 2,\n", 2*config.MaxNesting) + "]\n" +
			"  o = {\n" + strings.Repeat("    a = true ? 1 : 2\n", 2*config.MaxNesting) + "  }\n" +
			"  t = \"" + strings.Repeat("${true ? 1 : 2}", 2*config.MaxNesting) + "\"\n" +
			"  x = " + strings.Repeat("{a = [", n) + "1" + strings.Repeat("]}", n) + "\n" +
			"  y = " + strings.Repeat("!", 20) + "true\n" +
			"  z = \"%{ if true }${\"${\"a\"}\"}%{ endif }\"\n}\n",
	})
	st := mustLoad(t, dir, config.LoadOptions{})
	if got := st.Locals["z"].Value.AsString(); got != "a" {
		t.Errorf("z = %q, want a", got)
	}
}

func firstError(diags hcl.Diagnostics) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			return d
		}
	}
	return nil
}
