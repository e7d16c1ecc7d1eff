package helm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
)

// clientset returns a client with the cluster's admin credentials.
func clientset(t *testing.T, c *testcluster.Cluster) *kubernetes.Clientset {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// serviceAccount creates a service account without any rights in ns.
func serviceAccount(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// grant gives the service account ns/name every right on resources (of
// any API group) in ns.
func grant(t *testing.T, cs kubernetes.Interface, ns, name string, resources ...string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: resources, Verbs: []string{"*"}}}}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually retries f until it succeeds or 20s passed (RBAC changes take
// a moment to reach the authorizer's cache).
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestImpersonatedRelease plans and applies a release as a service account:
// without rights in the namespace the plan is refused (Helm's storage and
// the dry runs are the account's, the error names it); with rights to
// ConfigMaps and Secrets only, installing the chart's Deployment is
// refused; with all rights install, upgrade and uninstall succeed.
func TestImpersonatedRelease(t *testing.T) {
	t.Parallel()
	admin, c := newManager(t)
	ns := c.Namespace(t, "helm-imp")
	cs := clientset(t, c)
	serviceAccount(t, cs, ns, "deployer")
	m, err := admin.Impersonate(ns + "/deployer")
	if err != nil {
		t.Fatal(err)
	}
	if m.ServiceAccount() != ns+"/deployer" {
		t.Fatalf("ServiceAccount() = %q", m.ServiceAccount())
	}
	user := "system:serviceaccount:" + ns + ":deployer"
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Timeout: time.Minute}
	ctx := context.Background()

	_, err = m.Plan(ctx, spec)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), user) {
		t.Fatalf("plan without rights: %v, want forbidden naming %s", err, user)
	}

	// Enough to read and write Helm's storage, not the Deployment.
	grant(t, cs, ns, "deployer", "secrets", "configmaps")
	eventually(t, "plan with storage rights", func() error {
		_, err = m.Plan(ctx, spec)
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "deployments") {
			return errors.New("want the Deployment's dry run forbidden, got " + errString(err))
		}
		return nil
	})
	if !strings.Contains(err.Error(), user) {
		t.Errorf("forbidden dry run %q does not name %s", err, user)
	}

	// All rights in the namespace: the account installs, upgrades and
	// uninstalls.
	grantAll := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}
	if _, err := cs.RbacV1().Roles(ns).Update(ctx, grantAll, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var p *helm.ReleasePlan
	eventually(t, "plan with all rights", func() (err error) {
		p, err = m.Plan(ctx, spec)
		return err
	})
	if p.Action != helm.ActionInstall {
		t.Fatalf("plan: %s", p.Action)
	}
	apply(t, m, p)
	spec.Values = map[string]any{"greeting": "hi"}
	if res := apply(t, m, plan(t, m, spec)); res.Revision != 2 {
		t.Fatalf("upgrade as the account: %+v", res)
	}
	noChanges(t, m, spec)
	if _, err := m.Uninstall(ctx, "app", ns, helm.UninstallOptions{}, nil); err != nil {
		t.Fatalf("uninstall as the account: %v", err)
	}
	if p := plan(t, admin, spec); p.Action != helm.ActionInstall {
		t.Fatalf("plan after the account's uninstall: %s", p.Action)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestUpgradeCRDPolicy upgrades a chart whose new version changes one CRD
// and adds another, under each upgrade CRD policy (Flux's upgrade.crds):
// skip writes neither, create adds the new one only, create_replace adds
// the new one and replaces the changed one. The plan says the same.
func TestUpgradeCRDPolicy(t *testing.T) {
	t.Parallel()
	for _, policy := range []helm.CRDPolicy{helm.CRDsSkip, helm.CRDsCreate, helm.CRDsCreateReplace} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			m, c := newManager(t)
			ns := c.Namespace(t, "helm-upcrd")
			group := strings.ReplaceAll(testcluster.UniqueName("uc"), "-", "") + ".example.com"
			widgets, gadgets := "widgets."+group, "gadgets."+group
			t.Cleanup(func() { deleteCRD(t, c, widgets); deleteCRD(t, c, gadgets) })
			spec := helm.ReleaseSpec{Name: "w", Namespace: ns, Chart: crdChart(group), Timeout: time.Minute}
			apply(t, m, plan(t, m, spec))

			v2 := crdChart(group)
			v2.Metadata.Version = "0.2.0"
			v2.Files[0].Data = []byte(strings.Replace(string(v2.Files[0].Data), "singular: widget}", "singular: widget, shortNames: [wdg]}", 1))
			gadget := strings.NewReplacer("widgets", "gadgets", "Widget", "Gadget", "widget", "gadget").Replace(string(crdChart(group).Files[0].Data))
			v2.Files = append(v2.Files, &chart.File{Name: "crds/gadgets.yaml", Data: []byte(gadget)})
			spec.Chart, spec.UpgradeCRDs = v2, policy
			p := plan(t, m, spec)
			planned := map[string]kube.Action{}
			for _, ch := range p.Changes {
				if ch.Ref.Kind == "CustomResourceDefinition" {
					planned[ch.Ref.Name] = ch.Action
				}
			}
			apply(t, m, p)

			dyn, err := dynamic.NewForConfig(c.RESTConfig())
			if err != nil {
				t.Fatal(err)
			}
			_, err = dyn.Resource(crdGVR).Get(context.Background(), gadgets, metav1.GetOptions{})
			gadgetsExist := err == nil
			w, err := dyn.Resource(crdGVR).Get(context.Background(), widgets, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			short, _, _ := unstructuredStrings(w.Object, "spec", "names", "shortNames")
			replaced := len(short) == 1 && short[0] == "wdg"

			wantCreate, wantReplace := policy != helm.CRDsSkip, policy == helm.CRDsCreateReplace
			if gadgetsExist != wantCreate || replaced != wantReplace {
				t.Errorf("after the upgrade: new CRD created = %v (want %v), changed CRD replaced = %v (want %v)",
					gadgetsExist, wantCreate, replaced, wantReplace)
			}
			if (planned[gadgets] == kube.ActionCreate) != wantCreate || (planned[widgets] == kube.ActionUpdate) != wantReplace {
				t.Errorf("planned CRD changes %v", planned)
			}
		})
	}
}

