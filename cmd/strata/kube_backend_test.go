package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state/bolt"
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
	t.Cleanup(func() { c.Kubectl(t, "delete", "namespace", appNS, "--ignore-not-found", "--wait=false") })
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
	// .strata may hold caches (renders, artifacts); the state must not be there.
	if _, err := os.Stat(filepath.Join(dir, bolt.DefaultPath)); !os.IsNotExist(err) {
		t.Errorf("a local state file exists beside a kubernetes backend: %v", err)
	}
	if secrets := c.Kubectl(t, "-n", stateNS, "get", "secrets", "-o", "name"); !strings.Contains(secrets, "strata-state-quickstart") {
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

// TestApplyStopsWhenLockForceUnlocked: a colleague force-unlocks the state
// of a running apply while its first block waits for a Deployment, with
// the kubernetes backend and with the local one. The apply stops at once:
// the next block's ConfigMap is never created, the output says that the
// lock was lost and that the state may not record everything (never that
// it is recorded), and the exit code is 1.
func TestApplyStopsWhenLockForceUnlocked(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	// Each backend returns the stack's strata block and a function that
	// returns the ID of the lock the apply holds ("" until it holds one).
	for name, backend := range map[string]func(t *testing.T, dir string) (string, func() string){
		"kubernetes": func(t *testing.T, _ string) (string, func() string) {
			stateNS := c.Namespace(t, "kstate-lost")
			return "strata {\n  backend \"kubernetes\" {\n    namespace = \"" + stateNS + "\"\n    name      = \"lost\"\n  }\n}\n",
				func() string {
					l, err := cs.CoordinationV1().Leases(stateNS).Get(t.Context(), "strata-lock-lost", metav1.GetOptions{})
					if err != nil || l.Spec.HolderIdentity == nil {
						return ""
					}
					return *l.Spec.HolderIdentity
				}
		},
		"local": func(t *testing.T, dir string) (string, func() string) {
			return "", func() string {
				s, err := bolt.Open(bolt.Options{Path: filepath.Join(dir, bolt.DefaultPath)})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				li, err := s.LockStatus(t.Context())
				if err != nil || li == nil {
					return ""
				}
				return li.ID
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			appNS := c.Namespace(t, "kapp-lost")
			dir := filepath.Join(t.TempDir(), testcluster.UniqueName("lost"))
			strataBlock, lockID := backend(t, dir)
			writeFiles(t, dir, map[string]string{
				"main.hcl": strataBlock + `kustomization "slow" {
  path    = "slow"
  wait    = true
  timeout = "2m"
}
kustomization "after" {
  path       = "after"
  depends_on = [kustomization.slow]
}
`,
				// No node matches: the Deployment never becomes available.
				"slow/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
  namespace: ` + appNS + `
spec:
  replicas: 1
  selector:
    matchLabels: {app: stuck}
  template:
    metadata:
      labels: {app: stuck}
    spec:
      nodeSelector: {strata.dev/no-such-node: "true"}
      containers:
        - name: app
          image: nginx:1.27
`,
				"after/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  namespace: " + appNS + "\n",
			})
			kc := "--kubeconfig=" + c.Kubeconfig()

			type result struct {
				code           int
				stdout, stderr string
			}
			done := make(chan result, 1)
			go func() {
				code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve")
				done <- result{code, stdout, stderr}
			}()
			// Wait until the apply holds the lock and waits for its Deployment.
			var id string
			for deadline := time.Now().Add(time.Minute); id == ""; time.Sleep(200 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the apply did not start waiting for its Deployment within a minute")
				}
				if _, err := cs.AppsV1().Deployments(appNS).Get(ctx, "stuck", metav1.GetOptions{}); err == nil {
					id = lockID()
				}
			}
			if code, stdout, stderr := runCLI(t, "force-unlock", id, "--force", "--dir", dir, kc); code != 0 {
				t.Fatalf("force-unlock: exit %d\n%s%s", code, stdout, stderr)
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the apply did not stop within 30s after its lock was force-unlocked")
			}
			t.Logf("apply after the force-unlock:\n%s%s", r.stdout, r.stderr)
			if r.code != 1 {
				t.Errorf("exit code %d, want 1", r.code)
			}
			for _, want := range []string{"Error: apply stopped", "the state lock was lost", "force-unlock"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			if !strings.Contains(r.stdout, "Apply stopped: the state lock was lost.") || !strings.Contains(r.stdout, "the state may not record all of it") ||
				strings.Contains(r.stdout, "what was applied is recorded in the state") {
				t.Errorf("the final message does not say that the lock was lost and the state may be incomplete:\n%s", r.stdout)
			}
			if _, err := cs.CoreV1().ConfigMaps(appNS).Get(ctx, "after", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("ConfigMap of the block after the loss: got %v, want it never created", err)
			}
		})
	}
}
