package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/planner/config"
)

const envStack = `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "f" { default = "default" }
variable "replicas" {
  type    = number
  default = 1
}

cluster {
  kubeconfig = "/stack/kubeconfig"
  context    = "stack"
}

environment "staging" {
  cluster { context = "staging" }
  var_files = ["environments/staging.vars.hcl", "environments/staging2.vars.json"]
  variables = { c = "env block", d = "env block", e = "env block", replicas = 2 }
}

environment "production" {
  cluster {
    kubeconfig = "/prod/kubeconfig"
    context    = "prod"
  }
  backend "local" { path = "state/prod.db" }
}
`

// TestEnvironmentVariablePrecedence pins the order: stack defaults <
// *.auto.vars files < environment var_files (in order) < environment
// variables < --var-file < --var.
func TestEnvironmentVariablePrecedence(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"main.hcl":                         envStack,
		"x.auto.vars.hcl":                  `f = "auto"` + "\n" + `a = "auto"`,
		"environments/staging.vars.hcl":    `a = "env file"` + "\n" + `b = "env file"` + "\n" + `c = "env file"`,
		"environments/staging2.vars.json":  `{"b": "env file 2"}`,
		"cli.vars.hcl":                     `d = "var file"` + "\n" + `e = "var file"`,
		"environments/production.vars.hcl": `a = "unused"`,
	})
	st := mustLoad(t, dir, config.LoadOptions{
		Environment: "staging",
		Vars:        []config.VarArg{{File: filepath.Join(dir, "cli.vars.hcl")}, {Name: "e", Value: "cli"}},
	})
	got := map[string]string{}
	for name, v := range st.Variables {
		val := v.Value.GoString()
		if v.Value.Type() == cty.String {
			val = v.Value.AsString()
		}
		got[name] = fmt.Sprintf("%s (%s)", val, v.ValueSource)
	}
	want := map[string]string{
		"a":        "env file (environment var file)",
		"b":        "env file 2 (environment var file)",
		"c":        "env block (environment block)",
		"d":        "var file (var file)",
		"e":        "cli (command line)",
		"f":        "auto (auto vars file)",
		"replicas": "cty.NumberIntVal(2) (environment block)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	if st.Environment == nil || st.Environment.Name != "staging" {
		t.Fatalf("Environment = %+v, want staging", st.Environment)
	}
	if diff := cmp.Diff([]string{"staging", "production"}, st.EnvironmentNames()); diff != "" {
		t.Errorf("EnvironmentNames (-want +got):\n%s", diff)
	}
}