func unstructuredStrings(obj map[string]any, fields ...string) ([]string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[f]
	}
	list, _ := cur.([]any)
	var out []string
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out, list != nil, nil
}

// hookChart is a chart with a Deployment and a ConfigMap, and hooks: a
// ConfigMap per hook event that records it ran, and, with stuckHook set, a
// suspended Job (it never completes) on pre-rollback and pre-delete. With fail set,
// it renders a pre-upgrade hook the API server refuses (hooks are not
// planned), so that an upgrade to it fails at once.
func hookChart() *chart.Chart {
	hookCM := `{{- range list "post-install" "post-upgrade" "pre-rollback" "pre-delete" }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $.Release.Name }}-{{ . }}
  annotations: {"helm.sh/hook": {{ . | quote }}}
data: {ran: "yes"}
{{- if and $.Values.stuckHook (has . (list "pre-rollback" "pre-delete")) }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $.Release.Name }}-{{ . }}-stuck
  annotations: {"helm.sh/hook": {{ . | quote }}}
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
{{- end }}
{{- end }}
`
	fail := `{{- if .Values.fail }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: Not_A_Valid_Name
  annotations: {"helm.sh/hook": pre-upgrade}
{{- end }}
`
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "hooks", Version: "0.1.0"},
		Values:   map[string]any{"image": "nginx:1.0", "greeting": "hello", "fail": false, "stuckHook": false},
		Templates: []*chart.File{
			{Name: "templates/deployment.yaml", Data: []byte(deploymentTmpl)},
			{Name: "templates/configmap.yaml", Data: []byte(configMapTmpl)},
			{Name: "templates/hooks.yaml", Data: []byte(hookCM)},
			{Name: "templates/fail.yaml", Data: []byte(fail)},
		},
	}
}

// podUIDs returns the UIDs of the live (not deleting) pods of a release's
// Deployment.
func podUIDs(t *testing.T, cs kubernetes.Interface, ns, release string) map[string]bool {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + release})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[string(p.UID)] = true
		}
	}
	return out
}

