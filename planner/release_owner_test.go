package planner

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// releaseBlock is a release block installing the local chart charts/NAME
// into ns; extra lines go into the block.
func releaseBlock(name, ns string, extra ...string) string {
	return "release \"" + name + "\" {\n  namespace = \"" + ns + "\"\n  chart     = \"charts/" + name + "\"\n" +
		strings.Join(extra, "\n") + "\n}\n"
}

// chartFiles is a chart NAME whose templates are the given ConfigMaps (in
// the release's namespace).
func chartFiles(name string, configMaps ...string) map[string]string {
	files := map[string]string{"charts/" + name + "/Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n"}
	for _, cm := range configMaps {
		files["charts/"+name+"/templates/"+cm+".yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + cm + "\ndata:\n  k: v\n"
	}
	return files
}

// objectOfRelease returns the change of the object at address among the
// releases' changes, and whether there is one.
func objectOfRelease(p *plan.Plan, address string) (plan.ResourceChange, bool) {
	for _, r := range p.Releases {
		if i := slices.IndexFunc(r.Changes, func(rc plan.ResourceChange) bool { return rc.Address == address }); i >= 0 {
			return r.Changes[i], true
		}
	}
	return plan.ResourceChange{}, false
}

// TestReleasePlanErrors: a release whose chart renders an object that
// exists outside the release is a plan error, not an update that Helm then
// refuses at apply ("exists and cannot be imported into the current
// release"): an object without owner (the error names adopt = true and
// --adopt), one of a kustomization of the stack, one of another release.
// A kustomization rendering an object of a release names that release. An
// object that a release and a kustomization both create is an error naming
// both. Apply refuses such a plan before it changes anything.
func TestReleasePlanErrors(t *testing.T) {
	c := testcluster.Get(t)
	t.Run("without owner", func(t *testing.T) {
		ns := c.Namespace(t, "relnoadopt")
		createConfigMap(t, c, ns, "existing")
		dir := writeStack(t, merge(map[string]string{"main.hcl": releaseBlock("web", ns)}, chartFiles("web", "existing", "fresh")))
		e, p := planStack(t, testOptions(c, dir))
		addr := "release.web/ConfigMap/" + ns + "/existing"
		if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], addr+": the object exists in the cluster outside any Helm release") ||
			!strings.Contains(errs[0], "adopt = true in release.web") || !strings.Contains(errs[0], "strata apply --adopt "+addr) {
			t.Fatalf("plan errors %q; want one for %s with the ways to adopt it", errs, addr)
		}
		if _, ok := objectOfRelease(p, addr); ok {
			t.Errorf("the object of the error is planned too: %+v", p.Releases)
		}
		if _, ok := objectOfRelease(p, "release.web/ConfigMap/"+ns+"/fresh"); !ok || len(p.Releases) != 1 {
			t.Errorf("the rest of the release is not planned: %+v", p.Releases)
		}
		if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
			t.Fatalf("apply: err = %v, want ErrPlanErrors", err)
		}
		if liveConfigMap(t, c, ns, "fresh") != nil {
			t.Error("the refused apply installed the release")
		}
	})
	t.Run("of a kustomization", func(t *testing.T) {
		ns := c.Namespace(t, "relofk")
		files := merge(map[string]string{
			"main.hcl": "kustomization \"k\" {\n  path = \"k\"\n}\n",
			"k/x.yaml": configMap(ns, "x"), "k/y.yaml": configMap(ns, "y"),
		}, chartFiles("web", "x"))
		dir := writeStack(t, files)
		applyStack(t, testOptions(c, dir))
		// x moves from the kustomization to the release.
		writeFiles(t, dir, map[string]string{"main.hcl": files["main.hcl"] + releaseBlock("web", ns), "k/x.yaml": ""})
		_, p := planStack(t, testOptions(c, dir))
		addr := "release.web/ConfigMap/" + ns + "/x"
		if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], addr+": the object belongs to kustomization.k of this stack") ||
			strings.Contains(errs[0], "moved") {
			t.Fatalf("plan errors %q; want one for %s owned by kustomization.k (no moved block between kinds)", errs, addr)
		}
	})
	t.Run("of a release", func(t *testing.T) {
		ns := c.Namespace(t, "kofrel")
		files := merge(map[string]string{"main.hcl": releaseBlock("web", ns)}, chartFiles("web", "x"), chartFiles("api", "x"))
		dir := writeStack(t, files)
		applyStack(t, testOptions(c, dir))
		want := "the object belongs to Helm release " + ns + "/web (release.web of this stack)"
		writeFiles(t, dir, map[string]string{"main.hcl": files["main.hcl"] + releaseBlock("api", ns)})
		_, p := planStack(t, testOptions(c, dir))
		if errs := planErrors(p); len(errs) != 1 || errs[0] != "release.api/ConfigMap/"+ns+"/x: "+want+
			": an object can belong to one block only. Remove it from one of the two, or uninstall that release; "+
			"if the release is gone, remove the object's meta.helm.sh annotations and adopt it" {
			t.Fatalf("plan errors %q; want one for release.api: %s", errs, want)
		}
		// Before: "exists in the cluster without strata's labels", with
		// adoption as the way out, which would fight the release.
		writeFiles(t, dir, map[string]string{
			"main.hcl": files["main.hcl"] + "kustomization \"k\" {\n  path = \"k\"\n}\n",
			"k/x.yaml": configMap(ns, "x"),
		})
		_, p = planStack(t, testOptions(c, dir))
		if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], "kustomization.k/ConfigMap/"+ns+"/x: "+want) {
			t.Fatalf("plan errors %q; want one for kustomization.k: %s", errs, want)
		}
	})
	t.Run("rendered by a release and a kustomization", func(t *testing.T) {
		ns := c.Namespace(t, "relandk")
		dir := writeStack(t, merge(map[string]string{
			"main.hcl": releaseBlock("web", ns) + "kustomization \"k\" {\n  path = \"k\"\n}\n",
			"k/x.yaml": configMap(ns, "x"),
		}, chartFiles("web", "x")))
		_, p := planStack(t, testOptions(c, dir))
		if errs := planErrors(p); len(errs) != 1 || !strings.Contains(errs[0], "is rendered by both kustomization.k and release.web") &&
			!strings.Contains(errs[0], "is rendered by both release.web and kustomization.k") {
			t.Fatalf("plan errors %q; want one naming both blocks", errs)
		}
	})
}

