package planner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
)

func TestDriftKustomization(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "drift")
	dir := driftStack(t, ns)
	opts := testOptions(c, dir)
	applyStack(t, opts)

	rep := checkDrift(t, opts)
	if got := summary(rep); len(got) != 0 || rep.HasErrors() {
		t.Fatalf("drift right after apply: %v, errors %v", got, rep.Blocks)
	}
	// Every object renders as recorded (no "checked for deletion only"
	// notes) and none needs a dry run.
	if b := rep.Block("kustomization.app"); b == nil || b.Checked != 4 || b.DryRuns != 0 || len(b.Notes) != 0 {
		t.Errorf("kustomization.app = %+v, want 4 objects checked without dry runs or notes", b)
	}
	if b := rep.Block("kustomization.paused"); b == nil || !b.Suspended {
		t.Errorf("kustomization.paused = %+v, want suspended", b)
	}

	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	c.Kubectl(t, "-n", ns, "scale", "deployment", "web", "--replicas=3")
	c.Kubectl(t, "-n", ns, "delete", "service", "web")
	c.Kubectl(t, "-n", ns, "patch", "secret", "creds", "--type=merge", "-p", `{"stringData":{"password":"changed-by-hand"}}`)
	// A label strata does not manage is not drift.
	c.Kubectl(t, "-n", ns, "label", "configmap", "settings", "extra=yes")

	rep = checkDrift(t, opts)
	want := []string{
		"deleted kustomization.app/Service/" + ns + "/web ",
		"modified kustomization.app/ConfigMap/" + ns + "/settings data.mode",
		"modified kustomization.app/Deployment.apps/" + ns + "/web spec.replicas",
		"modified kustomization.app/Secret/" + ns + "/creds data.password",
	}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
	for _, b := range rep.Blocks {
		for _, it := range b.Items {
			for _, f := range it.Fields {
				switch {
				case strings.Contains(it.Address, "Secret/") && !f.Sensitive:
					t.Errorf("%s %s not masked: %v -> %v", it.Address, f.Path, f.Live, f.Applied)
				case strings.Contains(it.Address, "ConfigMap/") && (f.Live != "slow" || f.Applied != "fast"):
					t.Errorf("%s %s: %v -> %v, want slow -> fast", it.Address, f.Path, f.Live, f.Applied)
				}
			}
		}
	}
	// The report is what every renderer prints from (internal/view tests
	// that they print masked values as such).
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "changed-by-hand") ||
		strings.Contains(string(b), "aHVudGVy") || strings.Contains(string(b), "Y2hhbmdlZC1ieS1oYW5k") {
		t.Errorf("report reveals a secret value:\n%s", b)
	}
	if !strings.Contains(string(b), "spec.replicas") {
		t.Errorf("report does not name spec.replicas:\n%s", b)
	}

	// Applying again undoes the drift.
	applyStack(t, opts)
	if got := summary(checkDrift(t, opts)); len(got) != 0 {
		t.Errorf("drift after a corrective apply: %v", got)
	}
}

// TestDriftWithoutRender checks that a drift check with no baseline (a
// fresh CronJob pod) clears objects that changed since the apply but whose
// applied fields strata still owns, from the field ownership recorded in
// the state, without rendering the block: the configuration on disk has
// changed since the apply, so a render could not vouch for any object.
func TestDriftWithoutRender(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "driftnr")
	dir := driftStack(t, ns)
	opts := testOptions(c, dir)
	applyStack(t, opts)

	// Changes by others to fields strata does not apply.
	c.Kubectl(t, "-n", ns, "label", "configmap", "settings", "owner=team-a")
	c.Kubectl(t, "-n", ns, "annotate", "deployment", "web", "note=by-hand")
	// The configuration moves on after the apply.
	p := filepath.Join(dir, "app", "objects.yaml")
	y, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(y), "mode: fast", "mode: faster")), 0o644); err != nil {
		t.Fatal(err)
	}

	rep := checkDrift(t, opts)
	b := rep.Block("kustomization.app")
	if b == nil || b.Checked != 4 || b.DryRuns != 0 || len(b.Notes) != 0 || len(b.Items) != 0 || b.Error != "" {
		t.Fatalf("kustomization.app = %+v, want 4 objects checked, clean, without dry runs or notes", b)
	}

	// A field strata applied, edited: reported, although the fields cannot
	// be named against a configuration that has moved on.
	c.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	rep = checkDrift(t, opts)
	want := []string{"modified kustomization.app/ConfigMap/" + ns + "/settings "}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Errorf("drift (-want +got):\n%s", d)
	}
	if b := rep.Block("kustomization.app"); b == nil || len(b.Items) != 1 || !strings.Contains(b.Items[0].Message, "strata plan") {
		t.Errorf("kustomization.app = %+v, want one item that points to strata plan", b)
	}
}

// TestDriftDefaultNamespace checks that an object rendered without a
// namespace (it goes to "default") is compared field by field: the block
// rendered again must digest as the apply recorded it.
func TestDriftDefaultNamespace(t *testing.T) {
	c := testcluster.Get(t)
	name := testcluster.UniqueName("nons")
	dir := writeStack(t, map[string]string{
		"main.hcl":    "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {mode: fast}\n",
	})
	opts := testOptions(c, dir)
	applyStack(t, opts)
	t.Cleanup(func() {
		_, _ = c.KubectlCommand(t, "delete", "configmap", name).CombinedOutput()
	})

	c.Kubectl(t, "patch", "configmap", name, "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	rep := checkDrift(t, opts)
	want := []string{"modified kustomization.app/ConfigMap/default/" + name + " data.mode"}
	if d := cmp.Diff(want, summary(rep)); d != "" {
		t.Errorf("drift (-want +got):\n%s\nblock: %+v", d, rep.Block("kustomization.app"))
	}
}