func exists(t *testing.T, cs kubernetes.Interface, ns, configMap string) bool {
	t.Helper()
	_, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), configMap, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestRollbackOptions fails an upgrade so that it is rolled back, with and
// without each rollback option: force replaces objects (an annotation added
// in the cluster is gone; a patch keeps it), recreate restarts the pods of
// the Deployment, disable_hooks skips the pre-rollback hook.
func TestRollbackOptions(t *testing.T) {
	t.Parallel()
	tests := map[string]helm.RollbackOptions{
		"force_recreate_hooks": {Force: true, Recreate: true},
		"defaults_no_hooks":    {DisableHooks: true},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, c := newManager(t)
			cs := clientset(t, c)
			ns := c.Namespace(t, "helm-rb")
			ctx := context.Background()
			spec := helm.ReleaseSpec{Name: "rb", Namespace: ns, Chart: hookChart(), Timeout: time.Minute, Rollback: opts}
			apply(t, m, plan(t, m, spec))
			var pods map[string]bool
			eventually(t, "pods of the Deployment", func() error {
				if pods = podUIDs(t, cs, ns, "rb"); len(pods) == 0 {
					return errors.New("no pods yet")
				}
				return nil
			})
			cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "rb-config", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cm.Annotations["example.com/edited"] = "in the cluster"
			if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}

			bad := spec
			bad.Values = map[string]any{"fail": true}
			res, err := m.Apply(ctx, plan(t, m, bad), nil)
			if err == nil || res.Remediated != helm.RemediateRollback || res.Status != "deployed" {
				t.Fatalf("failed upgrade: %+v, %v", res, err)
			}

			cm, err = cs.CoreV1().ConfigMaps(ns).Get(ctx, "rb-config", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, edited := cm.Annotations["example.com/edited"]
			if edited == opts.Force {
				t.Errorf("force = %v: the annotation added in the cluster survived the rollback = %v", opts.Force, edited)
			}
			after := podUIDs(t, cs, ns, "rb")
			kept := 0
			for uid := range pods {
				if after[uid] {
					kept++
				}
			}
			if opts.Recreate && kept > 0 || !opts.Recreate && kept != len(pods) {
				t.Errorf("recreate = %v: %d of %d pods survived the rollback", opts.Recreate, kept, len(pods))
			}
			if ran := exists(t, cs, ns, "rb-pre-rollback"); ran == opts.DisableHooks {
				t.Errorf("disable_hooks = %v: the pre-rollback hook ran = %v", opts.DisableHooks, ran)
			}
		})
	}
}

// TestInstallUpgradeDisableHooks installs with the install's hooks
// disabled and upgrades with the upgrade's: each setting skips only its own
// operation's hooks (install.disable_hooks and upgrade.disable_hooks), and
// the plan of each operation lists the hooks it will run.
func TestInstallUpgradeDisableHooks(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	cs := clientset(t, c)
	for _, tc := range []struct{ install, upgrade bool }{{true, false}, {false, true}} {
		ns := c.Namespace(t, "helm-hooks")
		spec := helm.ReleaseSpec{Name: "h", Namespace: ns, Chart: hookChart(), Timeout: time.Minute,
			DisableHooks: tc.install, UpgradeDisableHooks: tc.upgrade}
		p := plan(t, m, spec)
		if listed := len(p.Hooks) > 0; listed == tc.install {
			t.Errorf("install disable_hooks = %v: the install plan lists hooks %+v", tc.install, p.Hooks)
		}
		apply(t, m, p)
		spec.Values = map[string]any{"greeting": "again"}
		p = plan(t, m, spec)
		if listed := len(p.Hooks) > 0; listed == tc.upgrade {
			t.Errorf("upgrade disable_hooks = %v: the upgrade plan lists hooks %+v", tc.upgrade, p.Hooks)
		}
		apply(t, m, p)
		if ran := exists(t, cs, ns, "h-post-install"); ran == tc.install {
			t.Errorf("install disable_hooks = %v: the post-install hook ran = %v", tc.install, ran)
		}
		if ran := exists(t, cs, ns, "h-post-upgrade"); ran == tc.upgrade {
			t.Errorf("upgrade disable_hooks = %v: the post-upgrade hook ran = %v", tc.upgrade, ran)
		}
	}
}

