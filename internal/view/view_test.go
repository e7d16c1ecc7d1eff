package view

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/internal/golden"
	"github.com/strata-gitops/strata/planner/plan"
)

// secretValue must never appear in any rendering.
const secretValue = "aHVudGVyMg==" // base64("hunter2")

func obj(api, kind, ns, name string, fields map[string]any) map[string]any {
	md := map[string]any{"name": name, "labels": map[string]any{"strata.dev/stack": "demo"}}
	if ns != "" {
		md["namespace"] = ns
	}
	o := map[string]any{"apiVersion": api, "kind": kind, "metadata": md}
	for k, v := range fields {
		o[k] = v
	}
	return o
}

func change(block string, actions plan.Actions, reason string, before, after map[string]any) plan.ResourceChange {
	o := after
	if o == nil {
		o = before
	}
	md := o["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	c := plan.ResourceChange{
		Address:    addrs.Object{Group: addrs.GroupOf(o["apiVersion"].(string)), Kind: o["kind"].(string), Namespace: ns, Name: md["name"].(string)}.Address(block),
		Block:      block,
		APIVersion: o["apiVersion"].(string), Kind: o["kind"].(string), Namespace: ns, Name: md["name"].(string),
		Actions: actions, Reason: reason,
		Before: before, After: after,
		Diff: plan.Diff(before, after),
	}
	if before != nil {
		c.LiveResourceVersion = "4242"
	}
	return c
}

func deployment(image string, replicas int) map[string]any {
	return obj("apps/v1", "Deployment", "demo", "web", map[string]any{"spec": map[string]any{
		"replicas": float64(replicas),
		"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": image}}}},
	}})
}