// TestReleaseAdopt installs a release over an object that exists outside
// any Helm release, asked for with --adopt (Options.Adopt, here from a
// saved plan) or adopt = true on the block: the plan shows an adoption,
// Helm takes the object over (its metadata set, its data the chart's) and
// the next plan has no changes.
func TestReleaseAdopt(t *testing.T) {
	c := testcluster.Get(t)
	for _, how := range []string{"option", "attribute"} {
		t.Run(how, func(t *testing.T) {
			ns := c.Namespace(t, "reladopt")
			createConfigMap(t, c, ns, "existing")
			extra := []string{}
			if how == "attribute" {
				extra = append(extra, "  adopt = true")
			}
			dir := writeStack(t, merge(map[string]string{"main.hcl": releaseBlock("web", ns, extra...)}, chartFiles("web", "existing")))
			addr := "release.web/ConfigMap/" + ns + "/existing"
			opts := testOptions(c, dir)
			if how == "option" {
				opts.Adopt = []string{addr}
			}
			_, p := planStack(t, opts)
			rc, ok := objectOfRelease(p, addr)
			if p.HasErrors() || !ok || !rc.Adopt || !rc.Actions.Is(plan.Update) || !strings.Contains(rc.Reason, "adopted into "+ns+"/web") {
				t.Fatalf("plan: errors %q, releases %+v; want %s adopted", planErrors(p), p.Releases, addr)
			}
			if how == "option" {
				file := filepath.Join(t.TempDir(), "plan.out")
				if err := plan.WriteFile(file, p); err != nil {
					t.Fatal(err)
				}
				if _, err := applySaved(t, c, file); err != nil {
					t.Fatalf("apply the saved plan: %v", err)
				}
			} else {
				applyStack(t, opts)
			}
			live := liveConfigMap(t, c, ns, "existing")
			if !kube.HelmOwns(live, "web", ns) || live.Object["data"].(map[string]any)["k"] != "v" {
				t.Errorf("adopted ConfigMap: labels %v, annotations %v, data %v", live.GetLabels(), live.GetAnnotations(), live.Object["data"])
			}
			if _, p := planStack(t, testOptions(c, dir)); p.HasChanges() || p.HasErrors() {
				t.Errorf("plan after the adoption: releases %+v, errors %q", p.Releases, planErrors(p))
			}
		})
	}
}

