package planner

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

// TestScrubReport checks that a drift report names fields holding a
// sensitive value without their values, in drift of kustomizations and of
// Helm releases alike, and that its texts are scrubbed.
func TestScrubReport(t *testing.T) {
	e := &Engine{secrets: plan.NewSecrets("tok-3nQ9xZ")}
	rep := &drift.Report{Blocks: []drift.Block{{
		Address: "kustomization.app",
		Error:   `ConfigMap/a/b: diff failed: Invalid value: "x-tok-3nQ9xZ"`,
		Items: []drift.Item{{Address: "kustomization.app/ConfigMap/a/b", Fields: driftFields([]kube.FieldDiff{
			{Path: "data.url", Before: "https://edited", After: "https://u:tok-3nQ9xZ@db"},
			{Path: "data.mode", Before: "slow", After: "fast"},
			{Path: "stringData", After: map[string]any{"token": kube.Masked}},
		})}},
	}}}
	e.scrubReport(rep)
	want := []drift.Field{
		{Path: "data.url", Sensitive: true},
		{Path: "data.mode", Live: "slow", Applied: "fast"},
		{Path: "stringData", Sensitive: true},
	}
	if diff := cmp.Diff(want, rep.Blocks[0].Items[0].Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if strings.Contains(rep.Blocks[0].Error, "tok-3nQ9xZ") {
		t.Errorf("error not scrubbed: %s", rep.Blocks[0].Error)
	}
}

// TestScrubEvent checks that apply events reach Options.OnEvent without
// secrets, and still unwrap to their cause.
func TestScrubEvent(t *testing.T) {
	var got []Event
	e := &Engine{secrets: plan.NewSecrets("tok-3nQ9xZ"), opts: Options{OnEvent: func(ev Event) { got = append(got, ev) }}}
	cause := errors.New(`Invalid value: "tok-3nQ9xZ"`)
	e.emit(Event{Type: BlockFailed, Err: cause, Message: "at tok-3nQ9xZ"})
	e.emit(Event{Type: ObjectEvent, Object: &ObjectProgress{Type: ObjectFailed, Err: cause, Message: "m tok-3nQ9xZ",
		Pending: []PendingObject{{Message: "waiting for tok-3nQ9xZ"}}}})
	for _, ev := range got {
		texts := ev.Message
		if ev.Err != nil {
			texts += ev.Err.Error()
		}
		if ev.Object != nil {
			texts += ev.Object.Message + ev.Object.Err.Error() + ev.Object.Pending[0].Message
		}
		if strings.Contains(texts, "tok-3nQ9xZ") {
			t.Errorf("event shows the secret: %s", texts)
		}
		if !errors.Is(ev.Err, cause) && (ev.Object == nil || !errors.Is(ev.Object.Err, cause)) {
			t.Errorf("scrubbed error does not unwrap to its cause")
		}
	}
}

// TestValidateScrubForms: validate's findings lose a sensitive value in
// every form the plan masks: quoted with escapes (kustomize and Go errors
// quote names and values), base64, and a short value where it is quoted.
func TestValidateScrubForms(t *testing.T) {
	const secret = `pa"ss\word`
	details := []string{
		"invalid value " + strconv.Quote(secret),
		"data " + base64.StdEncoding.EncodeToString([]byte(secret)),
		`label "ab" is invalid`,
	}
	var diags hcl.Diagnostics
	for _, d := range details {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Kustomization does not build", Detail: d})
	}
	want := []string{`invalid value "(sensitive value)"`, "data (sensitive value)", `label "(sensitive value)" is invalid`}
	var got []string
	for _, d := range scrub(diags, []string{secret, "ab"}) {
		got = append(got, d.Detail)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scrubbed details (-want +got):\n%s", diff)
	}
}

// TestScrubPlan: the plan's texts lose the stack's secrets, also a source
// URL whose user name is a token (RedactURL hides passwords only).
func TestScrubPlan(t *testing.T) {
	const token = "ghp_3nQ9xZk2"
	e := &Engine{secrets: plan.NewSecrets(token, "https://"+token+"@github.com/org/repo")}
	p := &plan.Plan{
		Sources:  []plan.SourceChange{{Address: "source.git.app", URL: "https://" + token + "@github.com/org/repo"}},
		Releases: []plan.ReleaseChange{{Address: "release.web", Reason: "values changed: " + token}},
		Drift:    []plan.Drift{{Address: "x", Message: "label " + token}},
	}
	e.scrubPlan(p)
	got := []string{p.Sources[0].URL, p.Releases[0].Reason, p.Drift[0].Message}
	want := []string{plan.SensitiveValue, "values changed: " + plan.SensitiveValue, "label " + plan.SensitiveValue}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scrubbed texts (-want +got):\n%s", diff)
	}
}