// fixedPlan has one of everything: create, update, delete, replace, no-op,
// a masked Secret change, a custom resource checked against its CRD's
// schema only, a source move, a release upgrade, drift and the Flux objects
// (one active, one suspended) that manage adopted objects.
func fixedPlan() *plan.Plan {
	const app, cfg = "kustomization.app", "kustomization.config"
	replace := change(app, plan.Replace, "immutable field spec.clusterIP",
		obj("v1", "Service", "demo", "web", map[string]any{"spec": map[string]any{"clusterIP": "10.0.0.10", "ports": []any{map[string]any{"port": float64(80)}}}}),
		obj("v1", "Service", "demo", "web", map[string]any{"spec": map[string]any{"clusterIP": "10.0.0.20", "ports": []any{map[string]any{"port": float64(80)}}}}))
	for i := range replace.Diff {
		if replace.Diff[i].Path == "spec.clusterIP" {
			replace.Diff[i].ForcesReplace = true
		}
	}
	replace.Reason = "force = true; " + replace.Reason
	replace.Warning = "replace: the Service is deleted and created again: it gets a new cluster IP"
	gadget := change(app, plan.Actions{plan.Create},
		"after CRD gadgets.example.com (release.gadgets); checked against the CRD's schema only", nil,
		obj("example.com/v1", "Gadget", "demo", "g1", map[string]any{"spec": map[string]any{"size": float64(2), "color": "blue"}}))
	gadget.AfterCRD, gadget.SchemaOnly = "gadgets.example.com", true
	secretBefore := obj("v1", "Secret", "demo", "creds", map[string]any{"data": map[string]any{"password": "b2xk", "user": "YWRtaW4="}})
	secretAfter := obj("v1", "Secret", "demo", "creds", map[string]any{"data": map[string]any{"password": secretValue, "user": "YWRtaW4="}})
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		StrataVersion: "v0.1.0-test",
		CreatedAt:     time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		Dir:           "/stacks/demo",
		State:         plan.StateRef{Lineage: "6f1c2a9e-5d7b-4c1a-9a51-0c7f3e2b8d11", Serial: 7},
		Variables: []plan.Variable{
			{Name: "environment", Value: json.RawMessage(`"staging"`)},
			{Name: "token", Sensitive: true},
		},
		Sources: []plan.SourceChange{
			{Address: "source.git.platform", Kind: "git", URL: "https://git.example.com/platform.git", Actions: plan.Actions{plan.Update},
				Before: "main@sha1:1111111111111111111111111111111111111111", After: "main@sha1:2222222222222222222222222222222222222222"},
			{Address: "source.helm.bitnami", Kind: "helm", URL: "https://charts.example.com", Actions: plan.Actions{plan.NoOp},
				Before: "sha256:abc", After: "sha256:abc"},
			{Address: "source.helm.charts", Kind: "helm", URL: "https://charts.example.org", Actions: plan.Actions{plan.Create}},
		},
		Changes: []plan.ResourceChange{
			change(cfg, plan.Actions{plan.Create}, "", nil,
				obj("v1", "ConfigMap", "demo", "settings", map[string]any{"data": map[string]any{"color": "blue", "environment": "staging"}})),
			change(cfg, plan.Actions{plan.Create}, "", nil,
				obj("v1", "Service", "demo", "api", map[string]any{"spec": map[string]any{"clusterIP": plan.UnknownValue,
					"ports": []any{map[string]any{"port": float64(80), "nodePort": plan.UnknownValue}}, "type": "NodePort"}})),
			change(cfg, plan.Actions{plan.NoOp}, "", obj("v1", "Namespace", "", "demo", nil), obj("v1", "Namespace", "", "demo", nil)),
			change(cfg, plan.Actions{plan.Update}, "", secretBefore, secretAfter),
			change(app, plan.Actions{plan.Update}, "", deployment("nginx:1.27", 1), deployment("nginx:1.28", 3)),
			replace,
			gadget,
			change(app, plan.Actions{plan.Delete}, "no longer rendered by kustomization.app",
				obj("v1", "ConfigMap", "demo", "legacy", map[string]any{"data": map[string]any{"old": "yes"}}), nil),
		},
		Releases: []plan.ReleaseChange{{
			Address: "release.redis", Name: "redis", Namespace: "demo", Actions: plan.Actions{plan.Upgrade},
			ChartBefore: "redis", ChartAfter: "redis", VersionBefore: "19.0.1", VersionAfter: "19.1.0",
			AppVersionBefore: "7.2.4", AppVersionAfter: "7.2.5",
			Changes: []plan.ResourceChange{change("release.redis", plan.Actions{plan.Update}, "",
				obj("apps/v1", "StatefulSet", "demo", "redis-master", map[string]any{"spec": map[string]any{"serviceName": "redis"}}),
				obj("apps/v1", "StatefulSet", "demo", "redis-master", map[string]any{"spec": map[string]any{"serviceName": "redis-headless"}}))},
			Hooks: []plan.Hook{
				{Kind: "Job", Name: "redis-migrate", Events: []string{"pre-upgrade"}, Weight: -5, DeletePolicies: []string{"hook-succeeded"}},
				{Kind: "Job", Name: "redis-notify", Events: []string{"post-upgrade"}},
			},
		}},
		Errors: []plan.Error{{Address: "kustomization.db/StatefulSet.apps/demo/cassandra",
			Message: "Immutable field changes: spec: Forbidden: updates to statefulset spec for fields other than 'replicas' are forbidden. Set force = true on kustomization.db to plan the replacement."}},
		Drift: []plan.Drift{{Address: "kustomization.app/Deployment.apps/demo/web", Block: app, Kind: plan.DriftModified,
			Message: "changed in the cluster outside strata (spec.replicas)"}},
		Flux: []plan.FluxObject{
			{Kind: "Kustomization", Namespace: "flux-system", Name: "apps", Adopted: []string{"kustomization.app/Deployment.apps/demo/web", "kustomization.app/Service/demo/web"}},
			{Kind: "HelmRelease", Namespace: "demo", Name: "redis", Suspended: true, Adopted: []string{"release.redis"}},
		},
	}
}

// checkGolden compares got with testdata/name and checks that it shows no
// Secret value.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
	if bytes.Contains(got, []byte(secretValue)) || bytes.Contains(got, []byte("b2xk")) {
		t.Errorf("%s contains a Secret value", name)
	}
}

