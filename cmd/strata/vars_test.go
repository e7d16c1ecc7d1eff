package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/planner/config"
)

// TestVarFlags defines how --var and --var-file are parsed: the name is
// everything before the first "=" and must be an identifier, the value
// everything after it, kept exactly; both flags append to one list in
// command line order.
func TestVarFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []config.VarArg
		wantErr bool
	}{
		{name: "plain", args: []string{"--var", "a=b"}, want: []config.VarArg{{Name: "a", Value: "b"}}},
		{name: "value keeps spaces", args: []string{"--var", "a= b "}, want: []config.VarArg{{Name: "a", Value: " b "}}},
		{name: "empty value", args: []string{"--var", "a="}, want: []config.VarArg{{Name: "a", Value: ""}}},
		{name: "value with =", args: []string{"--var", "url=https://x/?a=b=c"}, want: []config.VarArg{{Name: "url", Value: "https://x/?a=b=c"}}},
		{name: "HCL-typed value", args: []string{"--var", `zones=["a","b"]`}, want: []config.VarArg{{Name: "zones", Value: `["a","b"]`}}},
		{name: "dash and underscore", args: []string{"--var", "my-var_1=x"}, want: []config.VarArg{{Name: "my-var_1", Value: "x"}}},
		{name: "order of var and var-file", args: []string{"--var-file", "a.hcl", "--var", "a=1", "--var-file", "b.json", "--var", "a=2"},
			want: []config.VarArg{{File: "a.hcl"}, {Name: "a", Value: "1"}, {File: "b.json"}, {Name: "a", Value: "2"}}},
		{name: "no =", args: []string{"--var", "a"}, wantErr: true},
		{name: "empty name", args: []string{"--var", "=b"}, wantErr: true},
		{name: "space in name", args: []string{"--var", " a=b"}, wantErr: true},
		{name: "empty file", args: []string{"--var-file", ""}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []config.VarArg
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.SetOutput(new(discard))
			addVarFlags(fs, &got)
			err := fs.Parse(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q): error %v, want error %v", tt.args, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("vars (-want +got):\n%s", diff)
			}
		})
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// TestVarFlagValues checks what the parsed values become in the stack:
// strings as they are, other types as HCL expressions, and a later --var
// or --var-file winning over an earlier one.
func TestVarFlagValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("main.hcl", `
variable "s" { type = string }
variable "n" { type = number }
variable "l" { type = list(string) }
variable "e" {
  type    = string
  default = "d"
}
`)
	file := write("vars.json", `{"n": 1, "e": "from file"}`)
	var vars []config.VarArg
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addVarFlags(fs, &vars)
	if err := fs.Parse([]string{"--var", "n=2", "--var-file", file, "--var", "s= a=b ", "--var", `l=["x", "y"]`, "--var", "e="}); err != nil {
		t.Fatal(err)
	}
	st, diags := config.Load(dir, config.LoadOptions{Vars: vars})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]cty.Value{}
	for name, v := range st.Variables {
		got[name] = v.Value
	}
	want := map[string]cty.Value{
		"s": cty.StringVal(" a=b "),
		"n": cty.NumberIntVal(1), // the file comes after --var n=2
		"l": cty.ListVal([]cty.Value{cty.StringVal("x"), cty.StringVal("y")}),
		"e": cty.StringVal(""),
	}
	for name, w := range want {
		if !got[name].RawEquals(w) {
			t.Errorf("var.%s = %#v, want %#v", name, got[name], w)
		}
	}
}
