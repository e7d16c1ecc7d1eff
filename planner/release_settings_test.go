package planner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
)

// TestReleaseSpecSettings checks that every setting of a release block
// reaches the Helm provider's spec: install, upgrade, rollback and
// uninstall settings each go to their own operation.
func TestReleaseSpecSettings(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"main.hcl": `
release "web" {
  namespace = "apps"
  chart     = "charts/web"
  timeout   = "3m"
  service_account = "helm"
  install {
    crds = "skip"
    disable_hooks = true
    remediation {
      retries = 2
      remediate_last_failure = false
    }
  }
  upgrade {
    crds = "create_replace"
    cleanup_on_fail = true
    force = true
    disable_hooks = false
    remediation {
      retries = 1
      strategy = "uninstall"
      remediate_last_failure = false
    }
  }
  rollback {
    cleanup_on_fail = true
    force           = true
    recreate        = true
    disable_hooks   = true
    timeout         = "45s"
  }
  uninstall {
    keep_history  = true
    disable_hooks = true
    timeout       = "30s"
  }
}
release "defaults" {
  chart = "charts/web"
}
`,
		"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	})
	e, diags := Load(Options{Dir: dir, Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	spec := func(name string) helm.ReleaseSpec {
		s, _, err := e.releaseSpec(context.Background(), e.stack.Releases[name])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ignore := cmpopts.IgnoreFields(helm.ReleaseSpec{}, "ChartPath")
	want := helm.ReleaseSpec{
		Name: "web", Namespace: "apps", Timeout: 3 * time.Minute, MaxHistory: config.DefaultMaxHistory,
		CRDs: helm.CRDsSkip, UpgradeCRDs: helm.CRDsCreateReplace, DisableHooks: true,
		DriftDetection: helm.DriftEnabled, CleanupOnFail: true, Force: true,
		Install: helm.InstallRemediation{Retries: 2, KeepLastFailure: true},
		Upgrade: helm.UpgradeRemediation{Retries: 1, Strategy: helm.RemediateUninstall, KeepLastFailure: true},
		Rollback: helm.RollbackOptions{Force: true, Recreate: true, DisableHooks: true, CleanupOnFail: true,
			Timeout: 45 * time.Second},
		Uninstall: helm.UninstallOptions{KeepHistory: true, DisableHooks: true, Timeout: 30 * time.Second},
	}
	if diff := cmp.Diff(want, spec("web"), ignore); diff != "" {
		t.Errorf("spec of release.web (-want +got):\n%s", diff)
	}
	// Defaults: install creates CRDs, upgrade skips them (Flux's), the last
	// failure is kept with no retries (Flux's remediateLastFailure).
	want = helm.ReleaseSpec{
		Name: "defaults", Namespace: "default", Timeout: config.DefaultReleaseTimeout, MaxHistory: config.DefaultMaxHistory,
		CRDs: helm.CRDsCreate, UpgradeCRDs: helm.CRDsSkip, DriftDetection: helm.DriftEnabled,
		Install:   helm.InstallRemediation{KeepLastFailure: true},
		Upgrade:   helm.UpgradeRemediation{Strategy: helm.RemediateRollback, KeepLastFailure: true},
		Uninstall: helm.UninstallOptions{Timeout: config.DefaultReleaseTimeout},
	}
	if diff := cmp.Diff(want, spec("defaults"), ignore); diff != "" {
		t.Errorf("spec of release.defaults (-want +got):\n%s", diff)
	}
	if sa := e.stack.Releases["web"].ServiceAccount; sa != "apps/helm" {
		t.Errorf("service account of release.web = %q, want apps/helm", sa)
	}
}

// releaseStack is a stack with one release "web" of a chart with a
// ConfigMap and a Deployment; extra is HCL added to the block.
func releaseStack(ns, extra string) map[string]string {
	return map[string]string{
		"main.hcl":                     fmt.Sprintf("release \"web\" {\n  namespace = %q\n  chart = \"charts/web\"\n%s\n}\n", ns, extra),
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/values.yaml":       "nodeSelector: {}\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\ndata:\n  color: blue\n",
		"charts/web/templates/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {{ toJson .Values.nodeSelector }}
      containers: [{name: web, image: nginx}]
`,
	}
}

// TestReleaseServiceAccount applies a release with service_account (a bare
// name: the account in the release's namespace). Without rights the plan
// fails with a forbidden error naming the account; a plan made while the
// account had rights is refused at apply once they are revoked (the install
// is the account's); with rights in the namespace it installs and drift
// reads the release as the account; once the account's rights are revoked,
// drift says so and the removal of the block is refused: the uninstall (and
// its plan) is the account's, at plan and at apply time.
func TestReleaseServiceAccount(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "relsa")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := writeStack(t, releaseStack(ns, `  service_account = "deployer"`))
	user := "system:serviceaccount:" + ns + ":deployer"
	refused := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), user) || !strings.Contains(err.Error(), "release.web") {
			t.Fatalf("%s: %v, want forbidden naming release.web and %s", what, err, user)
		}
	}

	e, diags := Load(testOptions(c, dir))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := e.Lock(ctx, "test", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	_, err = e.Plan(ctx)
	e.Unlock(ctx)
	e.Close()
	refused("plan without rights", err)

	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind := func() {
		t.Helper()
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "deployer"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: ns}}}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitAllowed(t, c, dir)
	}
	unbind := func() {
		t.Helper()
		if err := cs.RbacV1().RoleBindings(ns).Delete(ctx, "deployer", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitForbidden(t, c, ns+"/deployer", ns)
	}
	// applyRevoked plans while the account has rights, revokes them and
	// applies that plan: the apply must be refused.
	applyRevoked := func(what string) {
		t.Helper()
		e, p := lockedPlan(t, testOptions(c, dir))
		unbind()
		_, err := e.Apply(ctx, p, ApplyOptions{})
		refused(what, err)
		e.Unlock(ctx)
		e.Close()
		bind()
	}
	configMap := func() bool {
		t.Helper()
		_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "web-settings", metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	bind()
	applyRevoked("install after revoking the account")
	if configMap() {
		t.Fatal("the refused install created the release's ConfigMap")
	}
	applyStack(t, testOptions(c, dir))
	if !configMap() {
		t.Fatal("the release's ConfigMap was not installed")
	}
	if got := summary(checkDrift(t, testOptions(c, dir))); len(got) != 0 {
		t.Errorf("drift right after the apply: %v", got)
	}

	// Revoke the account's rights, then remove the block: the uninstall is
	// the account's (recorded in the state), so it is refused.
	unbind()
	// drift reads Helm's storage as the account too.
	rep := checkDrift(t, testOptions(c, dir))
	if len(rep.Blocks) != 1 || !strings.Contains(rep.Blocks[0].Error, user) {
		t.Errorf("drift after revoking the account: %+v, want an error naming %s", rep.Blocks, user)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The plan of the removal reads the release's hooks as the account
	// already, and is refused.
	e, diags = Load(testOptions(c, dir))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := e.Lock(ctx, "test", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	_, err = e.Plan(ctx)
	e.Unlock(ctx)
	e.Close()
	refused("removal of the release after revoking the account", err)
	// So is the uninstall of a removal planned while it had rights.
	bind()
	applyRevoked("uninstall after revoking the account")
	if !configMap() {
		t.Fatal("the refused uninstall deleted the release's ConfigMap")
	}
	applyStack(t, testOptions(c, dir))
	if configMap() {
		t.Error("the uninstall as the account left the release's ConfigMap")
	}
}

// waitForbidden waits until the service account may no longer list the
// Secrets of ns.
func waitForbidden(t *testing.T, c *testcluster.Cluster, serviceAccount, ns string) {
	t.Helper()
	imp, err := kube.ImpersonationConfig(serviceAccount)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(c.RESTConfig())
	cfg.Impersonate = imp
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
		if apierrors.IsForbidden(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s can still list secrets: %v", serviceAccount, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitAllowed plans dir until the plan succeeds (RBAC changes reach the
// authorizer within a moment).
func waitAllowed(t *testing.T, c *testcluster.Cluster, dir string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, diags := Load(testOptions(c, dir))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		ctx := context.Background()
		if err := e.Lock(ctx, "test", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		_, err := e.Plan(ctx)
		e.Unlock(ctx)
		e.Close()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plan with rights: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestRemediateLastFailure installs a release whose pods no node can run
// (the wait times out): by default (Flux's) the failed revision is kept,
// Helm status failed, also with retries; with remediate_last_failure = true
// the failed install is uninstalled (remediated); = false keeps it.
func TestRemediateLastFailure(t *testing.T) {
	c := testcluster.Get(t)
	tests := map[string]struct {
		extra      string
		wantStatus string // Helm status after the failed apply; "" = no release
	}{
		"default":         {"", "failed"},
		"default_retries": {"  install {\n    remediation { retries = 1 }\n  }", "failed"},
		"remediate_last":  {"  install {\n    remediation { remediate_last_failure = true }\n  }", ""},
		"keep_last":       {"  install {\n    remediation { remediate_last_failure = false }\n  }", "failed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := c.Namespace(t, "relrem")
			files := releaseStack(ns, "  timeout = \"3s\"\n  values = { nodeSelector = { \"strata.dev/none\" = \"nowhere\" } }\n"+tc.extra)
			dir := writeStack(t, files)
			e, p := lockedPlan(t, testOptions(c, dir))
			_, err := e.Apply(context.Background(), p, ApplyOptions{})
			if err == nil {
				t.Fatal("install of unschedulable pods succeeded")
			}
			hm, herr := e.helmAs("")
			if herr != nil {
				t.Fatal(herr)
			}
			rp, herr := hm.Plan(context.Background(), helm.ReleaseSpec{Name: "web", Namespace: ns, ChartPath: filepath.Join(dir, "charts/web")})
			if herr != nil {
				t.Fatal(herr)
			}
			if rp.Status != tc.wantStatus {
				t.Errorf("release status after the failed install = %q, want %q (apply error: %v)", rp.Status, tc.wantStatus, err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Log(err)
			}
		})
	}
}

// TestSourceTimeout plans stacks whose Git and Helm sources never answer:
// the fetch gives up after the source's timeout and says so.
func TestSourceTimeout(t *testing.T) {
	c := testcluster.Get(t)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	stacks := map[string]string{
		"git": fmt.Sprintf(`source "git" "slow" {
  url     = "%s/repo.git"
  branch  = "main"
  timeout = "1s"
}
kustomization "app" {
  source = source.git.slow
  path   = "."
}
`, srv.URL),
		"helm": fmt.Sprintf(`source "helm" "slow" {
  url     = %q
  timeout = "1s"
}
release "app" {
  source = source.helm.slow
  chart  = "app"
}
`, srv.URL),
	}
	for name, hcl := range stacks {
		t.Run(name, func(t *testing.T) {
			dir := writeStack(t, map[string]string{"main.hcl": hcl})
			e, diags := Load(testOptions(c, dir))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			ctx := context.Background()
			if err := e.Lock(ctx, "test", 30*time.Second); err != nil {
				t.Fatal(err)
			}
			defer func() { e.Unlock(ctx); e.Close() }()
			start := time.Now()
			_, err := e.Plan(ctx)
			if err == nil || !strings.Contains(err.Error(), "timeout (1s)") {
				t.Fatalf("plan with a source that never answers: %v, want its timeout", err)
			}
			if elapsed := time.Since(start); elapsed > 20*time.Second {
				t.Errorf("plan took %s", elapsed)
			}
		})
	}
}

// TestRemovedReleaseKeepsHistory removes a release block with
// uninstall { keep_history = true }: the uninstall keeps the release's
// history (recorded in the state when it was applied, since the block is
// gone).
func TestRemovedReleaseKeepsHistory(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "relkeep")
	files := releaseStack(ns, "  uninstall { keep_history = true }")
	dir := writeStack(t, files)
	applyStack(t, testOptions(c, dir))
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e, p := lockedPlan(t, testOptions(c, dir))
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); err != nil {
		t.Fatalf("apply of the removal: %v", err)
	}
	hm, err := e.helmAs("")
	if err != nil {
		t.Fatal(err)
	}
	rp, err := hm.Plan(context.Background(), helm.ReleaseSpec{Name: "web", Namespace: ns, ChartPath: filepath.Join(dir, "charts/web")})
	if err != nil {
		t.Fatal(err)
	}
	if rp.Status != "uninstalled" {
		t.Errorf("release status after removing its block = %q, want uninstalled (history kept)", rp.Status)
	}
}
