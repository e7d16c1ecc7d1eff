package config_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/planner/config"
)

func TestSensitiveNeverPrints(t *testing.T) {
	s := config.NewSensitive("hunter2")
	type holder struct {
		Password config.Sensitive
		Ptr      *config.Sensitive
	}
	h := holder{Password: s, Ptr: &s}
	var outs []string
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(h), s.String())
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	txt, _ := s.MarshalText()
	outs = append(outs, string(txt))
	for _, o := range outs {
		if strings.Contains(o, "hunter2") || strings.Contains(o, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("secret printed: %s", o)
		}
	}
	if string(j) != `{"Password":"(sensitive value)","Ptr":"(sensitive value)"}` {
		t.Errorf("JSON = %s", j)
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	if fmt.Sprint(config.Sensitive{}) != "" {
		t.Errorf("the empty secret prints as %q, want empty", fmt.Sprint(config.Sensitive{}))
	}
}

// digests loads a one-file stack and returns the digest of every block.
func digests(t *testing.T, src string) map[string]string {
	t.Helper()
	dir := writeStack(t, map[string]string{"main.hcl": src, "chart/Chart.yaml": "name: x\n"})
	st := mustLoad(t, dir, config.LoadOptions{})
	out := map[string]string{}
	for _, b := range st.Blocks() {
		out[b.Address().String()] = b.Digest()
	}
	return out
}

func TestDigest(t *testing.T) {
	const base = `
variable "pw" {
  default   = "one"
  sensitive = true
}
source "git" "app" {
  url = "https://example.com/app.git"
  auth { password = var.pw }
}
kustomization "a" {
  source = source.git.app
  path   = "deploy"
}
kustomization "b" {
  source = source.git.app
}
release "r" {
  chart  = "./chart"
  values = { a = 1, b = { c = "x" } }
}
`
	ref := digests(t, base)
	for addr, d := range ref {
		if !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
			t.Errorf("%s digest %q is not sha256:HEX", addr, d)
		}
	}
	tests := map[string]struct {
		src     string
		changed []string // addresses whose digest must change; all others must not
	}{
		"reformatted and moved": {
			src: "\n\n# comment\n" + strings.ReplaceAll(base, "  ", "    "),
		},
		"depends_on added": {
			src: strings.Replace(base, "kustomization \"b\" {\n", "kustomization \"b\" {\n  depends_on = [kustomization.a]\n", 1),
		},
		"values reordered": {
			src: strings.Replace(base, `{ a = 1, b = { c = "x" } }`, `{ b = { c = "x" }, a = 1 }`, 1),
		},
		"path changed": {
			src:     strings.Replace(base, `"deploy"`, `"deploy/prod"`, 1),
			changed: []string{"kustomization.a"},
		},
		"default made explicit changes nothing": {
			src: strings.Replace(base, "kustomization \"b\" {\n", "kustomization \"b\" {\n  prune = true\n", 1),
		},
		"secret changed": {
			src:     strings.Replace(base, `"one"`, `"two"`, 1),
			changed: []string{"source.git.app"},
		},
		"nested value changed": {
			src:     strings.Replace(base, `c = "x"`, `c = "y"`, 1),
			changed: []string{"release.r"},
		},
		"number type stable": {
			src: strings.Replace(base, `a = 1,`, `a = 1.0,`, 1),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := digests(t, tt.src)
			changed := map[string]bool{}
			for _, a := range tt.changed {
				changed[a] = true
			}
			for addr, d := range ref {
				if (got[addr] != d) != changed[addr] {
					t.Errorf("%s: digest changed = %v, want %v", addr, got[addr] != d, changed[addr])
				}
			}
		})
	}
}

func TestStackJSONRedactsSecrets(t *testing.T) {
	st := mustLoad(t, "testdata/valid/full", config.LoadOptions{})
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") {
		t.Errorf("JSON of the stack holds a secret")
	}
	if st.Releases["strimzi_kafka_operator"].Values["auth"].(map[string]any)["token"] != "s3cret" {
		t.Error("the release values lost the real secret")
	}
}

// TestSensitiveValuesDerived checks that every value derived from a
// sensitive variable, whatever function or template made it, is known as
// sensitive with its value, so that plans can mask what it becomes in
// rendered objects.
// TestSensitiveNumberForms: a sensitive number is masked in every form a
// rendered object may show it: in full (substitution, 1000000) and as Go
// prints the float64 of a chart's values (Helm renders 1e+06).
func TestSensitiveNumberForms(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"main.hcl": `
variable "port" {
  type      = number
  sensitive = true
  default   = 1000000
}
variable "big" {
  type      = number
  sensitive = true
  default   = 12345678901234567890
}
release "r" {
  chart  = "./chart"
  values = { port = var.port, big = var.big, half = var.port / 2 }
}
`,
		"chart/Chart.yaml": "name: x\n"})
	got := mustLoad(t, dir, config.LoadOptions{}).SensitiveValues()
	for _, want := range []string{"1000000", "1e+06", "500000", "12345678901234567890", "1.2345678901234567e+19", "12345678901234567000"} {
		if !slices.Contains(got, want) {
			t.Errorf("SensitiveValues() = %q, missing %q", got, want)
		}
	}
}

func TestSensitiveValuesDerived(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"main.hcl": `
variable "token" {
  type      = string
  sensitive = true
  default   = "tok-3nQ9xZ"
}
locals {
  wrapped = "prefix-${var.token}"
  nested  = "a ${lower(var.token)} b"
}
kustomization "app" {
  path          = "."
  substitute    = { plain = "visible", direct = var.token, upper = upper(var.token), wrapped = local.wrapped, b64 = base64encode(var.token), part = "x-${strrev(var.token)}-y", nested = local.nested }
  common_labels = { team = var.token }
}
release "r" {
  chart  = "./chart"
  values = { auth = { token = var.token, list = ["x", var.token] }, public = "p" }
}
`,
		"chart/Chart.yaml": "name: x\n"})
	st := mustLoad(t, dir, config.LoadOptions{})
	k := st.Kustomizations["app"]
	wantPaths := []string{"common_labels.team", "substitute.b64", "substitute.direct", "substitute.nested", "substitute.part", "substitute.upper", "substitute.wrapped"}
	if strings.Join(k.SensitivePaths, " ") != strings.Join(wantPaths, " ") {
		t.Errorf("kustomization SensitivePaths = %v, want %v", k.SensitivePaths, wantPaths)
	}
	got := st.SensitiveValues()
	for _, want := range []string{"tok-3nQ9xZ", "TOK-3NQ9XZ", "prefix-tok-3nQ9xZ", "dG9rLTNuUTl4Wg==", "x-Zx9Qn3-kot-y", "Zx9Qn3-kot", "tok-3nq9xz"} {
		if !slices.Contains(got, want) {
			t.Errorf("SensitiveValues() = %d values, missing %q", len(got), want)
		}
	}
	for _, not := range []string{"visible", "x", "p"} {
		if slices.Contains(got, not) {
			t.Errorf("SensitiveValues() holds the plain value %q", not)
		}
	}
	if fmt.Sprint(k.SensitiveValues) == "" || strings.Contains(fmt.Sprint(k.SensitiveValues), "tok-") {
		t.Errorf("SensitiveValues print as %v", k.SensitiveValues)
	}
	b, err := json.Marshal(st)
	if err != nil || strings.Contains(string(b), "tok-3nQ9xZ") || strings.Contains(string(b), "TOK-3NQ9XZ") {
		t.Errorf("JSON of the stack holds a secret (err %v)", err)
	}
}