// TestRollbackTimeout rolls a failed upgrade back through a pre-rollback
// hook that never completes: the rollback gives up after the rollback
// timeout, not the release's.
func TestRollbackTimeout(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-rbto")
	spec := helm.ReleaseSpec{Name: "rb", Namespace: ns, Chart: hookChart(), Timeout: 90 * time.Second,
		Values: map[string]any{"stuckHook": true}, Rollback: helm.RollbackOptions{Timeout: 2 * time.Second}}
	apply(t, m, plan(t, m, spec))
	bad := spec
	bad.Values = map[string]any{"stuckHook": true, "fail": true}
	p := plan(t, m, bad)
	start := time.Now()
	res, err := m.Apply(context.Background(), p, nil)
	elapsed := time.Since(start)
	if err == nil || res.Remediated != "" || !strings.Contains(err.Error(), "remediation (rollback) failed") {
		t.Fatalf("failed upgrade with a stuck rollback hook: %+v, %v", res, err)
	}
	if elapsed > 45*time.Second {
		t.Errorf("the rollback took %s: its timeout (2s) was not applied", elapsed)
	}
}

// TestUninstallOptions uninstalls with and without disable_hooks (the
// pre-delete hook runs or not), and through a pre-delete hook that never
// completes: the uninstall gives up after its timeout.
func TestUninstallOptions(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	cs := clientset(t, c)
	ctx := context.Background()
	for _, disable := range []bool{false, true} {
		ns := c.Namespace(t, "helm-un")
		spec := helm.ReleaseSpec{Name: "un", Namespace: ns, Chart: hookChart(), Timeout: time.Minute}
		apply(t, m, plan(t, m, spec))
		if _, err := m.Uninstall(ctx, "un", ns, helm.UninstallOptions{DisableHooks: disable}, nil); err != nil {
			t.Fatalf("uninstall: %v", err)
		}
		if ran := exists(t, cs, ns, "un-pre-delete"); ran == disable {
			t.Errorf("disable_hooks = %v: the pre-delete hook ran = %v", disable, ran)
		}
	}

	ns := c.Namespace(t, "helm-unto")
	spec := helm.ReleaseSpec{Name: "un", Namespace: ns, Chart: hookChart(), Timeout: time.Minute, Values: map[string]any{"stuckHook": true}}
	apply(t, m, plan(t, m, spec))
	start := time.Now()
	_, err := m.Uninstall(ctx, "un", ns, helm.UninstallOptions{Timeout: 2 * time.Second}, nil)
	if err == nil {
		t.Fatal("uninstall through a stuck pre-delete hook succeeded")
	}
	if elapsed := time.Since(start); elapsed > 45*time.Second {
		t.Errorf("the uninstall took %s: its timeout (2s) was not applied", elapsed)
	}
}

// generatedNameChart is a chart with a ConfigMap and a post-install and
// post-upgrade hook named by generateName; with the value plain set, it
// also renders a ConfigMap (not a hook) named by generateName.
func generatedNameChart() *chart.Chart {
	hook := `apiVersion: v1
kind: ConfigMap
metadata:
  generateName: {{ .Release.Name }}-ran-
  annotations: {"helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-delete-policy": hook-succeeded}
data: {ran: "yes"}
`
	plain := `{{- if .Values.plain }}
apiVersion: v1
kind: ConfigMap
metadata:
  generateName: {{ .Release.Name }}-plain-
data: {a: b}
{{- end }}
`
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "gen", Version: "0.1.0"},
		Values:   map[string]any{"greeting": "hello", "plain": false},
		Templates: []*chart.File{
			{Name: "templates/configmap.yaml", Data: []byte(configMapTmpl)},
			{Name: "templates/hook.yaml", Data: []byte(hook)},
			{Name: "templates/plain.yaml", Data: []byte(plain)},
		},
	}
}

