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

// TestCycleReportedAtItsSource checks that plan, apply, destroy and drift
// report a dependency cycle like validate does: as a diagnostic naming
// file:line:column and showing the source, before taking the state lock or
// creating a state file. They used to print it flattened into one line
// ("Error: /path/main.hcl:1,1-20: Dependency cycle; ...") after locking.
func TestCycleReportedAtItsSource(t *testing.T) {
	for _, args := range [][]string{
		{"plan"}, {"plan", "-o", "json"}, {"apply", "--auto-approve"}, {"destroy", "--auto-approve"}, {"drift"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"main.hcl": "kustomization \"a\" {\n  path       = \"app\"\n  depends_on = [kustomization.b]\n}\n\n" +
					"kustomization \"b\" {\n  path       = \"app\"\n  depends_on = [kustomization.a]\n}\n",
				"app/cm.yaml": validateCM,
			})
			code, out, errOut := runStrata(t, "", append(args, dir)...)
			if code != 1 || out != "" {
				t.Errorf("exit %d, stdout %q, want 1 and nothing", code, out)
			}
			for _, want := range []string{"Error: Dependency cycle\n", "main.hcl:1:1, in kustomization \"a\"", "1: kustomization \"a\" {"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, ".strata")); !os.IsNotExist(err) {
				t.Errorf("the stack's .strata directory exists (err %v): the state was opened for a stack that does not load", err)
			}
		})
	}
}

// TestPlanErrorsAtTheirSource checks that an error found while planning a
// block that lies in the stack's files (a kustomization that does not
// build, a Git branch that does not exist, credentials a Git server
// refuses, a values file that does not parse, a chart or version the
// repository does not have, a Helm repository that cannot be reached) is
// reported by plan (human, JSON, Markdown) and apply like the other errors
// in the stack's files: at the attribute at fault (file:line and the source
// line, a URL's password masked), with exit 1 and nothing on stdout. They
// used to be one line naming the block only.
func TestPlanErrorsAtTheirSource(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "hclpos")
	kc := "--kubeconfig=" + c.Kubeconfig()
	gitSrv := gitserver.New(t, gitserver.Options{})
	gitSrv.NewRepo(t, "platform.git").Commit(t, map[string]string{"deploy/cm.yaml": validateCM}, gitserver.CommitOptions{})
	const user, pass = "ci", "s3cret-git-pass"
	authSrv := gitserver.New(t, gitserver.Options{Username: user, Password: pass})
	authSrv.NewRepo(t, "platform.git").Commit(t, map[string]string{"deploy/cm.yaml": validateCM}, gitserver.CommitOptions{})
	charts := helmserver.New(t, helmserver.Options{})
	charts.AddChart(t, helmserver.Chart("web", "0.1.0"))
	chart := map[string]string{
		"charts/web/Chart.yaml":          "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  color: {{ .Values.color | quote }}\n",
		"values/broken.yaml":             "color: [blue\n",
		"app/kustomization.yaml":         "resources:\n- missing.yaml\n",
		"ok/kustomization.yaml":          "resources:\n- cm.yaml\n",
		"ok/cm.yaml":                     validateCM,
		"charts/web/templates/NOTES.txt": "",
	}
	authURL := strings.Replace(authSrv.HTTPURL("platform.git"), "://", "://"+user+":wrong-"+pass+"@", 1)
	for name, tt := range map[string]struct {
		hcl     string
		summary string
		line    string // "main.hcl:LINE:"
		source  string // the source line shown
	}{
		"kustomization that does not build": {
			hcl: "kustomization \"ok\" {\n  path             = \"ok\"\n  target_namespace = \"" + ns + "\"\n}\n\n" +
				"kustomization \"app\" {\n  target_namespace = \"" + ns + "\"\n  path             = \"app\"\n}\n",
			summary: "Kustomization does not build", line: "main.hcl:8:", source: `8:   path             = "app"`,
		},
		"wrong Git branch": {
			hcl: "source \"git\" \"platform\" {\n  url    = \"" + gitSrv.HTTPURL("platform.git") + "\"\n  branch = \"nope\"\n}\n\n" +
				"kustomization \"app\" {\n  source           = source.git.platform\n  path             = \"deploy\"\n  target_namespace = \"" + ns + "\"\n}\n",
			summary: "Git reference not found", line: "main.hcl:3:", source: `3:   branch = "nope"`,
		},
		"Git credentials refused": {
			hcl: "source \"git\" \"platform\" {\n  branch = \"main\"\n  url    = \"" + authURL + "\"\n}\n\n" +
				"kustomization \"app\" {\n  source           = source.git.platform\n  path             = \"deploy\"\n  target_namespace = \"" + ns + "\"\n}\n",
			summary: "Git source cannot be fetched", line: "main.hcl:3:", source: "3:   url    = ",
		},
		"broken values file": {
			hcl:     "release \"web\" {\n  namespace    = \"" + ns + "\"\n  chart        = \"charts/web\"\n  values_files = [\"values/broken.yaml\"]\n}\n",
			summary: "Values file does not parse", line: "main.hcl:4:", source: `4:   values_files = ["values/broken.yaml"]`,
		},
		"missing chart": {
			hcl: "source \"helm\" \"charts\" {\n  url = \"" + charts.URL() + "\"\n}\n\n" +
				"release \"web\" {\n  namespace = \"" + ns + "\"\n  source    = source.helm.charts\n  chart     = \"nope\"\n}\n",
			summary: "Chart not found", line: "main.hcl:8:", source: `8:   chart     = "nope"`,
		},
		"Helm repository that cannot be reached": {
			hcl: "source \"helm\" \"charts\" {\n  url = \"http://" + user + ":" + pass + "@127.0.0.1:1/charts\"\n}\n\n" +
				"release \"web\" {\n  namespace = \"" + ns + "\"\n  source    = source.helm.charts\n  chart     = \"web\"\n}\n",
			summary: "Helm repository cannot be fetched", line: "main.hcl:2:", source: `2:   url = "http://ci:xxxxx@127.0.0.1:1/charts"`,
		},
		"missing chart version": {
			hcl: "source \"helm\" \"charts\" {\n  url = \"" + charts.URL() + "\"\n}\n\n" +
				"release \"web\" {\n  namespace = \"" + ns + "\"\n  source    = source.helm.charts\n  chart     = \"web\"\n  version   = \"9.9.9\"\n}\n",
			summary: "Chart version not found", line: "main.hcl:9:", source: `9:   version   = "9.9.9"`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), testcluster.UniqueName("hclpos"))
			files := map[string]string{"main.hcl": tt.hcl}
			for k, v := range chart {
				files[k] = v
			}
			writeFiles(t, dir, files)
			for _, args := range [][]string{
				{"plan"}, {"plan", "-o", "json"}, {"plan", "-o", "markdown"}, {"apply", "--auto-approve"},
			} {
				code, out, errOut := runCLI(t, append(append(args, dir), kc)...)
				if code != 1 || out != "" {
					t.Errorf("%s: exit %d, stdout %q, want 1 and nothing", args, code, out)
				}
				for _, want := range []string{"Error: " + tt.summary + "\n", tt.line, tt.source} {
					if !strings.Contains(errOut, want) {
						t.Errorf("%s: stderr lacks %q:\n%s", args, want, errOut)
					}
				}
				if strings.Contains(errOut, pass) {
					t.Errorf("%s: stderr shows the password:\n%s", args, errOut)
				}
			}
		})
	}
}

