package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/planner/config"
)

// writeStack writes files into a fresh directory and returns it.
func writeStack(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustLoad(t *testing.T, dir string, opts config.LoadOptions) *config.Stack {
	t.Helper()
	if opts.Version == "" {
		opts.Version = "0.1.0"
	}
	st, diags := config.Load(dir, opts)
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags.Error())
	}
	return st
}

func TestLoadFullStack(t *testing.T) {
	st := mustLoad(t, "testdata/valid/full", config.LoadOptions{})

	if got, want := st.Cluster.Context, "kind-dev"; got != want {
		t.Errorf("cluster context = %q, want %q", got, want)
	}
	if st.Strata.RequiredVersion.String() != ">= 0.1.0" || st.Strata.Backend.Type != "local" || st.Strata.Backend.Path != ".strata/state.db" {
		t.Errorf("strata block = %+v", st.Strata)
	}

	g := st.GitSources["platform"]
	if g.URL != "https://github.com/example/platform" || g.Branch != "main" || g.Interval != time.Minute || g.Timeout != config.DefaultSourceTimeout {
		t.Errorf("git source = %+v", g)
	}
	if g.Verify == nil || g.Verify.PublicKeys != "dummy key\n" || g.Verify.Mode != "" {
		t.Errorf("verify = %+v", g.Verify)
	}
	if g.Auth == nil || g.Auth.Username != "git" || g.Auth.Password.Reveal() != "s3cret" {
		t.Errorf("auth = %+v", g.Auth)
	}
	if !st.HelmSources["bitnami"].IsOCI() || st.HelmSources["strimzi"].IsOCI() {
		t.Errorf("OCI detection wrong: bitnami %q, strimzi %q", st.HelmSources["bitnami"].Type, st.HelmSources["strimzi"].Type)
	}

	k := st.Kustomizations["platform_base"]
	wantK := &config.Kustomization{
		Name:       "platform_base",
		SourceAddr: config.Address{Kind: config.KindSource, Type: "git", Name: "platform"},
		Path:       "gitops/base", Prune: true, Wait: true,
		Timeout: 5 * time.Minute, Interval: config.DefaultKustomizationInterval,
		Substitute:   map[string]string{"cluster_env": "development", "token": "s3cret"},
		CommonLabels: map[string]string{"env": "development", "team": "platform"},
		Patches: []config.Patch{{
			Patch:  "- op: replace\n  path: /spec/replicas\n  value: 3",
			Target: &config.Selector{Kind: "Deployment", Name: "web"},
		}},
		Images: []config.Image{{Name: "nginx", NewTag: "1.27"}},
		HealthChecks: []config.HealthCheck{{APIVersion: "v1", Kind: "Namespace", Name: "platform-operators"},
			{APIVersion: "kafka.strimzi.io/v1beta2", Kind: "Kafka", Name: "mlops-kafka-cluster", Namespace: "data-plane", Condition: "Ready"}},
		ServiceAccount: "platform-operators/deployer",
	}
	ignore := cmpIgnoreMeta()
	if diff := cmp.Diff(wantK, k, ignore); diff != "" {
		t.Errorf("kustomization (-want +got):\n%s", diff)
	}
	if got := k.SensitivePaths; !cmp.Equal(got, []string{"substitute.token"}) {
		t.Errorf("SensitivePaths = %q", got)
	}
	if got := k.RedactedSubstitute()["token"]; got != "(sensitive value)" {
		t.Errorf("RedactedSubstitute token = %q", got)
	}
	if r := k.Range("path"); r.Start.Line != 68 {
		t.Errorf("range of path = %s, want line 68", r)
	}
	if r := k.Range("health_check[0].kind"); r.Start.Line != 75 {
		t.Errorf("range of health_check[0].kind = %s, want line 75", r)
	}
	var refs []string
	for _, r := range k.References() {
		refs = append(refs, fmt.Sprintf("%s@%d explicit=%v", r.Addr, r.Range.Start.Line, r.Explicit))
	}
	if diff := cmp.Diff([]string{"source.git.platform@67 explicit=false", "kustomization.crds@97 explicit=true"}, refs); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}

	r := st.Releases["strimzi_kafka_operator"]
	if r.Name != "strimzi" || r.BlockName != "strimzi_kafka_operator" || r.Namespace != "platform-operators" || r.Chart != "strimzi-kafka-operator" || r.Version != "0.43.0" {
		t.Errorf("release = %+v", r)
	}
	if r.Address().String() != "release.strimzi_kafka_operator" {
		t.Errorf("address = %s", r.Address())
	}
	wantValues := map[string]any{
		"watchAnyNamespace": false, "defaultImageRegistry": "quay.io", "replicas": int64(2),
		"auth":   map[string]any{"token": "s3cret"},
		"labels": map[string]any{"env": "DEVELOPMENT", "team": "PLATFORM"},
	}
	if diff := cmp.Diff(wantValues, r.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	red, _ := json.Marshal(r.RedactedValues())
	if strings.Contains(string(red), "s3cret") || !strings.Contains(string(red), `"token":"(sensitive value)"`) {
		t.Errorf("RedactedValues = %s", red)
	}
	if !r.Install.CreateNamespace || r.Install.CRDs != config.CRDsCreateReplace || r.Upgrade.CRDs != config.CRDsSkip {
		t.Errorf("install/upgrade = %+v %+v", r.Install, r.Upgrade)
	}
	if r.Upgrade.Remediation != (config.Remediation{Retries: 3, Strategy: "uninstall", RemediateLastFailure: true}) || !r.Rollback.CleanupOnFail || r.DriftDetection.Mode != "warn" {
		t.Errorf("remediation/rollback/drift = %+v %+v %+v", r.Upgrade.Remediation, r.Rollback, r.DriftDetection)
	}
	if r.MaxHistory != config.DefaultMaxHistory || !r.Wait || r.Timeout != config.DefaultReleaseTimeout {
		t.Errorf("defaults: max_history %d wait %v timeout %s", r.MaxHistory, r.Wait, r.Timeout)
	}

	n := st.Notifications["ops"]
	if n.Type != "slack" || n.URL.Reveal() != "https://hooks.slack.com/services/T000/B000/XXXX" || n.Headers["Authorization"].Reveal() != "Bearer x" {
		t.Errorf("notification = %#v", n)
	}

	var addrs []string
	for _, b := range st.Blocks() {
		addrs = append(addrs, b.Address().String())
	}
	want := []string{
		"kustomization.crds", "kustomization.local", "kustomization.platform_base",
		"release.strimzi_kafka_operator", "source.git.platform", "source.helm.bitnami", "source.helm.strimzi",
	}
	if diff := cmp.Diff(want, addrs); diff != "" {
		t.Errorf("Blocks (-want +got):\n%s", diff)
	}

	if v := st.Variables["git_token"]; !v.Sensitive || !v.Value.HasMark("sensitive") {
		t.Errorf("sensitive variable value not marked: %#v", v.Value)
	}
}