// TestEnvironmentClusterAndBackend checks that the selected environment's
// cluster attributes override the stack's and that its state is derived
// from the stack's backend unless it has a backend block of its own.
func TestEnvironmentClusterAndBackend(t *testing.T) {
	kubeBackend := `strata {
  backend "kubernetes" {
    namespace = "strata-system"
    name      = "shop"
  }
}
`
	tests := []struct {
		name, env, extra string
		wantCluster      config.Cluster
		wantBackend      config.Backend
	}{
		{name: "local derived", env: "staging",
			wantCluster: config.Cluster{Kubeconfig: "/stack/kubeconfig", Context: "staging"},
			wantBackend: config.Backend{Type: "local", Path: ".strata/environments/staging/state.db"}},
		{name: "local own path derived", env: "staging", extra: `strata {
  backend "local" { path = "state/shop.db" }
}`,
			wantCluster: config.Cluster{Kubeconfig: "/stack/kubeconfig", Context: "staging"},
			wantBackend: config.Backend{Type: "local", Path: "state/environments/staging/shop.db"}},
		{name: "kubernetes derived", env: "staging", extra: kubeBackend,
			wantCluster: config.Cluster{Kubeconfig: "/stack/kubeconfig", Context: "staging"},
			wantBackend: config.Backend{Type: "kubernetes", Namespace: "strata-system", Name: "shop-staging"}},
		{name: "own backend block", env: "production", extra: kubeBackend,
			wantCluster: config.Cluster{Kubeconfig: "/prod/kubeconfig", Context: "prod"},
			wantBackend: config.Backend{Type: "local", Path: "state/prod.db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeStack(t, map[string]string{
				"main.hcl":                        envStack + tt.extra,
				"environments/staging.vars.hcl":   ``,
				"environments/staging2.vars.json": `{}`,
			})
			st := mustLoad(t, dir, config.LoadOptions{Environment: tt.env})
			if diff := cmp.Diff(tt.wantCluster, st.Cluster, cmpIgnoreMeta()); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBackend, st.Strata.Backend, cmpIgnoreMeta()); diff != "" {
				t.Errorf("backend (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEnvironmentErrors checks the diagnostics of bad environments: each
// names the problem and, where it is written in a file, its file:line.
func TestEnvironmentErrors(t *testing.T) {
	base := `
variable "replicas" {
  type    = number
  default = 1
}
`
	tests := []struct {
		name  string
		files map[string]string
		opts  config.LoadOptions
		want  []string // "Summary @ file:line" (line 0: no subject)
	}{
		{name: "no environment selected",
			files: map[string]string{"main.hcl": base + `
environment "dev" { variables = { replicas = 1 } }
environment "prod" { variables = { replicas = 1 } }
`},
			want: []string{`No environment selected @ main.hcl:7: "dev", "prod"`}},
		{name: "unknown environment",
			files: map[string]string{"main.hcl": base + `
environment "staging" { variables = { replicas = 1 } }
`},
			opts: config.LoadOptions{Environment: "stagin"},
			want: []string{`Unknown environment @ :0: Did you mean "staging"?`}},
		{name: "no environments at all",
			files: map[string]string{"main.hcl": `variable "x" { default = 1 }`},
			opts:  config.LoadOptions{Environment: "staging"},
			want:  []string{`Unknown environment @ :0: declares no environment blocks`}},
		{name: "wrong type inline",
			files: map[string]string{"main.hcl": base + `
environment "staging" {
  variables = {
    replicas = "two"
  }
}
`},
			opts: config.LoadOptions{Environment: "staging"},
			want: []string{`Invalid value for input variable @ main.hcl:9: from environment "staging" is not suitable`}},
		{name: "wrong type in var file",
			files: map[string]string{
				"main.hcl": base + `
environment "staging" {
  var_files = ["envs/staging.vars.hcl"]
}
`,
				"envs/staging.vars.hcl": "\nreplicas = [1]\n"},
			opts: config.LoadOptions{Environment: "staging"},
			want: []string{`Invalid value for input variable @ envs/staging.vars.hcl:2: The variable's type is number`}},
		{name: "undeclared variable",
			files: map[string]string{"main.hcl": base + `
environment "staging" {
  variables = { replica = 2, replicas = 1 }
}
`},
			opts: config.LoadOptions{Environment: "staging"},
			want: []string{`Value for undeclared variable @ main.hcl:8: Did you mean "replicas"?`}},
		{name: "every environment is checked without a selection",
			files: map[string]string{"main.hcl": base + `
environment "dev" { variables = { replicas = 1 } }
environment "prod" { variables = { replicas = "many" } }
`},
			opts: config.LoadOptions{AnyEnvironment: true, Partial: true},
			want: []string{`Invalid value for input variable @ main.hcl:8: from environment "prod"`}},
		{name: "invalid and duplicate names",
			files: map[string]string{"main.hcl": base + `
environment "Dev_1" {}
environment "dev" {}
environment "dev" {}
`},
			opts: config.LoadOptions{AnyEnvironment: true, Partial: true},
			want: []string{`Invalid environment name @ main.hcl:7: "Dev_1"`, `Duplicate environment block @ main.hcl:9: main.hcl:8`}},
		{name: "computed variables",
			files: map[string]string{"main.hcl": base + `
environment "dev" { variables = yamldecode(file("dev.yaml")) }
`, "dev.yaml": "replicas: many\nreplica: 1\n"},
			opts: config.LoadOptions{Environment: "dev"},
			want: []string{`Value for undeclared variable @ main.hcl:7: Did you mean "replicas"?`,
				`Invalid value for input variable @ main.hcl:7: from environment "dev" is not suitable`}},
		{name: "variables not an object",
			files: map[string]string{"main.hcl": base + `
environment "dev" { variables = ["replicas"] }
`},
			opts: config.LoadOptions{Environment: "dev"},
			want: []string{`Invalid variables @ main.hcl:7: must be an object`}},
		{name: "var file outside the stack",
			files: map[string]string{"main.hcl": base + `
environment "dev" { var_files = ["../x.vars.hcl"] }
`},
			opts: config.LoadOptions{Environment: "dev"},
			want: []string{`Cannot read a variables file @ main.hcl:7: outside`}},
		{name: "derived state name too long",
			files: map[string]string{"main.hcl": `
strata {
  backend "kubernetes" {
    namespace = "s"
    name      = "` + strings.Repeat("n", 60) + `"
  }
}
environment "dev" {}
`},
			opts: config.LoadOptions{Environment: "dev"},
			want: []string{`Invalid environment state name @ main.hcl:8: give the environment a backend block`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeStack(t, tt.files)
			tt.opts.Version = "0.1.0"
			_, diags := config.Load(dir, tt.opts)
			var errs hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs = append(errs, d)
				}
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(tt.want), errs.Error())
			}
			for i, w := range tt.want {
				head, part, _ := strings.Cut(w, ": ")
				d := errs[i]
				file, line := "", 0
				if d.Subject != nil {
					file, _ = filepath.Rel(dir, d.Subject.Filename)
					line = d.Subject.Start.Line
				}
				if got := fmt.Sprintf("%s @ %s:%d", d.Summary, file, line); got != head {
					t.Errorf("error %d = %q, want %q (%s)", i, got, head, d.Detail)
				}
				if !strings.Contains(d.Detail, part) {
					t.Errorf("error %d detail %q does not contain %q", i, d.Detail, part)
				}
			}
		})
	}
}

