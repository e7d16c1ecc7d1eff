package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/backend"
	"github.com/strata-gitops/strata/state/bolt"
)

// envStackFiles is a stack with a shared base and two environments, each
// deploying it into its own namespace of the cluster behind kubeconfig.
func envStackFiles(kubeconfig, nsDev, nsStg string) map[string]string {
	return map[string]string{
		"main.hcl": `variable "namespace" { type = string }
variable "replicas" {
  type    = number
  default = 1
}

environment "development" {
  cluster { kubeconfig = "` + kubeconfig + `" }
  variables = { namespace = "` + nsDev + `" }
}

environment "staging" {
  cluster { kubeconfig = "` + kubeconfig + `" }
  var_files = ["environments/staging.vars.hcl"]
  variables = { replicas = 2 }
}

kustomization "base" {
  path       = "base"
  substitute = { ns = var.namespace, replicas = tostring(var.replicas) }
}
`,
		"environments/staging.vars.hcl": `namespace = "` + nsStg + `"` + "\n",
		"base/cm.yaml":                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  replicas: \"n${replicas}\"\n  color: blue\n",
	}
}

// TestEnvironmentsOnOneCluster is issue 15's "done when": a two-environment
// stack applies each environment into its own namespace, state list -e
// shows each environment's objects only, a lock held on one environment
// does not block the other, and plan --all-environments
// --detailed-exitcode exits 0 after both applies and 2 after a change to
// the shared base, with the change shown under both environments.
func TestEnvironmentsOnOneCluster(t *testing.T) {
	c := testcluster.Get(t)
	nsDev, nsStg := c.Namespace(t, "envdev"), c.Namespace(t, "envstg")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("envs"))
	writeFiles(t, dir, envStackFiles(c.Kubeconfig(), nsDev, nsStg))

	for _, env := range []string{"development", "staging"} {
		code, stdout, stderr := runCLI(t, "apply", dir, "-e", env, "--auto-approve")
		if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 1 added") {
			t.Fatalf("apply -e %s: exit %d\n%s%s", env, code, stdout, stderr)
		}
	}
	// Each environment's state lives in its own file and lists its own
	// objects only.
	for env, ns := range map[string]string{"development": nsDev, "staging": nsStg} {
		if _, err := os.Stat(filepath.Join(dir, ".strata", "environments", env, "state.db")); err != nil {
			t.Errorf("state of %s: %v", env, err)
		}
		got := strings.Fields(mustRun(t, "state", "list", "--dir", dir, "-e", env))
		want := []string{"kustomization.base", "kustomization.base/ConfigMap/" + ns + "/settings"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("state list -e %s = %q, want %q", env, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".strata", "state.db")); err == nil {
		t.Errorf("a stack with environments wrote the stack-wide state file")
	}
	if got := kubectlGet(t, c, nsStg, "configmap", "settings", "{.data.replicas}"); got != "n2" {
		t.Errorf("staging replicas = %q, want 2 (the environment's variables over its var file over the default)", got)
	}

	code, stdout, stderr := runCLI(t, "plan", dir, "--all-environments", "--detailed-exitcode")
	if code != 0 {
		t.Fatalf("plan --all-environments after both applies: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "drift", dir, "-e", "staging", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"environment": "staging"`) {
		t.Errorf("drift -e staging: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "status", dir, "-e", "development")
	if code != 0 || !strings.Contains(stdout, "kustomization.base") {
		t.Errorf("status -e development: exit %d\n%s%s", code, stdout, stderr)
	}

	// A lock held on development blocks development only.
	s, err := bolt.Open(bolt.Options{Path: filepath.Join(dir, ".strata", "environments", "development", "state.db")})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Lock(t.Context(), state.LockInfo{Operation: "apply", Who: "alice@ci"})
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI(t, "plan", dir, "-e", "staging", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan -e staging while development is locked: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "plan", dir, "-e", "development"); code != 1 || !strings.Contains(stderr, "Another strata run holds the state lock") {
		t.Errorf("plan -e development while it is locked: exit %d, stderr %q", code, stderr)
	}
	if err := s.Unlock(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A change to the shared base shows under both environments.
	writeFiles(t, dir, map[string]string{"base/cm.yaml": strings.Replace(envStackFiles("", "", "")["base/cm.yaml"], "blue", "green", 1)})
	code, stdout, stderr = runCLI(t, "plan", dir, "--all-environments", "--detailed-exitcode")
	if code != 2 {
		t.Fatalf("plan --all-environments after a change to the base: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, env := range []string{"development", "staging"} {
		_, section, _ := strings.Cut(stdout, "── Environment "+env+" ")
		section, _, _ = strings.Cut(section, "── Environment ")
		if !strings.Contains(section, `~ color: "blue" -> "green"`) && !strings.Contains(section, `"blue" -> "green"`) {
			t.Errorf("the change is not shown under %s:\n%s", env, section)
		}
	}
	if !strings.Contains(stdout, "development  Plan: 0 to add, 1 to change, 0 to destroy.") ||
		!strings.Contains(stdout, "staging      Plan: 0 to add, 1 to change, 0 to destroy.") {
		t.Errorf("summary lines:\n%s", stdout)
	}

	code, stdout, _ = runCLI(t, "plan", dir, "--all-environments", "-o", "markdown")
	for _, want := range []string{
		"| Environment | Add | Change | Destroy | Drift | Outcome |",
		"| `development` | 0 | 1 | 0 | 0 | changes |",
		"| `staging` | 0 | 1 | 0 | 0 | changes |",
		"<details><summary><b>development</b>: Plan: 0 to add, 1 to change, 0 to destroy.</summary>",
		"<details><summary><b>staging</b>: Plan: 0 to add, 1 to change, 0 to destroy.</summary>",
	} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("-o markdown (exit %d) lacks %q:\n%s", code, want, stdout)
		}
	}

	code, stdout, _ = runCLI(t, "plan", dir, "--all-environments", "-o", "json")
	var envs []struct {
		Environment string `json:"environment"`
		Plan        struct {
			Environment string `json:"environment"`
			HasChanges  bool   `json:"has_changes"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(stdout), &envs); err != nil || code != 0 {
		t.Fatalf("-o json: exit %d, %v\n%s", code, err, stdout)
	}
	if len(envs) != 2 || envs[0].Environment != "development" || envs[1].Environment != "staging" ||
		envs[1].Plan.Environment != "staging" || !envs[0].Plan.HasChanges || !envs[1].Plan.HasChanges {
		t.Errorf("-o json = %+v", envs)
	}

	// A saved plan belongs to its environment.
	saved := filepath.Join(t.TempDir(), "dev.plan")
	if code, stdout, stderr := runCLI(t, "plan", dir, "-e", "development", "--out", saved); code != 0 {
		t.Fatalf("plan -e development --out: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "apply", saved, "-e", "staging")
	if code != 1 || !strings.Contains(stderr, `was made for the environment "development", not for the environment "staging"`) {
		t.Errorf("apply of development's plan with -e staging: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "apply", saved); code != 0 || !strings.Contains(stdout, "0 added, 1 changed") {
		t.Fatalf("apply of development's saved plan: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "plan", dir, "--all-environments", "--detailed-exitcode", "-o", "markdown")
	if code != 2 || !strings.Contains(stdout, "| `development` | 0 | 0 | 0 | 0 | no changes |") || !strings.Contains(stdout, "| `staging` | 0 | 1 | 0 | 0 | changes |") {
		t.Errorf("plan --all-environments after applying development: exit %d\n%s", code, stdout)
	}
}

// kubectlGet reads one field of an object with kubectl's jsonpath.
func kubectlGet(t *testing.T, c *testcluster.Cluster, ns, kind, name, path string) string {
	t.Helper()
	return c.Kubectl(t, "get", "-n", ns, kind, name, "-o", "jsonpath="+path)
}

// TestEnvironmentBadInput checks the diagnostics of the bad input:
// an unknown environment name, an environment variable of the wrong type,
// and a cluster command without -e on a stack with environments. Each
// exits 1 with a message that says what to do. None needs a cluster.
func TestEnvironmentBadInput(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, envStackFiles("/nonexistent/kubeconfig", "dev", "stg"))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"plan without -e", []string{"plan", dir},
			[]string{"Error: No environment selected", `"development", "staging"`, "-e NAME"}},
		{"apply without -e", []string{"apply", dir, "--auto-approve"}, []string{"Error: No environment selected"}},
		{"destroy without -e", []string{"destroy", dir, "--auto-approve"}, []string{"Error: No environment selected"}},
		{"drift without -e", []string{"drift", dir}, []string{"Error: No environment selected"}},
		{"status without -e", []string{"status", dir}, []string{"Error: No environment selected"}},
		{"state list without -e", []string{"state", "list", "--dir", dir}, []string{"Error: No environment selected"}},
		{"force-unlock without -e", []string{"force-unlock", "--dir", dir, "--force", "x"}, []string{"Error: No environment selected"}},
		{"unknown environment", []string{"plan", dir, "-e", "stagin"},
			[]string{"Error: Unknown environment", `The stack declares no environment "stagin". Did you mean "staging"?`}},
		{"unknown environment of state", []string{"state", "list", "--dir", dir, "--environment", "prod"},
			[]string{"Error: Unknown environment"}},
		{"wrong variable type", []string{"plan", dir, "-e", "staging", "--var", "namespace=stg"}, nil},
		{"-e with --all-environments", []string{"plan", dir, "-e", "staging", "--all-environments"},
			[]string{"--all-environments plans every environment: drop -e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				writeFiles(t, dir, map[string]string{"environments/staging.vars.hcl": "replicas = \"two\"\n"})
				defer writeFiles(t, dir, envStackFiles("/nonexistent/kubeconfig", "dev", "stg"))
				tt.want = []string{"Error: Invalid value for input variable",
					"environments/staging.vars.hcl:1:12", `from ` + dir + `/environments/staging.vars.hcl (environment "staging") is not suitable`}
			}
			code, _, stderr := runCLI(t, tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestAllEnvironmentsUnreachableCluster checks that an environment whose
// cluster cannot be reached is reported as failed, in every output, while
// the other environment's plan is still shown, and that plan exits 1.
func TestAllEnvironmentsUnreachableCluster(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "envok")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("envfail"))
	down := filepath.Join(t.TempDir(), "down.kubeconfig")
	writeFiles(t, filepath.Dir(down), map[string]string{"down.kubeconfig": `apiVersion: v1
kind: Config
clusters:
- name: down
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: down
  user: {token: x}
contexts:
- name: down
  context: {cluster: down, user: down}
current-context: down
`})
	files := envStackFiles(c.Kubeconfig(), ns, "unused")
	files["main.hcl"] = strings.Replace(files["main.hcl"], `cluster { kubeconfig = "`+c.Kubeconfig()+`" }
  var_files`, `cluster { kubeconfig = "`+down+`" }
  var_files`, 1)
	writeFiles(t, dir, files)

	code, stdout, stderr := runCLI(t, "plan", dir, "--all-environments", "--detailed-exitcode")
	if code != 1 || !strings.Contains(stderr, "planning failed for the environment(s) staging") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"── Environment development", "Plan: 1 to add, 0 to change, 0 to destroy.",
		"── Environment staging", "Error: ", "127.0.0.1:1",
		"staging      failed: no plan",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("human output lacks %q:\n%s", want, stdout)
		}
	}
	_, stdout, _ = runCLI(t, "plan", dir, "--all-environments", "-o", "markdown")
	for _, want := range []string{"| `development` | 1 | 0 | 0 | 0 | changes |", "| `staging` | | | | | :x: failed |", "```text\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout)
		}
	}
	_, stdout, _ = runCLI(t, "plan", dir, "--all-environments", "-o", "json")
	var envs []struct {
		Environment string          `json:"environment"`
		Plan        json.RawMessage `json:"plan"`
		Error       string          `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &envs); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if len(envs) != 2 || string(envs[0].Plan) == "null" || envs[0].Error != "" || string(envs[1].Plan) != "null" || !strings.Contains(envs[1].Error, "127.0.0.1:1") {
		t.Errorf("-o json = %+v", envs)
	}
}

// TestValidateEnvironments checks that validate works on the language
// alone for every environment: each environment's values are checked and
// its kustomizations rendered with them, and a problem of one environment
// names it.
func TestValidateEnvironments(t *testing.T) {
	dir := t.TempDir()
	files := envStackFiles("/nonexistent/kubeconfig", "dev", "stg")
	files["main.hcl"] = strings.Replace(files["main.hcl"], `path       = "base"`, `path       = "overlays/${var.namespace}"`, 1)
	files["overlays/dev/kustomization.yaml"] = "resources: [../../base]\n"
	files["overlays/stg/kustomization.yaml"] = "resources: [../../base]\n"
	files["base/kustomization.yaml"] = "resources: [cm.yaml]\n"
	writeFiles(t, dir, files)
	code, stdout, stderr := runCLI(t, "validate", dir)
	if code != 0 || stdout != "Success! The stack is valid (1 blocks, 2 environments).\n" {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, "graph", dir); code != 0 || !strings.Contains(stdout, "kustomization.base") {
		t.Errorf("graph: exit %d\n%s%s", code, stdout, stderr)
	}

	if err := os.RemoveAll(filepath.Join(dir, "overlays", "stg")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "validate", dir)
	for _, want := range []string{"Error: Directory not found", `There is no directory "overlays/stg"`, `Found in the environment "staging".`} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("validate without staging's overlay: exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	if strings.Count(stderr, "Error:") != 1 {
		t.Errorf("want one error:\n%s", stderr)
	}

	writeFiles(t, dir, map[string]string{"environments/staging.vars.hcl": "namespace = \"stg\"\nreplica = 3\n"})
	code, _, stderr = runCLI(t, "validate", dir)
	for _, want := range []string{"Error: Value for undeclared variable", "staging.vars.hcl:2:1", `The environment "staging" sets variable "replica"`, `Did you mean "replicas"?`} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("validate with an undeclared variable: exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
}

// TestEnvironmentsKubernetesBackend checks that with the kubernetes backend
// each environment's state has a name of its own (NAME-ENVIRONMENT), in
// the cluster of the environment, and that a lock held on one environment
// leaves the other free.
func TestEnvironmentsKubernetesBackend(t *testing.T) {
	c := testcluster.Get(t)
	stateNS := c.Namespace(t, "envkstate")
	nsDev, nsStg := c.Namespace(t, "envkdev"), c.Namespace(t, "envkstg")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("envkube"))
	files := envStackFiles(c.Kubeconfig(), nsDev, nsStg)
	files["main.hcl"] += `
strata {
  backend "kubernetes" {
    namespace = "` + stateNS + `"
    name      = "shop"
  }
}
`
	writeFiles(t, dir, files)
	for _, env := range []string{"development", "staging"} {
		if code, stdout, stderr := runCLI(t, "apply", dir, "-e", env, "--auto-approve"); code != 0 {
			t.Fatalf("apply -e %s: exit %d\n%s%s", env, code, stdout, stderr)
		}
	}
	secrets := c.Kubectl(t, "get", "secrets", "-n", stateNS, "-o", "name")
	for _, want := range []string{"secret/strata-state-shop-development\n", "secret/strata-state-shop-staging\n"} {
		if !strings.Contains(secrets, want) {
			t.Errorf("state secrets lack %s:\n%s", want, secrets)
		}
	}
	if strings.Contains(secrets, "secret/strata-state-shop\n") {
		t.Errorf("a stack with environments wrote the stack-wide state:\n%s", secrets)
	}
	for env, ns := range map[string]string{"development": nsDev, "staging": nsStg} {
		got := strings.Fields(mustRun(t, "state", "list", "--dir", dir, "-e", env))
		if len(got) != 2 || got[1] != "kustomization.base/ConfigMap/"+ns+"/settings" {
			t.Errorf("state list -e %s = %q", env, got)
		}
	}

	// A lock held on staging blocks staging only.
	s, err := backend.Open(backend.Config{Type: "kubernetes", Namespace: stateNS, Name: "shop-staging", RESTConfig: c.RESTConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, err := s.Lock(t.Context(), state.LockInfo{Operation: "apply", Who: "bob@ci"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unlock(context.WithoutCancel(t.Context()), id)
	if code, stdout, stderr := runCLI(t, "plan", dir, "-e", "development", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan -e development while staging is locked: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "plan", dir, "-e", "staging"); code != 1 || !strings.Contains(stderr, "bob@ci") {
		t.Errorf("plan -e staging while it is locked: exit %d, stderr %q", code, stderr)
	}
}

// TestAllEnvironmentsInvalidValues checks that invalid values of one
// environment fail that environment's plan only: the other is still
// planned (here it fails too, on its missing kubeconfig) and both are
// reported in their places.
func TestAllEnvironmentsInvalidValues(t *testing.T) {
	dir := t.TempDir()
	files := envStackFiles("/nonexistent/kubeconfig", "dev", "stg")
	files["environments/staging.vars.hcl"] = "namespace = \"stg\"\nreplicas = \"two\"\n"
	writeFiles(t, dir, files)
	code, stdout, stderr := runCLI(t, "plan", dir, "--all-environments")
	if code != 1 || !strings.Contains(stderr, "planning failed for every environment (development, staging)") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	dev, stg, _ := strings.Cut(stdout, "── Environment staging")
	if !strings.Contains(dev, "/nonexistent/kubeconfig") || !strings.Contains(stg, "\nError: Invalid value for input variable") ||
		strings.Contains(dev, "Invalid value") || strings.Contains(stdout, "Error: Error:") {
		t.Errorf("each environment's error in its place:\n%s", stdout)
	}
}

func TestConfirmPromptNamesEnvironment(t *testing.T) {
	for _, tt := range []struct {
		p    plan.Plan
		want string
	}{
		{plan.Plan{}, "Do you want to perform these actions?\n"},
		{plan.Plan{Environment: "production"}, "Do you want to perform these actions in environment \"production\"?\n"},
		{plan.Plan{Environment: "production", Destroy: true}, "Do you really want to destroy every object of the stack in environment \"production\"?\n"},
	} {
		if got := confirmPrompt(&tt.p); !strings.Contains(got, tt.want) {
			t.Errorf("confirmPrompt(%+v) = %q, want it to contain %q", tt.p, got, tt.want)
		}
	}
}

// TestAllEnvironmentsPlanErrors checks that plan --all-environments exits 1,
// also with --detailed-exitcode and in every output format, when the plan
// of one environment holds plan errors (in staging only: a custom resource
// that the offline check against its planned CRD's schema refuses, and an
// object that exists without strata's labels), the same exit status as plan -e staging, and that the summary and
// the closing error name that environment and not the other.
func TestAllEnvironmentsPlanErrors(t *testing.T) {
	c := testcluster.Get(t)
	nsDev, nsStg := c.Namespace(t, "enverrdev"), c.Namespace(t, "enverrstg")
	group := testcluster.UniqueName("enverr") + ".strata.test"
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("enverr"))
	files := envStackFiles(c.Kubeconfig(), nsDev, nsStg)
	files["main.hcl"] = strings.Replace(files["main.hcl"], "variables = { replicas = 2 }", `variables = { replicas = 2, field = "colr" }`, 1)
	files["main.hcl"] = strings.Replace(files["main.hcl"], "substitute = { ns = var.namespace,", "substitute = { field = var.field, ns = var.namespace,", 1)
	files["main.hcl"] = "variable \"field\" {\n  type    = string\n  default = \"color\"\n}\n" + files["main.hcl"]
	files["base/crd.yaml"] = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets." + group + "\nspec:\n" +
		"  group: " + group + "\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}\n" +
		"  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n" +
		"        properties:\n          spec:\n            type: object\n            properties:\n              color: {type: string}\n"
	files["base/widget.yaml"] = "apiVersion: " + group + "/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: ${ns}\nspec:\n  ${field}: red\n"
	writeFiles(t, dir, files)
	// An object of staging that exists without strata's labels: an
	// adoption conflict.
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(nsStg).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: nsStg}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if code, stdout, stderr := runCLI(t, "plan", dir, "-e", "staging", "--detailed-exitcode"); code != 1 || !strings.Contains(stderr, "The plan has 2 errors") {
		t.Fatalf("plan -e staging: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, "plan", dir, "-e", "development", "--detailed-exitcode"); code != 2 {
		t.Fatalf("plan -e development: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{
		{"--detailed-exitcode"}, {}, {"--detailed-exitcode", "-o", "json"}, {"--detailed-exitcode", "-o", "markdown"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"plan", dir, "--all-environments"}, args...)...)
		if code != 1 || !strings.Contains(stderr, "Error: the plans of the environment(s) staging have errors: apply refuses them") ||
			strings.Contains(stderr, "planning failed") || strings.Contains(stderr, "development") {
			t.Errorf("plan --all-environments %v: exit %d, want 1 naming staging only\n%s%s", args, code, stdout, stderr)
		}
		if len(args) < 2 && !strings.Contains(stdout, "staging      failed: The plan has 2 errors") {
			t.Errorf("plan --all-environments %v: the summary does not name staging as failed:\n%s", args, stdout)
		}
	}
}

// TestAllEnvironmentsMandatoryPolicy: plan --all-environments shows an
// environment whose plan violates a mandatory policy block as failed,
// naming the policy, in the human summary and the Markdown table (as plan
// -e NAME fails it), not as an environment with changes; the other
// environment keeps its changes.
func TestAllEnvironmentsMandatoryPolicy(t *testing.T) {
	c := testcluster.Get(t)
	nsDev, nsStg := c.Namespace(t, "envpoldev"), c.Namespace(t, "envpolstg")
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("envpol"))
	files := envStackFiles(c.Kubeconfig(), nsDev, nsStg)
	files["policy.hcl"] = `policy "frozen_staging" {
  enforcement = "mandatory"
  match {
    namespaces = ["` + nsStg + `"]
  }
  condition = "false"
  message   = "staging is frozen"
}
`
	writeFiles(t, dir, files)
	if code, stdout, stderr := runCLI(t, "plan", dir, "-e", "staging"); code != 1 || !strings.Contains(stdout, "policy frozen_staging (mandatory)") {
		t.Fatalf("plan -e staging: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := runCLI(t, "plan", dir, "--all-environments")
	if code != 1 || !strings.Contains(stderr, "staging violate mandatory policies") ||
		!strings.Contains(stdout, "  staging      failed: mandatory policy frozen_staging violated: apply refuses the plan. Plan: 1 to add, 0 to change, 0 to destroy.\n") ||
		!strings.Contains(stdout, "  development  Plan: 1 to add, 0 to change, 0 to destroy.\n") {
		t.Errorf("plan --all-environments: exit %d, want 1 with staging failed by frozen_staging\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, "--all-environments", "-o", "markdown")
	if code != 1 || !strings.Contains(stdout, "| `staging` | 1 | 0 | 0 | 0 | :x: policy failed: `frozen_staging` |") ||
		!strings.Contains(stdout, "| `development` | 1 | 0 | 0 | 0 | changes |") ||
		!strings.Contains(stdout, "<b>staging</b>: failed: mandatory policy frozen_staging violated") {
		t.Errorf("plan --all-environments -o markdown: exit %d, want staging as policy failed\n%s%s", code, stdout, stderr)
	}
}