// TestUnnamedHookIsAPlanError plans a chart whose hook has a generateName
// and no name. Helm creates such a hook and then fails the install looking
// it up by its empty name, so the plan of an install or upgrade that runs
// it fails, naming the hook and the setting that skips it; with that
// setting the plan and the apply succeed. An object that is not a hook and
// has no name fails the plan too, naming its template.
func TestUnnamedHookIsAPlanError(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-genname")
	ctx := context.Background()
	spec := helm.ReleaseSpec{Name: "g", Namespace: ns, Chart: generatedNameChart(), Timeout: time.Minute}
	_, err := m.Plan(ctx, spec)
	if want := "the post-install hook ConfigMap from gen/templates/hook.yaml has no metadata.name (a generateName only): " +
		"Helm would create it and then fail the install looking it up by name; give the hook a name, or set install.disable_hooks = true"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("plan of an install running an unnamed hook: %v, want %q", err, want)
	}
	spec.DisableHooks = true
	apply(t, m, plan(t, m, spec))

	spec.Values = map[string]any{"greeting": "again"}
	if _, err := m.Plan(ctx, spec); err == nil || !strings.Contains(err.Error(), "the post-upgrade hook ConfigMap from gen/templates/hook.yaml has no metadata.name") ||
		!strings.Contains(err.Error(), "set upgrade.disable_hooks = true") {
		t.Fatalf("plan of an upgrade running an unnamed hook: %v", err)
	}
	spec.UpgradeDisableHooks = true
	apply(t, m, plan(t, m, spec))

	spec.Values = map[string]any{"plain": true}
	if _, err := m.Plan(ctx, spec); err == nil || !strings.Contains(err.Error(), "gen/templates/plain.yaml renders a ConfigMap without metadata.name") {
		t.Fatalf("plan of an object without a name: %v", err)
	}
}

// rollbackGenChart has a pre-rollback hook with a generateName only, and
// a pre-upgrade hook with an invalid name when fail is set: the upgrade
// then fails at once.
func rollbackGenChart() *chart.Chart {
	hook := `apiVersion: v1
kind: ConfigMap
metadata:
  generateName: {{ .Release.Name }}-rolledback-
  annotations: {"helm.sh/hook": pre-rollback, "helm.sh/hook-delete-policy": hook-succeeded}
data: {ran: "yes"}
`
	fail := `{{- if .Values.fail }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: Not_A_Valid_Name
  annotations: {"helm.sh/hook": pre-upgrade}
{{- end }}
`
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "rbgen", Version: "0.1.0"},
		Values:   map[string]any{"greeting": "hello", "fail": false},
		Templates: []*chart.File{
			{Name: "templates/configmap.yaml", Data: []byte(configMapTmpl)},
			{Name: "templates/hook.yaml", Data: []byte(hook)},
			{Name: "templates/fail.yaml", Data: []byte(fail)},
		},
	}
}