// TestEnvironmentDocExample loads the example of docs/stack-language.md's
// Environments section for each of its environments.
func TestEnvironmentDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/stack-language.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Environments\n")
	if !ok {
		t.Fatal("no Environments section in docs/stack-language.md")
	}
	_, rest, _ = strings.Cut(rest, "```hcl\n")
	example, _, _ := strings.Cut(rest, "```")
	dir := writeStack(t, map[string]string{
		"main.hcl": example + `
environment "computed" {
  variables = yamldecode(file("environments/computed.yaml"))
}
`,
		"environments/computed.yaml":                         "environment: computed\nnamespace: shop-c\nreplicas: 5\n",
		"gitops/environments/computed/kustomization.yaml":    "resources: []\n",
		"environments/staging.vars.hcl":                      `namespace = "shop-staging"`,
		"environments/production.vars.hcl":                   `namespace = "shop"` + "\n" + `replicas = 3`,
		"gitops/environments/development/kustomization.yaml": "resources: []\n",
		"gitops/environments/staging/kustomization.yaml":     "resources: []\n",
		"gitops/environments/production/kustomization.yaml":  "resources: []\n",
	})
	for env, want := range map[string]string{"development": "shop-dev 1", "staging": "shop-staging 2", "production": "shop 3", "computed": "shop-c 5"} {
		st := mustLoad(t, dir, config.LoadOptions{Environment: env})
		ns, replicas := st.Variables["namespace"].Value.AsString(), st.Variables["replicas"].Value.AsBigFloat().String()
		if got := ns + " " + replicas; got != want {
			t.Errorf("%s: namespace and replicas = %q, want %q", env, got, want)
		}
		if got := st.Kustomizations["app"].Path; got != "gitops/environments/"+env {
			t.Errorf("%s: path = %q", env, got)
		}
	}
}
