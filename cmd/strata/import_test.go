package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/internal/testserver/gitserver"
	"github.com/strata-gitops/strata/internal/testserver/helmserver"
)

// TestImportFluxRoundTrip imports the corpus of internal/fluximport and
// checks the exit status (0: all translated, 2: something left for the
// user), that the stack is formatted (fmt --check) and valid, and that the
// issues are listed on stderr with file and line.
func TestImportFluxRoundTrip(t *testing.T) {
	corpus := filepath.Join("..", "..", "internal", "fluximport", "testdata", "corpus")
	for name, tc := range map[string]struct {
		paths    []string
		wantCode int
		wantErr  string
	}{
		"clean": {paths: []string{filepath.Join(corpus, "clean")}, wantCode: 0,
			wantErr: "skipped (not a Flux object): " + filepath.Join(corpus, "clean", "tenants", "team-a.yaml") + ":3: Namespace team-a (v1)"},
		"leftovers": {paths: []string{corpus}, wantCode: exitLeftForUser,
			wantErr: filepath.Join(corpus, "leftovers", "leftovers.yaml") + ":94: Kustomization flux-system/tenant: spec.postBuild.substituteFrom[0]: strata reads no ConfigMap"},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "stack")
			code, stdout, stderr := runCLI(t, append([]string{"import", "flux", "--out", out}, tc.paths...)...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("import: exit %d, want %d and %q\n%s%s", code, tc.wantCode, tc.wantErr, stdout, stderr)
			}
			if code, stdout, stderr := runCLI(t, "fmt", "--check", out); code != 0 {
				t.Errorf("fmt --check: exit %d\n%s%s", code, stdout, stderr)
			}
			if code, stdout, stderr := runCLI(t, "validate", out); code != 0 {
				t.Errorf("validate: exit %d\n%s%s", code, stdout, stderr)
			}
			// A second import does not overwrite the stack.
			if code, _, stderr := runCLI(t, append([]string{"import", "flux", "--out", out}, tc.paths...)...); code != 1 || !strings.Contains(stderr, "exists") {
				t.Errorf("second import: exit %d, want 1 (files exist)\n%s", code, stderr)
			}
		})
	}
}

// TestImportFluxBadInput checks that bad input exits 1 with file and line.
func TestImportFluxBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: r\n  namespace: a\nspec:\n  interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "import", "flux", file)
	if code != 1 || !strings.Contains(stderr, file+":7: HelmRelease a/r: spec.chart or spec.chartRef is required") || stdout != "" {
		t.Errorf("exit %d, want 1 and the error\n%s%s", code, stdout, stderr)
	}
}

// TestImportFluxPlans imports Flux manifests whose sources are the
// in-process Git and chart servers (a tenant's Kustomization with a target
// namespace and service account, one depending on it, a HelmRelease with
// values from a ConfigMap) and
// plans the stack against the local cluster: the plan fetches both
// sources, renders both kinds with the translated settings and proposes
// to create them.
func TestImportFluxPlans(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "fluximport")
	git := gitserver.New(t, gitserver.Options{})
	repo := git.NewRepo(t, "platform.git")
	repo.Commit(t, map[string]string{
		"deploy/app/kustomization.yaml": "resources: [cm.yaml]\n",
		"deploy/app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\ndata:\n  env: ${cluster_env}\n",
		"deploy/more/cm.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\ndata:\n  x: \"1\"\n",
	}, gitserver.CommitOptions{})
	c.Kubectl(t, "-n", ns, "create", "serviceaccount", "reconciler")
	c.Kubectl(t, "-n", ns, "create", "rolebinding", "reconciler", "--clusterrole=edit", "--serviceaccount="+ns+":reconciler")
	c.Kubectl(t, "-n", ns, "create", "configmap", "web-values", "--from-literal=values.yaml=message: from-configmap")
	charts := helmserver.New(t, helmserver.Options{})
	charts.AddChart(t, helmserver.Chart("web", "0.1.3"))

	flux := `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: platform
  namespace: NS
spec:
  interval: 1m
  url: GITURL
  ref:
    branch: main
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: NS
spec:
  interval: 1h
  url: CHARTURL
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: NS
spec:
  interval: 5m
  targetNamespace: NS
  sourceRef:
    kind: GitRepository
    name: platform
  path: ./deploy/app
  prune: true
  wait: true
  postBuild:
    substitute:
      cluster_env: test
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: more
  namespace: NS
spec:
  interval: 5m
  targetNamespace: NS
  dependsOn:
    - name: app
  sourceRef:
    kind: GitRepository
    name: platform
  path: ./deploy/more
  prune: true
  serviceAccountName: reconciler
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: NS
spec:
  interval: 10m
  chart:
    spec:
      chart: web
      version: "0.1.x"
      sourceRef:
        kind: HelmRepository
        name: charts
  valuesFrom:
    - kind: ConfigMap
      name: web-values
  values:
    extra: imported
`
	flux = strings.NewReplacer("NS", ns, "GITURL", git.HTTPURL("platform.git"), "CHARTURL", charts.URL()).Replace(flux)
	manifests := filepath.Join(t.TempDir(), "flux.yaml")
	if err := os.WriteFile(manifests, []byte(flux), 0o644); err != nil {
		t.Fatal(err)
	}
	stack := filepath.Join(t.TempDir(), "stack")
	if code, stdout, stderr := runCLI(t, "import", "flux", "--out", stack, manifests); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := runCLI(t, "plan", stack, "--kubeconfig="+c.Kubeconfig(), "--detailed-exitcode")
	if code != 2 {
		t.Fatalf("plan: exit %d, want 2 (changes)\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"+ ConfigMap " + ns + "/app-settings", `+ data.env: "test"`, // target namespace, substitute
		"kustomization.more/ConfigMap/" + ns + "/more",
		"+ release " + ns + "/web", "web 0.1.3", `+ data.message: "from-configmap"`, // version constraint, values_from
		"Plan: 3 to add, 0 to change, 0 to destroy.",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan does not mention %q:\n%s", want, stdout)
		}
	}
}

// TestImportFluxStdout checks that without --out the whole stack goes to
// standard output, every block of the three files, and no file is written.
func TestImportFluxStdout(t *testing.T) {
	clean, err := filepath.Abs(filepath.Join("..", "..", "internal", "fluximport", "testdata", "corpus", "clean"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	code, stdout, stderr := runCLI(t, "import", "flux", clean)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{`kustomization "crds" {`, `release "podinfo" {`, `source "git" "platform" {`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout has no %s:\n%s", want, stdout)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) > 0 {
		t.Errorf("import without --out wrote %d files", len(entries))
	}
}