func TestGolden(t *testing.T) {
	empty := &plan.Plan{FormatVersion: plan.FormatVersion, StrataVersion: "v0.1.0-test",
		CreatedAt: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		Changes:   []plan.ResourceChange{change("kustomization.app", plan.Actions{plan.NoOp}, "", deployment("nginx:1", 1), deployment("nginx:1", 1))}}
	render := map[string]func(*bytes.Buffer, *plan.Plan) error{
		"human.txt":       func(b *bytes.Buffer, p *plan.Plan) error { return Human(b, p, HumanOptions{}) },
		"human-color.txt": func(b *bytes.Buffer, p *plan.Plan) error { return Human(b, p, HumanOptions{Color: true}) },
		"plan.json":       func(b *bytes.Buffer, p *plan.Plan) error { return JSON(b, p) },
		"plan.md":         func(b *bytes.Buffer, p *plan.Plan) error { return Markdown(b, p, MarkdownOptions{}) },
	}
	onlyErrors := &plan.Plan{FormatVersion: plan.FormatVersion, StrataVersion: "v0.1.0-test",
		CreatedAt: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		Errors: []plan.Error{{Address: "kustomization.db/StatefulSet.apps/demo/cassandra", File: "apps/db/statefulset.yaml", Line: 12,
			Message: "Immutable field changes."}, {Address: "release.redis/ConfigMap/demo/redis", File: "redis/templates/cm.yaml",
			Message: "The API server refuses the object as invalid."}}}
	policies := fixedPlan()
	web := policies.Changes[0].Address
	policies.PolicyResults = []plan.PolicyResult{
		{Policy: "no_latest", Enforcement: plan.Mandatory, Address: web, Message: "image tag latest is not allowed"},
		{Policy: "ValidatingAdmissionPolicy/max-replicas", Enforcement: plan.Mandatory, Address: web, Source: plan.SourceAdmission,
			File: "apps/config/settings.yaml", Line: 3, Message: "failed expression: object.spec.replicas <= 5"},
		{Policy: "minor_only", Enforcement: plan.Approval, Address: "release.redis", Message: "major upgrade of redis"},
		{Policy: "limits", Enforcement: plan.Advisory, Address: web, Message: "containers should set resource limits"},
	}
	for name, fn := range render {
		for prefix, p := range map[string]*plan.Plan{"full-": fixedPlan(), "nochange-": empty, "errors-": onlyErrors, "policies-": policies} {
			t.Run(prefix+name, func(t *testing.T) {
				var b bytes.Buffer
				if err := fn(&b, p); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, prefix+name, b.Bytes())
			})
		}
	}
}

func TestHumanLines(t *testing.T) {
	var b bytes.Buffer
	if err := Human(&b, fixedPlan(), HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Plan: 4 to add, 3 to change, 2 to destroy.",
		"(after CRD gadgets.example.com (release.gadgets); checked against the CRD's schema only)",
		"~ data.password: (sensitive value)",
		"~ spec.template.spec.containers[0].image: \"nginx:1.27\" -> \"nginx:1.28\"",
		"-/+ Service demo/web",
		"# forces replacement",
		"! replace: the Service is deleted and created again",
		"+ spec.clusterIP: (known after apply)",
		"+ spec.ports[0].nodePort: (known after apply)",
		"runs hook:   Job/redis-migrate at pre-upgrade (weight -5; deleted: hook-succeeded)",
		"Error: kustomization.db/StatefulSet.apps/demo/cassandra",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Namespace demo") {
		t.Errorf("no-op object shown:\n%s", out)
	}
	if strings.Contains(out, "The plan has") {
		t.Errorf("the plan prints the errors line, which the command prints on stderr:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour without Color")
	}
}

func TestJSONMasksBeforeAfter(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, fixedPlan()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, c := range got["resource_changes"].([]any) {
		c := c.(map[string]any)
		if c["kind"] != "Secret" {
			continue
		}
		for _, side := range []string{"before", "after"} {
			pw := c[side].(map[string]any)["data"].(map[string]any)["password"]
			if pw != plan.SensitiveValue {
				t.Errorf("%s.data.password = %v, want masked", side, pw)
			}
		}
	}
	unknown := 0
	for _, c := range got["resource_changes"].([]any) {
		diff, _ := c.(map[string]any)["diff"].([]any)
		for _, d := range diff {
			d := d.(map[string]any)
			if d["unknown"] == true {
				unknown++
				if _, ok := d["after"]; ok {
					t.Errorf("unknown field %v carries a value: %v", d["path"], d["after"])
				}
			}
		}
	}
	if unknown != 2 {
		t.Errorf("%d fields marked unknown, want 2 (clusterIP, nodePort)", unknown)
	}
	if errs := got["errors"].([]any); len(errs) != 1 {
		t.Errorf("errors = %v, want one", errs)
	}
	if got["format_version"] != plan.FormatVersion {
		t.Errorf("format_version = %v", got["format_version"])
	}
}

