package helm_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
)

// unschedulable are values whose pods no node can run: the wait times out.
func unschedulable(image string) map[string]any {
	return map[string]any{"image": image, "nodeSelector": map[string]any{"strata.dev/none": "nowhere"}}
}

func TestFailedInstallIsRetriedThenUninstalled(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-inst-fail")
	spec := helm.ReleaseSpec{
		Name: "broken", Namespace: ns, Chart: demoChart("1.0.0"),
		Values:  unschedulable("nginx:1.0"),
		Timeout: 3 * time.Second,
		Install: helm.InstallRemediation{Retries: 1},
	}
	p := plan(t, m, spec)
	events := make(chan helm.Event, 64)
	res, err := m.Apply(context.Background(), p, events)
	close(events)
	if err == nil {
		t.Fatalf("install of unschedulable pods succeeded: %+v", res)
	}
	if res.Attempts != 2 || res.Remediated != helm.RemediateUninstall || res.Revision != 0 {
		t.Fatalf("result: %+v", res)
	}
	var got []string
	for e := range events {
		got = append(got, string(e.Type)+":"+string(e.Action))
	}
	want := []string{
		"started:install", "failed:install", "remediated:uninstall", "retry:install",
		"started:install", "failed:install", "remediated:uninstall",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if p := plan(t, m, spec); p.Action != helm.ActionInstall {
		t.Fatalf("plan after remediated install: %s, want install", p.Action)
	}
}

func TestKeepLastFailureThenRollbackPlan(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-keep")
	good := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Timeout: time.Minute}
	apply(t, m, plan(t, m, good))

	bad := good
	bad.Values = unschedulable("nginx:1.0")
	bad.Timeout = 3 * time.Second
	bad.Upgrade = helm.UpgradeRemediation{KeepLastFailure: true}
	res, err := m.Apply(context.Background(), plan(t, m, bad), nil)
	if err == nil || res.Status != "failed" || res.Revision != 2 || res.Remediated != "" {
		t.Fatalf("failed upgrade kept: %+v, %v", res, err)
	}

	// Back to the deployed spec: a rollback, not another upgrade.
	p := plan(t, m, good)
	if p.Action != helm.ActionRollback || p.RollbackTo != 1 {
		t.Fatalf("plan: %s (%s) to %d, want rollback to 1", p.Action, p.Reason, p.RollbackTo)
	}
	if res := apply(t, m, p); res.Revision != 3 || res.Status != "deployed" {
		t.Fatalf("rollback result: %+v", res)
	}
	noChanges(t, m, good)
}

func TestUninstallKeepHistoryAndReinstall(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-hist")
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))
	res, err := m.Uninstall(context.Background(), "app", ns, helm.UninstallOptions{KeepHistory: true}, nil)
	if err != nil || res.Status != "uninstalled" || res.Revision != 1 {
		t.Fatalf("uninstall: %+v, %v", res, err)
	}
	if out := helmCLI(t, c)("history", "app", "-n", ns); !strings.Contains(out, "uninstalled") {
		t.Fatalf("helm history after keep_history uninstall:\n%s", out)
	}
	p := plan(t, m, spec)
	if p.Action != helm.ActionInstall || p.Reason != "uninstalled (history kept)" {
		t.Fatalf("plan: %s (%s)", p.Action, p.Reason)
	}
	if res := apply(t, m, p); res.Status != "deployed" || res.Revision != 2 {
		t.Fatalf("reinstall: %+v", res)
	}
	noChanges(t, m, spec)
}

func TestStalePlanIsRefused(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-stale")
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))
	spec.Values = map[string]any{"greeting": "one"}
	p1 := plan(t, m, spec)
	spec.Values = map[string]any{"greeting": "two"}
	apply(t, m, plan(t, m, spec))
	if _, err := m.Apply(context.Background(), p1, nil); !errors.Is(err, helm.ErrStalePlan) {
		t.Fatalf("apply of a stale plan: %v, want ErrStalePlan", err)
	}
}