// TestMovedReleaseWithoutName renames a release block whose Helm release
// name is its block name: with a moved block alone the new block would
// install a second Helm release and leave the first unmanaged, so the plan
// errs and says to set name; with name set the move changes nothing.
func TestMovedReleaseWithoutName(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "movedrelnn")
	files := merge(map[string]string{"main.hcl": releaseBlock("web", ns)}, chartFiles("web", "settings"))
	dir := writeStack(t, files)
	opts := testOptions(c, dir)
	applyStack(t, opts)

	moved := "moved {\n  from = release.web\n  to   = release.site\n}\n"
	site := "release \"site\" {\n  namespace = \"" + ns + "\"\n  chart     = \"charts/web\"\n%s}\n"
	writeFiles(t, dir, map[string]string{"main.hcl": strings.Replace(site, "%s", "", 1) + moved})
	e, p := planStack(t, opts)
	if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], "release.site: release.site would install Helm release "+ns+"/site, "+
		"but the state records it as Helm release "+ns+"/web") || !strings.Contains(errs[0], `set name = "web"`) {
		t.Fatalf("plan errors %q; want one asking for name = \"web\"", errs)
	}
	if len(p.Releases) != 0 {
		t.Errorf("releases planned: %+v", p.Releases)
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
		t.Fatalf("apply: err = %v, want ErrPlanErrors", err)
	}

	writeFiles(t, dir, map[string]string{"main.hcl": strings.Replace(site, "%s", "  name      = \"web\"\n", 1) + moved})
	_, p = planStack(t, opts)
	if p.HasErrors() || len(p.Moves) != 1 || len(p.Releases) != 1 || !p.Releases[0].Actions.IsNoOp() {
		t.Fatalf("plan with name: errors %q, moves %+v, releases %+v", planErrors(p), p.Moves, p.Releases)
	}
	applyStack(t, opts)
	if _, p := planStack(t, opts); p.HasChanges() || p.HasErrors() {
		t.Errorf("plan after the move: moves %+v, releases %+v, errors %q", p.Moves, p.Releases, planErrors(p))
	}
}

// TestUnnamedHookOfInstalledRelease: a release is installed (its install
// runs no hook) from a chart whose post-upgrade and pre-delete hooks have a
// generateName only. The upgrade of the installed release, and its
// uninstall once the block leaves the stack, would fail at apply when Helm
// looks the hook up by its empty name: each is a plan error at the release
// naming the hook and the disable_hooks that skips it, with the rest of the
// plan made, and apply refuses the plan; with that setting the plan is
// clean.
func TestUnnamedHookOfInstalledRelease(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "relgenhook")
	hook := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: ran-\n" +
		"  annotations: {\"helm.sh/hook\": \"post-upgrade,pre-delete\", \"helm.sh/hook-delete-policy\": hook-succeeded}\ndata: {ran: \"yes\"}\n"
	files := merge(map[string]string{
		"main.hcl":                        releaseBlock("web", ns) + "kustomization \"app\" {\n  path = \"app\"\n}\n",
		"charts/web/templates/hook.yaml":  hook,
		"charts/web/templates/other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  k: {{ .Values.k | default \"v\" | quote }}\n",
		"app/cm.yaml":                     configMap(ns, "app"),
	}, chartFiles("web"))
	dir := writeStack(t, files)
	opts := testOptions(c, dir)
	applyStack(t, opts)

	refused := func(want ...string) {
		t.Helper()
		e, p := lockedPlan(t, opts)
		if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], "release.web: The ") {
			t.Fatalf("plan errors %q, want one at release.web", errs)
		}
		for _, w := range want {
			if !strings.Contains(p.Errors[0].Message, w) {
				t.Errorf("plan error %q lacks %q", p.Errors[0].Message, w)
			}
		}
		if len(changed(p)) == 0 {
			t.Errorf("the rest of the plan is missing")
		}
		if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
			t.Fatalf("apply: err = %v, want ErrPlanErrors", err)
		}
		if err := e.Unlock(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	clean := func() {
		t.Helper()
		if _, p := planStack(t, opts); p.HasErrors() {
			t.Fatalf("plan errors %q", planErrors(p))
		}
	}

	// The upgrade of the installed release runs the post-upgrade hook.
	withValues := strings.Replace(files["main.hcl"], "}\nkustomization", "  values    = { k = \"w\" }\n}\nkustomization", 1)
	writeFiles(t, dir, map[string]string{"main.hcl": withValues, "app/cm.yaml": configMap(ns, "app") + "  more: x\n"})
	refused("post-upgrade hook ConfigMap from web/templates/hook.yaml has no metadata.name", "upgrade.disable_hooks = true")
	writeFiles(t, dir, map[string]string{"main.hcl": strings.Replace(withValues, "  values", "  upgrade {\n    disable_hooks = true\n  }\n  values", 1)})
	clean()

	// The uninstall of the installed release runs the pre-delete hook.
	writeFiles(t, dir, map[string]string{"main.hcl": "kustomization \"app\" {\n  path = \"app\"\n}\n"})
	refused("pre-delete hook ConfigMap from web/templates/hook.yaml has no metadata.name", "uninstall.disable_hooks = true")
	writeFiles(t, dir, map[string]string{"main.hcl": strings.Replace(files["main.hcl"], "}\nkustomization",
		"  uninstall {\n    disable_hooks = true\n  }\n}\nkustomization", 1)})
	opts.Destroy = true
	clean()
	applyStack(t, opts)
}