// TestJSONMaskedValueIsSensitive checks that a field diff whose value is
// masked says "sensitive": true and carries no value, also when the value
// is a map of masked entries (a Secret's stringData added as a whole).
func TestJSONMaskedValueIsSensitive(t *testing.T) {
	p := &plan.Plan{Changes: []plan.ResourceChange{{
		Address: "kustomization.app/Secret/demo/creds", Block: "kustomization.app", APIVersion: "v1", Kind: "Secret",
		Namespace: "demo", Name: "creds", Actions: plan.Replace,
		Diff: []plan.FieldDiff{
			{Path: "stringData", Op: plan.OpAdd, After: map[string]any{"password": plan.SensitiveValue}},
			{Path: "stringData.token", Op: plan.OpAdd, After: plan.SensitiveValue},
			{Path: "metadata.labels.app", Op: plan.OpAdd, After: "web"},
		},
	}}}
	var b bytes.Buffer
	if err := JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var got struct {
		ResourceChanges []struct {
			Diff []map[string]any `json:"diff"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"path": "stringData", "op": "add", "sensitive": true},
		{"path": "stringData.token", "op": "add", "sensitive": true},
		{"path": "metadata.labels.app", "op": "add", "after": "web"},
	}
	if diff := cmp.Diff(want, got.ResourceChanges[0].Diff); diff != "" {
		t.Errorf("diff in JSON (-want +got):\n%s", diff)
	}
}

func TestMarkdownShortened(t *testing.T) {
	p := fixedPlan()
	big := map[string]any{}
	for i := range 400 {
		big[strings.Repeat("k", 5)+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = strings.Repeat("v", 200)
	}
	for i := range 5 {
		p.Changes = append(p.Changes, change("kustomization.big", plan.Actions{plan.Create}, "", nil,
			obj("v1", "ConfigMap", "demo", "big-"+string(rune('a'+i)), map[string]any{"data": big})))
	}
	var full bytes.Buffer
	if err := Markdown(&full, p, MarkdownOptions{MaxChars: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if full.Len() <= CommentLimit {
		t.Fatalf("test plan too small: %d", full.Len())
	}
	var b bytes.Buffer
	if err := Markdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := len([]rune(out)); n > CommentLimit {
		t.Errorf("comment has %d characters, more than %d", n, CommentLimit)
	}
	if !strings.Contains(out, "This comment was shortened") {
		t.Error("no note about the shortening")
	}
	if !strings.HasPrefix(out, "### strata plan\n\n**Plan: 9 to add") {
		t.Errorf("summary not first:\n%.200s", out)
	}
	if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
		t.Error("unbalanced <details>")
	}
}

// TestForget renders a plan that only forgets an object: it has changes,
// says the object is kept in the cluster, and counts it in the summary.
func TestForget(t *testing.T) {
	cm := obj("v1", "ConfigMap", "demo", "keep", map[string]any{"data": map[string]any{"k": "v"}})
	c := change("kustomization.app", plan.Actions{plan.Forget}, "not rendered any more, kept: strata.dev/prune: disabled", cm, nil)
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Changes: []plan.ResourceChange{c}}
	if !p.HasChanges() {
		t.Fatal("a plan with a forget has no changes")
	}
	var b bytes.Buffer
	if err := Human(&b, p, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  . forget: kept in the cluster, no longer managed",
		"# kustomization.app/ConfigMap/demo/keep will be kept in the cluster, no longer managed (not rendered any more, kept: strata.dev/prune: disabled)",
		"  . ConfigMap demo/keep",
		"Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget.",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "data.k") {
		t.Errorf("a forget shows a field diff:\n%s", b.String())
	}
	b.Reset()
	if err := Markdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ". <code>kustomization.app/ConfigMap/demo/keep</code> will be kept in the cluster, no longer managed") {
		t.Errorf("markdown lacks the forget:\n%s", b.String())
	}
}

// TestMovesRendered: a block move and a moved object's label rewrite say
// what they are.
func TestMovesRendered(t *testing.T) {
	before := obj("v1", "ConfigMap", "demo", "a", nil)
	after := obj("v1", "ConfigMap", "demo", "a", nil)
	after["metadata"].(map[string]any)["labels"] = map[string]any{"strata.dev/block": "kustomization.site"}
	c := change("kustomization.site", plan.Actions{plan.Update}, "", before, after)
	c.MovedFrom = "kustomization.web"
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Changes: []plan.ResourceChange{c},
		Moves: []plan.Move{{From: "kustomization.web", To: "kustomization.site"}}}
	var b bytes.Buffer
	if err := Human(&b, p, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  # kustomization.web has moved to kustomization.site\n",
		"# kustomization.site/ConfigMap/demo/a has moved from kustomization.web (its strata.dev/block label is rewritten in place)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRefusedChange: a change whose dry run the admission chain refused
// shows the refusal and no field diff in the human and Markdown plans; a
// refused create still shows the manifest.
func TestRefusedChange(t *testing.T) {
	live := obj("v1", "ConfigMap", "demo", "old", map[string]any{"data": map[string]any{"k": "v"}})
	upd := change("kustomization.app", plan.Actions{plan.Update}, "", live, nil)
	upd.Diff = []plan.FieldDiff{{Path: "data.k", Op: plan.OpChange, Before: "v", After: "made-up"}}
	upd.Refused = &plan.Refused{By: "ValidatingAdmissionPolicy/locked", Message: "locked"}
	upd.After, upd.Diff = nil, nil
	created := obj("v1", "ConfigMap", "demo", "new", map[string]any{"data": map[string]any{"n": "m"}})
	cr := change("kustomization.app", plan.Actions{plan.Create}, "", nil, created)
	cr.Refused = upd.Refused
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Changes: []plan.ResourceChange{upd, cr}}
	var b bytes.Buffer
	if err := Human(&b, p, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  ~ ConfigMap demo/old\n      "+RefusedNote+"\n") || strings.Contains(b.String(), "made-up") ||
		!strings.Contains(b.String(), "+ data.n: \"m\"") {
		t.Errorf("human plan:\n%s", b.String())
	}
	b.Reset()
	if err := Markdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<code>kustomization.app/ConfigMap/demo/old</code> will be updated in-place: refused by ValidatingAdmissionPolicy/locked") ||
		!strings.Contains(b.String(), RefusedNote) || !strings.Contains(b.String(), "data.n") {
		t.Errorf("markdown plan:\n%s", b.String())
	}
}

// TestRefusedChangeSummary: a change the admission chain refused is not
// counted as to add or to change: the human and Markdown summary lines,
// the Markdown block table, the JSON summary and the all-environments
// table count it as refused, apart from the changes apply would make.
func TestRefusedChangeSummary(t *testing.T) {
	live := obj("v1", "ConfigMap", "demo", "old", map[string]any{"data": map[string]any{"k": "v"}})
	upd := change("kustomization.app", plan.Actions{plan.Update}, "", live, nil)
	upd.Refused = &plan.Refused{By: "ValidatingAdmissionPolicy/locked", Message: "locked"}
	created := obj("v1", "ConfigMap", "demo", "new", map[string]any{"data": map[string]any{"n": "m"}})
	cr := change("kustomization.app", plan.Actions{plan.Create}, "", nil, created)
	cr.Refused = upd.Refused
	ok := change("kustomization.app", plan.Actions{plan.Create}, "", nil,
		obj("v1", "ConfigMap", "demo", "fine", map[string]any{"data": map[string]any{"a": "b"}}))
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Changes: []plan.ResourceChange{upd, cr, ok}}

	const want = "Plan: 1 to add, 0 to change, 0 to destroy, 2 refused."
	var b bytes.Buffer
	if err := Human(&b, p, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), want) {
		t.Errorf("human plan, want %q:\n%s", want, b.String())
	}
	b.Reset()
	if err := Markdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "**"+want+"**") ||
		!strings.Contains(b.String(), "| Block | Add | Change | Destroy | Refused |\n|---|--:|--:|--:|--:|\n| `kustomization.app` | 1 | 0 | 0 | 2 |\n") {
		t.Errorf("markdown plan, want %q and a Refused column:\n%s", want, b.String())
	}
	got := ToJSON(p).Summary
	if diff := cmp.Diff(plan.Summary{Add: 1, Refused: 2}, got); diff != "" {
		t.Errorf("JSON summary (-want +got):\n%s", diff)
	}
	if !ToJSON(p).HasChanges {
		t.Error("JSON has_changes is false for a plan with refused changes")
	}
	b.Reset()
	if err := EnvironmentsMarkdown(&b, []EnvironmentPlan{{Name: "prod", Plan: p}}, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| `prod` | 1 | 0 | 0 | 0 | :x: refused |") {
		t.Errorf("environments table, want 1 to add and the outcome refused:\n%s", b.String())
	}
}
