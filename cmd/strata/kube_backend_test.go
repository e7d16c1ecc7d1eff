package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestKubernetesBackendPlanApply runs a quickstart-like stack (a Namespace
// and a ConfigMap, then a Deployment and a Service depending on them) whose
// state lives in the cluster (backend "kubernetes"): apply, a second plan
// with no changes, `strata state list` showing every object, and destroy.
// No local state file is written.
func TestKubernetesBackendPlanApply(t *testing.T) {
	c := testcluster.Get(t)
	stateNS := c.Namespace(t, "kstate")
	appNS := testcluster.UniqueName("kapp")
	t.Cleanup(func() { kubectlOut(t, c, "delete", "namespace", appNS, "--ignore-not-found", "--wait=false") })
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("kbackend"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": `strata {
  backend "kubernetes" {
    namespace = "` + stateNS + `"
    name      = "quickstart"
  }
}
variable "environment" {
  type    = string
  default = "development"
}
kustomization "base" {
  path       = "manifests/base"
  prune      = true
  wait       = true
  timeout    = "1m"
  substitute = { environment = var.environment }
}
kustomization "app" {
  path       = "manifests/app"
  prune      = true
  wait       = true
  timeout    = "1m"
  substitute = { environment = var.environment }
  depends_on = [kustomization.base]
}
`,
		"manifests/base/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + appNS + "\n  labels:\n    environment: ${environment}\n",
		"manifests/base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\n  namespace: " + appNS +
			"\ndata:\n  environment: ${environment}\n",
		"manifests/app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: " + appNS +
			"\nresources: [deployment.yaml, service.yaml]\n",
		"manifests/app/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels:
        app: web
        environment: ${environment}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          envFrom: [{configMapRef: {name: web-settings}}]
`,
		"manifests/app/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()

	code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve")
	if code != 0 || !strings.Contains(stdout, "Apply complete! Objects: 4 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "plan", dir, kc, "--detailed-exitcode")
	if code != 0 || !strings.Contains(stdout, "No changes. The cluster matches the stack.") {
		t.Fatalf("second plan: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "state", "list", "--dir", dir, kc)
	want := strings.Join([]string{
		"kustomization.app",
		"kustomization.app/Deployment.apps/" + appNS + "/web",
		"kustomization.app/Service/" + appNS + "/web",
		"kustomization.base",
		"kustomization.base/ConfigMap/" + appNS + "/web-settings",
		"kustomization.base/Namespace/" + appNS,
	}, "\n") + "\n"
	if code != 0 {
		t.Fatalf("state list: exit %d\n%s", code, stderr)
	}
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("state list (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, ".strata")); !os.IsNotExist(err) {
		t.Errorf("a local state directory exists beside a kubernetes backend: %v", err)
	}
	if secrets := kubectlOut(t, c, "-n", stateNS, "get", "secrets", "-o", "name"); !strings.Contains(secrets, "strata-state-quickstart") {
		t.Errorf("no state Secrets in %s:\n%s", stateNS, secrets)
	}

	code, stdout, stderr = runCLI(t, "destroy", dir, kc, "--auto-approve")
	if code != 0 || !strings.Contains(stdout, "4 destroyed") {
		t.Fatalf("destroy: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = runCLI(t, "state", "list", "--dir", dir, kc); code != 0 || stdout != "" {
		t.Errorf("state list after destroy: exit %d\n%s%s", code, stdout, stderr)
	}
}