// TestUnnamedRollbackHookOfDeployedRevision: when a failed upgrade is
// rolled back (upgrade remediation), Helm runs the rollback hooks of the
// deployed revision it returns to; one with a generateName only fails that
// rollback with real Helm and leaves the release failed. So the plan of
// such an upgrade is an error naming the hook, the revision and
// rollback.disable_hooks; with that setting the failed upgrade is rolled
// back, and an upgrade that is not rolled back (the last failure kept) is
// planned as before.
func TestUnnamedRollbackHookOfDeployedRevision(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-rbgen")
	ctx := context.Background()
	spec := helm.ReleaseSpec{Name: "rb", Namespace: ns, Chart: rollbackGenChart(), Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))
	bad := spec
	bad.Values = map[string]any{"fail": true}

	_, err := m.Plan(ctx, bad)
	var uh *helm.UnnamedHookError
	if !errors.As(err, &uh) || uh.RollbackTo != 1 ||
		!strings.Contains(err.Error(), "the pre-rollback hook ConfigMap from rbgen/templates/hook.yaml of revision 1 has no metadata.name") ||
		!strings.Contains(err.Error(), "set rollback.disable_hooks = true") {
		t.Fatalf("plan of an upgrade rolled back to a revision with an unnamed rollback hook: %v", err)
	}

	// What the error spares: with the hook run, Helm's rollback fails.
	withHooks := bad
	withHooks.Rollback.DisableHooks = true
	p := plan(t, m, withHooks)
	p.Spec.Rollback.DisableHooks = false
	res, err := m.Apply(ctx, p, nil)
	if err == nil || !strings.Contains(err.Error(), "remediation (rollback) failed: resource name may not be empty") || res.Remediated != "" {
		t.Fatalf("failed upgrade rolled back with the unnamed hook: %+v, %v; want the rollback to fail", res, err)
	}
	t.Logf("Helm's rollback with the unnamed hook: %v", err)

	// Another release, with the setting the error names.
	spec.Name = "rb2"
	apply(t, m, plan(t, m, spec))
	bad.Name = "rb2"
	kept := bad
	kept.Upgrade = helm.UpgradeRemediation{KeepLastFailure: true}
	if _, err := m.Plan(ctx, kept); err != nil {
		t.Fatalf("plan of an upgrade whose failure is kept: %v", err)
	}
	bad.Rollback.DisableHooks = true
	res, err = m.Apply(ctx, plan(t, m, bad), nil)
	if err == nil || res.Remediated != helm.RemediateRollback || res.Status != "deployed" {
		t.Fatalf("failed upgrade with rollback.disable_hooks: %+v, %v; want it rolled back", res, err)
	}
}

// TestUnnamedDeleteHookOfFailedInstall: the uninstall that remediates a
// failed install runs the failed revision's delete hooks; one with a
// generateName only fails that uninstall with real Helm. So the plan of
// such an install is an error naming uninstall.disable_hooks; with it, or
// with the failed install kept, it is planned.
func TestUnnamedDeleteHookOfFailedInstall(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-delgen")
	ctx := context.Background()
	ch := rollbackGenChart()
	ch.Templates[1].Data = []byte(strings.Replace(string(ch.Templates[1].Data), "pre-rollback", "pre-delete", 1))
	ch.Templates[2].Data = []byte(strings.Replace(string(ch.Templates[2].Data), "pre-upgrade", "pre-install", 1))
	spec := helm.ReleaseSpec{Name: "del", Namespace: ns, Chart: ch, Timeout: time.Minute, Values: map[string]any{"fail": true}}

	_, err := m.Plan(ctx, spec)
	var uh *helm.UnnamedHookError
	if !errors.As(err, &uh) || uh.Remediates != helm.ActionInstall ||
		!strings.Contains(err.Error(), "the pre-delete hook ConfigMap from rbgen/templates/hook.yaml has no metadata.name") ||
		!strings.Contains(err.Error(), "set uninstall.disable_hooks = true") {
		t.Fatalf("plan of an install whose failure is uninstalled, with an unnamed delete hook: %v", err)
	}
	kept := spec
	kept.Install = helm.InstallRemediation{KeepLastFailure: true}
	if _, err := m.Plan(ctx, kept); err != nil {
		t.Fatalf("plan of an install whose failure is kept: %v", err)
	}

	// What the error spares: with the hook run, Helm's uninstall fails.
	withHooks := spec
	withHooks.Uninstall.DisableHooks = true
	p := plan(t, m, withHooks)
	p.Spec.Uninstall.DisableHooks = false
	res, err := m.Apply(ctx, p, nil)
	if err == nil || !strings.Contains(err.Error(), "remediation (uninstall) failed: resource name may not be empty") || res.Remediated != "" {
		t.Fatalf("failed install uninstalled with the unnamed hook: %+v, %v; want the uninstall to fail", res, err)
	}
	t.Logf("Helm's uninstall with the unnamed hook: %v", err)

	spec.Name = "del2"
	spec.Uninstall.DisableHooks = true
	res, err = m.Apply(ctx, plan(t, m, spec), nil)
	if err == nil || res.Remediated != helm.RemediateUninstall {
		t.Fatalf("failed install with uninstall.disable_hooks: %+v, %v; want it uninstalled", res, err)
	}
}
