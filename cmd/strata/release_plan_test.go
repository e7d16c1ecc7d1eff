package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	helmcli "github.com/strata-gitops/strata/internal/cmd/helm"
	"github.com/strata-gitops/strata/internal/testcluster"
)

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helmCLI runs the real Helm CLI (internal/cmd/helm) against the cluster.
func helmCLI(t *testing.T, c *testcluster.Cluster, args ...string) string {
	t.Helper()
	helmOnce.Do(func() { helmBin, helmErr = helmcli.Binary(context.Background()) })
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	out, err := helmcli.Command(context.Background(), helmBin, c.Kubeconfig(), t.TempDir(), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// releaseStack writes a stack with one release of a chart in the stack's
// directory; its values hold a sensitive variable that the chart puts into
// a Secret.
func releaseStack(t *testing.T, ns string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("relcli"))
	files := map[string]string{
		"main.hcl": `variable "color" {
  type    = string
  default = "blue"
}
variable "password" {
  type      = string
  sensitive = true
  default   = "hunter2-s3cret"
}
release "web" {
  namespace = "` + ns + `"
  chart     = "charts/web"
  values    = { color = var.color, password = var.password }
}
`,
		"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: \"1.0\"\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n" +
			"data:\n  color: {{ .Values.color | quote }}\n",
		"charts/web/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-creds\n" +
			"stringData:\n  password: {{ .Values.password | quote }}\n",
	}
	writeFiles(t, dir, files)
	return dir
}

// TestSavedPlanRelease saves a plan that upgrades a Helm release, checks
// that no rendering of it shows the sensitive value, applies the file with
// the chart gone from the stack directory (apply uses the chart the file
// carries, not the stack) and plans again with no changes. A second saved
// plan is refused once the release was upgraded with the Helm CLI.
func TestSavedPlanRelease(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "relcli")
	dir := releaseStack(t, ns)
	kc := "--kubeconfig=" + c.Kubeconfig()
	color := func() string {
		return c.Kubectl(t, "-n", ns, "get", "configmap", "web-settings", "-o", "jsonpath={.data.color}")
	}

	if code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve"); code != 0 {
		t.Fatalf("install: exit %d\n%s%s", code, stdout, stderr)
	}

	file := filepath.Join(t.TempDir(), "plan.out")
	code, stdout, stderr := runCLI(t, "plan", dir, kc, "--var", "color=green", "--out", file, "--detailed-exitcode")
	if code != 2 || !strings.Contains(stdout, "Plan: 0 to add, 1 to change, 0 to destroy.") {
		t.Fatalf("plan: exit %d, want 2 and one upgrade\n%s%s", code, stdout, stderr)
	}
	secret := []string{"hunter2-s3cret", base64.StdEncoding.EncodeToString([]byte("hunter2-s3cret"))}
	noSecret := func(what, out string) {
		t.Helper()
		for _, s := range secret {
			if strings.Contains(out, s) {
				t.Errorf("%s shows the sensitive value:\n%s", what, out)
			}
		}
	}
	noSecret("plan", stdout+stderr)
	for _, format := range []string{"human", "json", "markdown"} {
		code, out, errOut := runCLI(t, "show", file, "-o", format)
		if code != 0 || !strings.Contains(out, "release.web") {
			t.Fatalf("show -o %s: exit %d\n%s%s", format, code, out, errOut)
		}
		noSecret("show -o "+format, out+errOut)
	}

	// The chart leaves the stack directory: apply must not need it.
	charts := filepath.Join(dir, "charts")
	if err := os.Rename(charts, charts+".away"); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "apply", file, kc)
	if code != 0 || !strings.Contains(stdout, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("apply FILE: exit %d\n%s%s", code, stdout, stderr)
	}
	noSecret("apply FILE", stdout+stderr)
	if err := os.Rename(charts+".away", charts); err != nil {
		t.Fatal(err)
	}
	if got := color(); got != "green" {
		t.Errorf("color after apply FILE = %q, want green", got)
	}
	if hist := helmCLI(t, c, "history", "web", "-n", ns); strings.Count(hist, "\n") != 3 {
		t.Errorf("helm history, want 2 revisions:\n%s", hist)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--var", "color=green", "--detailed-exitcode")
	if code != 0 {
		t.Fatalf("plan after apply FILE: exit %d, want 0\n%s%s", code, stdout, stderr)
	}

	// A release upgraded behind strata's back makes the saved plan stale.
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--var", "color=red", "--out", file)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	helmCLI(t, c, "upgrade", "web", charts+"/web", "-n", ns, "--reuse-values", "--set", "color=purple")
	code, stdout, stderr = runCLI(t, "apply", file, kc)
	if code != 1 || !strings.Contains(stderr, "saved plan is stale") ||
		!strings.Contains(stderr, "release.web (Helm release "+ns+"/web) was changed") {
		t.Fatalf("apply of a stale FILE: exit %d, want 1 naming release.web\n%s%s", code, stdout, stderr)
	}
	if got := color(); got != "purple" {
		t.Errorf("color after the refused apply = %q, want purple (left alone)", got)
	}
}
