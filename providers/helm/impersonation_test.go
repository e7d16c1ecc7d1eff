package helm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
)

// TestImpersonatedOperations carries out every Helm operation of a release,
// each planned with strata's own (admin) credentials, as a service account
// with the least privilege: with rights to Helm's storage only (Secrets and
// ConfigMaps), the install, upgrade, rollback and uninstall of the chart's
// Deployment are refused with the account's forbidden error and leave the
// Deployment as it was; once the account may manage Deployments, each
// succeeds. Carried out with strata's own credentials, every operation
// would succeed in both cases.
func TestImpersonatedOperations(t *testing.T) {
	t.Parallel()
	admin, c := newManager(t)
	ns := c.Namespace(t, "helm-impops")
	cs := clientset(t, c)
	serviceAccount(t, cs, ns, "deployer")
	grant(t, cs, ns, "deployer", "secrets", "configmaps")
	m, err := admin.Impersonate(ns + "/deployer")
	if err != nil {
		t.Fatal(err)
	}
	acct := account{t: t, c: c, cs: cs, ns: ns, name: "deployer"}
	ctx := context.Background()
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Timeout: time.Minute,
		// Failures are left as they are, not remediated.
		Install: helm.InstallRemediation{KeepLastFailure: true}, Upgrade: helm.UpgradeRemediation{Strategy: helm.RemediateNone}}
	v2 := spec
	v2.Values = map[string]any{"image": "nginx:2.0"}

	// install
	acct.storageOnly()
	_, err = m.Apply(ctx, plan(t, admin, spec), nil)
	acct.refused("install", err)
	if img := liveImage(t, cs, ns, "app-app"); img != "" {
		t.Fatalf("the refused install created the Deployment (%s)", img)
	}
	if _, err := admin.Uninstall(ctx, "app", ns, helm.UninstallOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	acct.deployments()
	if p := plan(t, admin, spec); p.Action != helm.ActionInstall {
		t.Fatalf("plan after the refused install: %s", p.Action)
	}
	apply(t, m, plan(t, admin, spec))
	acct.image("install", "nginx:1.0")

	// upgrade (not remediated)
	acct.storageOnly()
	_, err = m.Apply(ctx, plan(t, admin, v2), nil)
	acct.refused("upgrade", err)
	acct.image("refused upgrade", "nginx:1.0")

	// rollback of the failed upgrade
	p := plan(t, admin, spec)
	if p.Action != helm.ActionRollback {
		t.Fatalf("plan after the failed upgrade: %s (%s), want rollback", p.Action, p.Reason)
	}
	_, err = m.Apply(ctx, p, nil)
	acct.refused("rollback", err)
	acct.deployments()
	p = plan(t, admin, spec)
	if p.Action != helm.ActionRollback {
		t.Fatalf("plan after the refused rollback: %s (%s), want rollback", p.Action, p.Reason)
	}
	if res := apply(t, m, p); res.Status != "deployed" {
		t.Fatalf("rollback as the account: %+v", res)
	}
	apply(t, m, plan(t, admin, v2))
	acct.image("upgrade", "nginx:2.0")

	// uninstall
	acct.storageOnly()
	_, err = m.Uninstall(ctx, "app", ns, helm.UninstallOptions{Timeout: 30 * time.Second}, nil)
	if err == nil {
		t.Fatal("uninstall with rights to Helm's storage only succeeded")
	}
	acct.image("refused uninstall", "nginx:2.0")
	acct.deployments()
	if _, err := m.Uninstall(ctx, "app", ns, helm.UninstallOptions{Timeout: 30 * time.Second}, nil); err != nil {
		t.Fatalf("uninstall as the account: %v", err)
	}
	acct.image("uninstall", "")
	if p := plan(t, admin, spec); p.Action != helm.ActionInstall {
		t.Fatalf("plan after the account's uninstall: %s", p.Action)
	}
}

// account is a service account whose Role in ns is changed by the test.
type account struct {
	t    *testing.T
	c    *testcluster.Cluster
	cs   kubernetes.Interface
	ns   string
	name string
}

func (a account) user() string { return "system:serviceaccount:" + a.ns + ":" + a.name }

// storageOnly leaves the account the rights to Helm's storage only and
// waits until the API server refuses it Deployments.
func (a account) storageOnly() { a.setRole(false, "secrets", "configmaps") }

// deployments gives the account the rights to Deployments too and waits
// until the API server grants them.
func (a account) deployments() { a.setRole(true, "secrets", "configmaps", "deployments") }

func (a account) setRole(canDeploy bool, resources ...string) {
	a.t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: resources, Verbs: []string{"*"}}}}
	if _, err := a.cs.RbacV1().Roles(a.ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		a.t.Fatal(err)
	}
	imp, err := kube.ImpersonationConfig(a.ns + "/" + a.name)
	if err != nil {
		a.t.Fatal(err)
	}
	cfg := rest.CopyConfig(a.c.RESTConfig())
	cfg.Impersonate = imp
	as, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		a.t.Fatal(err)
	}
	eventually(a.t, "RBAC change", func() error {
		_, err := as.AppsV1().Deployments(a.ns).List(ctx, metav1.ListOptions{})
		if canDeploy || !apierrors.IsForbidden(err) {
			return err
		}
		return nil
	})
}

// refused checks that err is the API server's refusal of the account.
func (a account) refused(op string, err error) {
	a.t.Helper()
	if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), a.user()) {
		a.t.Fatalf("%s with rights to Helm's storage only: %v, want forbidden naming %s", op, err, a.user())
	}
}

// image checks the image of the release's Deployment ("" for none).
func (a account) image(after, want string) {
	a.t.Helper()
	if got := liveImage(a.t, a.cs, a.ns, "app-app"); got != want {
		a.t.Errorf("after the %s the Deployment's image is %q, want %q", after, got, want)
	}
}

// liveImage returns the image of the Deployment ns/name, "" when it
// does not exist (or is being deleted).
func liveImage(t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	if d.DeletionTimestamp != nil || len(d.Spec.Template.Spec.Containers) == 0 {
		return ""
	}
	return d.Spec.Template.Spec.Containers[0].Image
}