// TestUnnamedRollbackHookOfDeployedRevision: an upgrade whose failure is
// rolled back (upgrade.remediation) returns to the deployed revision and
// runs its rollback hooks; one with a generateName only would fail that
// rollback, so the plan is an error at the release naming the revision and
// rollback.disable_hooks. With Flux's defaults (a failed upgrade without
// retries is kept, not rolled back) and with that setting the plan is
// clean.
func TestUnnamedRollbackHookOfDeployedRevision(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "relrbgen")
	hook := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: rolledback-\n" +
		"  annotations: {\"helm.sh/hook\": pre-rollback, \"helm.sh/hook-delete-policy\": hook-succeeded}\ndata: {ran: \"yes\"}\n"
	files := merge(map[string]string{
		"main.hcl":                        releaseBlock("web", ns),
		"charts/web/templates/hook.yaml":  hook,
		"charts/web/templates/other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  k: {{ .Values.k | default \"v\" | quote }}\n",
	}, chartFiles("web"))
	dir := writeStack(t, files)
	opts := testOptions(c, dir)
	applyStack(t, opts)

	upgrade := func(settings ...string) {
		t.Helper()
		writeFiles(t, dir, map[string]string{"main.hcl": releaseBlock("web", ns, append([]string{"  values = { k = \"w\" }"}, settings...)...)})
	}
	clean := func() {
		t.Helper()
		if _, p := planStack(t, opts); p.HasErrors() || len(p.Releases) != 1 || p.Releases[0].Actions[0] != plan.Upgrade {
			t.Fatalf("plan errors %q, releases %+v; want a clean upgrade", planErrors(p), p.Releases)
		}
	}
	upgrade()
	clean() // Flux's default: a failed upgrade without retries is kept

	remediated := "  upgrade {\n    remediation { retries = 1 }\n  }"
	upgrade(remediated)
	e, p := lockedPlan(t, opts)
	if errs := planErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], "release.web: The pre-rollback hook ConfigMap from web/templates/hook.yaml of revision 1 has no metadata.name") ||
		!strings.Contains(errs[0], "rollback.disable_hooks = true") {
		t.Fatalf("plan errors %q, want one at release.web naming revision 1 and rollback.disable_hooks", errs)
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, ErrPlanErrors) {
		t.Fatalf("apply: err = %v, want ErrPlanErrors", err)
	}
	if err := e.Unlock(context.Background()); err != nil {
		t.Fatal(err)
	}

	upgrade(remediated, "  rollback {\n    disable_hooks = true\n  }")
	clean()
}
