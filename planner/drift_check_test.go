package planner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/drift"
)

// driftStack is a kustomization with a ConfigMap, a Secret, a Service and
// a Deployment in namespace ns, and an unsuspended and a suspended block.
func driftStack(t *testing.T, ns string) string {
	t.Helper()
	return writeStack(t, map[string]string{
		"main.hcl": `
kustomization "app" {
  path = "app"
  wait = true
}
kustomization "paused" {
  path    = "paused"
  suspend = true
}
`,
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [objects.yaml]\n",
		"app/objects.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {tier: web}}
data: {mode: fast, level: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2-applied}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 8080}]
        env: [{name: MODE, value: fast}]
`,
		"paused/kustomization.yaml": "namespace: " + ns + "\nresources: [cm.yaml]\n",
		"paused/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: paused}\ndata: {a: b}\n",
	})
}

func checkDrift(t *testing.T, opts Options) *drift.Report {
	t.Helper()
	return checkDriftWith(t, opts, DriftOptions{})
}

func checkDriftWith(t *testing.T, opts Options, dopts DriftOptions) *drift.Report {
	t.Helper()
	e, diags := Load(opts)
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	defer e.Close()
	rep, err := e.Drift(context.Background(), dopts)
	if err != nil {
		t.Fatalf("drift: %v", err)
	}
	return rep
}

// summary lists "kind address fields" per drifted item.
func summary(rep *drift.Report) []string {
	var out []string
	for _, b := range rep.Blocks {
		for _, it := range b.Items {
			out = append(out, fmt.Sprintf("%s %s %s", it.Kind, it.Address, strings.Join(it.FieldPaths(), ",")))
		}
	}
	sort.Strings(out)
	return out
}

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helmCLI returns a function running the real Helm CLI (built from the
// module's helm.sh/helm/v3, cached next to the cluster binaries).
func helmCLI(t *testing.T, c *testcluster.Cluster) func(args ...string) string {
	t.Helper()
	helmOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "helm.sh/helm/v3").Output()
		if err != nil {
			helmErr = err
			return
		}
		cache, err := testcluster.CacheDir()
		if err != nil {
			helmErr = err
			return
		}
		helmBin = filepath.Join(cache, "helm-"+strings.TrimSpace(string(out)))
		if _, err := os.Stat(helmBin); err == nil {
			return
		}
		tmp := fmt.Sprintf("%s.tmp%d", helmBin, os.Getpid())
		if out, err := exec.Command("go", "build", "-o", tmp, "helm.sh/helm/v3/cmd/helm").CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("build helm: %v\n%s", err, out)
			return
		}
		helmErr = os.Rename(tmp, helmBin)
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	home := t.TempDir()
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command(helmBin, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}
