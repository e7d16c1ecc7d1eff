package helm

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestWaitImpersonates checks that the waits of Helm's operations read the
// objects as the manager's service account: a wait for a ConfigMap (ready
// as soon as it exists) is refused while the account may not read
// ConfigMaps, and ends once it may. With strata's own credentials it would
// end at once.
func TestWaitImpersonates(t *testing.T) {
	t.Parallel()
	c := testcluster.Get(t)
	ns := c.Namespace(t, "helm-impwait")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ready", Namespace: ns}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "waiter", Namespace: ns}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin, err := NewManager(c.RESTConfig(), Options{PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m, err := admin.Impersonate(ns + "/waiter")
	if err != nil {
		t.Fatal(err)
	}
	wait := func() error {
		cfg, err := m.actionConfig(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		res, err := cfg.KubeClient.Build(strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ready\n  namespace: "+ns+"\n"), false)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.KubeClient.Wait(res, 10*time.Second)
	}
	user := "system:serviceaccount:" + ns + ":waiter"
	if err := wait(); err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), user) {
		t.Fatalf("wait without rights: %v, want forbidden naming %s", err, user)
	}

	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "waiter", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "waiter", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "waiter"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "waiter", Namespace: ns}}}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for err := wait(); err != nil; err = wait() {
		if time.Now().After(deadline) {
			t.Fatalf("wait with the right to get ConfigMaps: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
