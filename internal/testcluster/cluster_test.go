package testcluster_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-gitops/strata/internal/testcluster"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		ownCluster(dir)
	}
	testcluster.Main(m)
}

// TestDeploymentBecomesAvailable proves that the API server, the controller
// manager, the scheduler and kwok work together.
func TestDeploymentBecomesAvailable(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "deploy")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if available(d) && d.Status.AvailableReplicas == replicas {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("deployment not Available: %+v", d.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != testcluster.NodeName || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: node %q phase %s, want Running on %s", p.Name, p.Spec.NodeName, p.Status.Phase, testcluster.NodeName)
		}
	}
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// TestRBACIsEnforced proves that authorization is real: a user without
// rights is refused, the same user in a group bound to a Role succeeds.
func TestRBACIsEnforced(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "rbac")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	group := testcluster.UniqueName("readers")
	_, err = admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-configmaps"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "readers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "read-configmaps"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	outsider, err := c.User("mallory")
	if err != nil {
		t.Fatal(err)
	}
	reader, err := c.User("alice", group)
	if err != nil {
		t.Fatal(err)
	}
	cs := func(u *testcluster.User) *kubernetes.Clientset {
		cs, err := kubernetes.NewForConfig(u.Config)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	_, err = cs(outsider).CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("user without rights listing configmaps: got %v, want forbidden", err)
	}
	if !strings.Contains(err.Error(), `"mallory"`) {
		t.Errorf("forbidden error does not name the user: %v", err)
	}
	if _, err := cs(reader).CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("user in bound group listing configmaps: %v", err)
	}
	// The role grants reading, not writing.
	_, err = cs(reader).CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("reader creating a configmap: got %v, want forbidden", err)
	}

	// Impersonation is authorized by RBAC too: alice may not impersonate.
	imp := *reader.Config
	imp.Impersonate.UserName = "system:admin"
	impCS, err := kubernetes.NewForConfig(&imp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impCS.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("impersonation without rights: got %v, want forbidden", err)
	}
}

// TestServerVersion checks what Helm charts with a kubeVersion constraint
// and `kubectl version` see.
func TestServerVersion(t *testing.T) {
	c := testcluster.Get(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != testcluster.DefaultVersions.Kubernetes || v.Major != "1" || v.Minor != "37" {
		t.Errorf("server version = %s (major %q minor %q), want %s", v.GitVersion, v.Major, v.Minor, testcluster.DefaultVersions.Kubernetes)
	}
	// The harness's kubectl is of the same version, and says so.
	out := c.Kubectl(t, "version")
	for _, want := range []string{"Client Version: " + testcluster.DefaultVersions.Kubernetes, "Server Version: " + testcluster.DefaultVersions.Kubernetes} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl version does not show %q:\n%s", want, out)
		}
	}
}