// TestValidateBrokenValuesFileAtValuesFiles checks that validate reports
// a values file that does not parse at the release's values_files, not at
// its chart.
func TestValidateBrokenValuesFileAtValuesFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.hcl":                     "release \"web\" {\n  namespace    = \"demo\"\n  chart        = \"charts/web\"\n  values_files = [\"values/broken.yaml\"]\n}\n",
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  color: {{ .Values.color | quote }}\n",
		"values/broken.yaml":           "color: [blue\n",
	})
	code, out, errOut := runStrata(t, "", "validate", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"Error: Values file does not parse\n", "main.hcl:4:3, in release \"web\"", "values/broken.yaml"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestDriftSourceErrorAtItsSource checks that drift names the stack's
// file and line of a source's branch that no longer exists (drift --sources: human,
// Markdown, and JSON's file and line), with exit 1.
func TestDriftSourceErrorAtItsSource(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "hclposdrift")
	kc := "--kubeconfig=" + c.Kubeconfig()
	srv := gitserver.New(t, gitserver.Options{})
	srv.NewRepo(t, "platform.git").Commit(t, map[string]string{"deploy/cm.yaml": validateCM}, gitserver.CommitOptions{})
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("hclposdrift"))
	stack := func(branch string) string {
		return "source \"git\" \"platform\" {\n  url    = \"" + srv.HTTPURL("platform.git") + "\"\n  branch = \"" + branch + "\"\n}\n\n" +
			"kustomization \"app\" {\n  source           = source.git.platform\n  path             = \"deploy\"\n  target_namespace = \"" + ns + "\"\n}\n"
	}
	writeFiles(t, dir, map[string]string{"main.hcl": stack("main")})
	if code, out, errOut := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	writeFiles(t, dir, map[string]string{"main.hcl": stack("gone")})
	for format, want := range map[string]string{
		"human":    "Error: source.git.platform (main.hcl:3): ",
		"markdown": "`source.git.platform` (main.hcl:3): error: ",
		"json":     `"file": "main.hcl",` + "\n      \"line\": 3",
	} {
		code, out, errOut := runCLI(t, "drift", dir, kc, "--sources", "-o", format)
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("drift -o %s: exit %d, want 1 and %q\n%s%s", format, code, want, out, errOut)
		}
	}
}