func cmpIgnoreMeta() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		switch p.Last().String() {
		case ".Meta", ".Source", ".Refs", ".DependsOn":
			return true
		}
		return false
	}, cmp.Ignore())
}

func TestVariablePrecedence(t *testing.T) {
	stack := map[string]string{
		"main.hcl": `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "n" {
  type    = list(number)
  default = []
}
`,
		"1.auto.vars.hcl":  "c = \"auto1\"\nd = \"auto1\"\n",
		"2.auto.vars.json": `{"d": "auto2"}`,
		"file.vars.hcl":    "e = \"file\"\n",
		"file.json":        `{"e": "json"}`,
	}
	dir := writeStack(t, stack)
	env := map[string]string{"STRATA_VAR_b": "env", "STRATA_VAR_c": "env", "STRATA_VAR_n": "[1, 2]"}
	st := mustLoad(t, dir, config.LoadOptions{
		Getenv: func(k string) string { return env[k] },
		Vars: []config.VarArg{
			{File: filepath.Join(dir, "file.vars.hcl")},
			{Name: "e", Value: "cli"},
			{File: filepath.Join(dir, "file.json")},
		},
	})
	got := map[string]string{}
	for name, v := range st.Variables {
		if name == "n" {
			continue
		}
		got[name] = v.Value.AsString() + " from " + string(v.ValueSource)
	}
	want := map[string]string{
		"a": "default from default",
		"b": "env from environment",
		"c": "auto1 from auto vars file",
		"d": "auto2 from auto vars file",
		"e": "json from var file",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if n := st.Variables["n"].Value; !n.RawEquals(cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)})) {
		t.Errorf("n = %#v, want [1, 2] parsed from the environment", n)
	}
}