func TestSavedPlanNeedsThePlannedChartAndValues(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-saved")
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Values: map[string]any{"password": "pw-1"}, Timeout: time.Minute}
	b, err := json.Marshal(plan(t, m, spec))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "pw-1") {
		t.Fatalf("saved plan holds a value: %s", b)
	}
	read := func() *helm.ReleasePlan {
		var p helm.ReleasePlan
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	p := read()
	p.Spec.Chart, p.Spec.Values = demoChart("1.0.0"), map[string]any{"password": "pw-2"}
	if _, err := m.Apply(context.Background(), p, nil); !errors.Is(err, helm.ErrStalePlan) {
		t.Fatalf("apply with other values: %v, want ErrStalePlan", err)
	}
	p = read()
	p.Spec.Chart, p.Spec.Values = demoChart("1.0.0"), map[string]any{"password": "pw-1"}
	if res := apply(t, m, p); res.Status != "deployed" {
		t.Fatalf("apply of the saved plan: %+v", res)
	}
	noChanges(t, m, spec)
}

func TestCRDPolicyCreateReplace(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-crdrep")
	group := strings.ReplaceAll(testcluster.UniqueName("h8"), "-", "") + ".example.com"
	t.Cleanup(func() { deleteCRD(t, c, "widgets."+group) })
	spec := helm.ReleaseSpec{Name: "w", Namespace: ns, Chart: crdChart(group), Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))

	// A new chart version whose CRD gains a short name.
	ch := crdChart(group)
	ch.Metadata.Version = "0.2.0"
	ch.Files[0].Data = []byte(strings.Replace(string(ch.Files[0].Data), "singular: widget}", "singular: widget, shortNames: [wdg]}", 1))
	spec.Chart = ch
	spec.UpgradeCRDs = helm.CRDsCreate
	p := plan(t, m, spec)
	if got := changeOf(p, "CustomResourceDefinition", "widgets."+group); got != nil {
		t.Fatalf("create policy plans a change of an existing CRD: %+v", got)
	}
	spec.UpgradeCRDs = helm.CRDsCreateReplace
	p = plan(t, m, spec)
	crd := changeOf(p, "CustomResourceDefinition", "widgets."+group)
	if crd == nil || crd.Action != kube.ActionUpdate || len(crd.Fields) != 1 || crd.Fields[0].Path != "spec.names.shortNames" {
		t.Fatalf("create_replace plan of the CRD: %+v", crd)
	}
	apply(t, m, p)
	out := c.Kubectl(t, "get", "crd", "widgets."+group, "-o", "jsonpath={.spec.names.shortNames[0]}")
	if out != "wdg" {
		t.Fatalf("CRD short name after create_replace: %q", out)
	}
	noChanges(t, m, spec)
}

func TestFailedUpgradeUninstallRemediation(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-up-uninst")
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))
	bad := spec
	bad.Values = unschedulable("nginx:1.0")
	bad.Timeout = 3 * time.Second
	bad.Upgrade = helm.UpgradeRemediation{Strategy: helm.RemediateUninstall}
	res, err := m.Apply(context.Background(), plan(t, m, bad), nil)
	if err == nil || res.Remediated != helm.RemediateUninstall || res.Revision != 0 {
		t.Fatalf("failed upgrade with uninstall remediation: %+v, %v", res, err)
	}
	if p := plan(t, m, spec); p.Action != helm.ActionInstall {
		t.Fatalf("plan after uninstall remediation: %s, want install", p.Action)
	}
}

func TestCreateNamespaceAndMaxHistory(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := testcluster.UniqueName("helm-newns")
	t.Cleanup(func() {
		c.KubectlCommand(t, "delete", "namespace", ns, "--wait=false").Run()
	})
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), CreateNamespace: true, MaxHistory: 2, Timeout: time.Minute}
	p := plan(t, m, spec)
	if p.Action != helm.ActionInstall || len(p.Changes) == 0 {
		t.Fatalf("plan into a missing namespace: %s %+v", p.Action, p.Changes)
	}
	// The namespace the install creates is part of the plan, so that
	// blocks depending on the release may plan objects in it.
	if c := p.Changes[0]; c.Ref.String() != "Namespace/"+ns || c.Action != "create" || c.Desired == nil {
		t.Errorf("first change %s %s, want create Namespace/%s", c.Action, c.Ref, ns)
	}
	apply(t, m, p)
	for _, g := range []string{"a", "b", "c"} {
		spec.Values = map[string]any{"greeting": g}
		apply(t, m, plan(t, m, spec))
	}
	hist := helmCLI(t, c)("history", "app", "-n", ns, "-o", "json")
	var revs []struct {
		Revision int `json:"revision"`
	}
	if err := json.Unmarshal([]byte(hist), &revs); err != nil {
		t.Fatalf("helm history: %v\n%s", err, hist)
	}
	if len(revs) != 2 || revs[1].Revision != 4 {
		t.Fatalf("history with max_history 2: %+v", revs)
	}
}