func TestUndeclaredCLIVariableIsError(t *testing.T) {
	dir := writeStack(t, map[string]string{"main.hcl": `variable "environment" { default = "x" }`})
	_, diags := config.Load(dir, config.LoadOptions{Vars: []config.VarArg{{Name: "enviroment", Value: "prod"}}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `Did you mean "environment"?`) {
		t.Fatalf("diags = %v, want an undeclared variable error with a suggestion", diags)
	}
}

func TestPartialLoadLeavesUnknowns(t *testing.T) {
	dir := writeStack(t, map[string]string{"main.hcl": `
variable "url" { type = string }
source "git" "app" {
  url = var.url
  auth { password = env("STRATA_TEST_NOT_SET") }
}
`})
	st, diags := config.Load(dir, config.LoadOptions{Partial: true})
	if diags.HasErrors() {
		t.Fatalf("partial load: %s", diags.Error())
	}
	g := st.GitSources["app"]
	if diff := cmp.Diff([]string{"auth.password", "url"}, g.Unknown); diff != "" {
		t.Errorf("Unknown (-want +got):\n%s", diff)
	}
	if _, diags := config.Load(dir, config.LoadOptions{}); !diags.HasErrors() {
		t.Error("a full load with a required variable unset succeeded")
	}
}

func TestFunctions(t *testing.T) {
	tests := map[string]struct {
		expr string
		want string
	}{
		"format":        {`format("%s-%03d", "a", 7)`, "a-007"},
		"join split":    {`join(",", split("/", "a/b/c"))`, "a,b,c"},
		"merge lookup":  {`lookup(merge({a = "1"}, {b = "2"}), "b", "none")`, "2"},
		"case":          {`"${lower("AB")}${upper("cd")}"`, "abCD"},
		"replace trim":  {`replace(trimspace("  a.b  "), ".", "-")`, "a-b"},
		"length":        {`tostring(length("héllo") + length([1, 2]))`, "7"},
		"concat":        {`join("", concat(["a"], ["b"]))`, "ab"},
		"contains":      {`tostring(contains(["a"], "a"))`, "true"},
		"keys values":   {`join(",", concat(keys({b = 1, a = 2}), [for v in values({a = "x"}) : v]))`, "a,b,x"},
		"tonumber":      {`tostring(tonumber("41") + 1)`, "42"},
		"tobool":        {`tostring(!tobool("false"))`, "true"},
		"json":          {`jsonencode(jsondecode("{\"a\":[1,true]}"))`, `{"a":[1,true]}`},
		"yaml":          {`yamlencode(yamldecode("a: [1, b]"))`, "a:\n- 1\n- b\n"},
		"base64":        {`base64decode(base64encode("hi"))`, "hi"},
		"sha256":        {`sha256("abc")`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		"coalesce":      {`coalesce("", "b")`, "b"},
		"try":           {`try(jsondecode("{"), "fallback")`, "fallback"},
		"can":           {`tostring(can(tonumber("x")))`, "false"},
		"file":          {`file("data.txt")`, "file content\n"},
		"templatefile":  {`templatefile("t.tpl", { name = "strata", items = ["a", "b"] })`, "hello strata: a b \n"},
		"env":           {`env("STRATA_TEST_FN")`, "from env"},
		"env default":   {`env("STRATA_TEST_UNSET", "dflt")`, "dflt"},
		"regex_replace": {`regex_replace("v1.2.3", "^v", "")`, "1.2.3"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeStack(t, map[string]string{
				"main.hcl": "locals {\n  x = " + tt.expr + "\n}\n",
				"data.txt": "file content\n",
				"t.tpl":    "hello ${name}: %{ for i in items }${i} %{ endfor }\n",
			})
			st := mustLoad(t, dir, config.LoadOptions{Getenv: func(k string) string {
				if k == "STRATA_TEST_FN" {
					return "from env"
				}
				return ""
			}})
			v := st.Locals["x"].Value
			if v.Type() != cty.String {
				t.Fatalf("value %#v is not a string", v)
			}
			if got := v.AsString(); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestBlockReferenceInExpressionAddsDependency(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"main.hcl": `
locals { owner = kustomization.base.address }
kustomization "base" {}
release "web" {
  chart  = "./chart"
  values = { owner = local.owner }
}
`,
		"chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	})
	st := mustLoad(t, dir, config.LoadOptions{})
	r := st.Releases["web"]
	if r.Values["owner"] != "kustomization.base" {
		t.Errorf("values.owner = %v", r.Values["owner"])
	}
	refs := r.References()
	if len(refs) != 1 || refs[0].Addr.String() != "kustomization.base" {
		t.Errorf("references = %v, want kustomization.base through the local", refs)
	}
}

func TestRequiredVersionIgnoresPrerelease(t *testing.T) {
	dir := writeStack(t, map[string]string{"main.hcl": `strata { required_version = ">= 0.1.0" }`})
	if _, diags := config.Load(dir, config.LoadOptions{Version: "v0.1.0-dev"}); diags.HasErrors() {
		t.Errorf("v0.1.0-dev rejected by >= 0.1.0: %s", diags.Error())
	}
}

func TestParseAddress(t *testing.T) {
	for _, s := range []string{"source.git.platform", "source.helm.x-y", "kustomization.base", "release.web"} {
		a, err := config.ParseAddress(s)
		if err != nil || a.String() != s {
			t.Errorf("ParseAddress(%q) = %v, %v", s, a, err)
		}
	}
	for _, s := range []string{"", "source.s3.x", "source.git", "release", "release.a.b", "module.x", "release.1a"} {
		if _, err := config.ParseAddress(s); err == nil {
			t.Errorf("ParseAddress(%q) succeeded", s)
		}
	}
}

// TestDocExampleIsValid keeps the example of docs/stack-language.md true.
func TestDocExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/stack-language.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```hcl\n")
	if !ok {
		t.Fatal("no hcl example in docs/stack-language.md")
	}
	example, _, _ := strings.Cut(rest, "```")
	dir := writeStack(t, map[string]string{
		"main.hcl":              example,
		"keys/maintainers.asc":  "key\n",
		"patches/replicas.yaml": "spec: {}\n",
		"values/prod.yaml":      "a: 1\n",
	})
	st, diags := config.Load(dir, config.LoadOptions{Partial: true, Version: "0.1.0"})
	if diags.HasErrors() {
		t.Fatalf("the documented example does not load: %s", diags.Error())
	}
	if len(st.Blocks()) != 7 || len(st.Notifications) != 1 {
		t.Errorf("example has %d blocks and %d notifications", len(st.Blocks()), len(st.Notifications))
	}
}

func TestKubeconfigHomeExpanded(t *testing.T) {
	dir := writeStack(t, map[string]string{"main.hcl": "cluster {\n  kubeconfig = \"~/.kube/prod\"\n  context = \"prod\"\n}\n"})
	st := mustLoad(t, dir, config.LoadOptions{Getenv: func(k string) string {
		if k == "HOME" {
			return "/home/ops"
		}
		return ""
	}})
	if st.Cluster.Kubeconfig != "/home/ops/.kube/prod" || st.Cluster.Context != "prod" {
		t.Errorf("cluster = %+v", st.Cluster)
	}
}

// TestServiceAccountBareName resolves a bare service account name against
// the block's namespace: a release's namespace, a kustomization's
// target_namespace (Flux's semantics); NAMESPACE/NAME is kept.
func TestServiceAccountBareName(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"main.hcl": `
kustomization "apps" {
  path             = "."
  target_namespace = "apps"
  service_account  = "deployer"
}
kustomization "other" {
  path            = "."
  service_account = "platform/deployer"
}
release "web" {
  namespace       = "web"
  chart           = "."
  service_account = "helm"
}
release "db" {
  chart           = "."
  service_account = "data/helm"
}
`,
	})
	st := mustLoad(t, dir, config.LoadOptions{})
	got := map[string]string{
		"apps":  st.Kustomizations["apps"].ServiceAccount,
		"other": st.Kustomizations["other"].ServiceAccount,
		"web":   st.Releases["web"].ServiceAccount,
		"db":    st.Releases["db"].ServiceAccount,
	}
	want := map[string]string{"apps": "apps/deployer", "other": "platform/deployer", "web": "web/helm", "db": "data/helm"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service accounts (-want +got):\n%s", diff)
	}
}

// TestServiceAccountUnknownNamespace validates (a partial load) a
// kustomization whose target_namespace comes from a variable without a
// value: its bare service account is not refused.
func TestServiceAccountUnknownNamespace(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"main.hcl": `
variable "ns" { type = string }
kustomization "apps" {
  path             = "."
  target_namespace = var.ns
  service_account  = "deployer"
}
`,
	})
	_, diags := config.Load(dir, config.LoadOptions{Partial: true, Version: "0.1.0", Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatalf("validate with an unknown target_namespace: %s", diags.Error())
	}
	st := mustLoad(t, dir, config.LoadOptions{Vars: []config.VarArg{{Name: "ns", Value: "apps"}}})
	if sa := st.Kustomizations["apps"].ServiceAccount; sa != "apps/deployer" {
		t.Errorf("service account = %q, want apps/deployer", sa)
	}
}
