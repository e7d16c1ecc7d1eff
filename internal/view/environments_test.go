package view

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/strata-gitops/strata/planner/plan"
)

// envPlan is a plan of env with n ConfigMaps to create, each with a long
// value, and one Secret whose value must stay masked.
func envPlan(env string, n int) *plan.Plan {
	p := &plan.Plan{Environment: env}
	for i := range n {
		cm := obj("v1", "ConfigMap", env, fmt.Sprintf("cm-%03d", i), map[string]any{"data": map[string]any{"v": strings.Repeat("x", 200)}})
		p.Changes = append(p.Changes, change("kustomization.app", plan.Actions{plan.Create}, "", nil, cm))
	}
	secret := obj("v1", "Secret", env, "creds", map[string]any{"data": map[string]any{"password": secretValue}})
	p.Changes = append(p.Changes, change("kustomization.app", plan.Actions{plan.Create}, "", nil, plan.Mask(secret)))
	return p
}

func TestEnvironmentsMarkdown(t *testing.T) {
	envs := []EnvironmentPlan{
		{Name: "development", Plan: envPlan("development", 2)},
		{Name: "staging", Plan: &plan.Plan{Environment: "staging"}},
		{Name: "production", Err: errors.New("cluster configuration: dial tcp 127.0.0.1:1: connect: connection refused")},
	}
	var b bytes.Buffer
	if err := EnvironmentsMarkdown(&b, envs, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"### strata plan: 3 environments\n",
		"| `development` | 3 | 0 | 0 | 0 | changes |\n",
		"| `staging` | 0 | 0 | 0 | 0 | no changes |\n",
		"| `production` | | | | | :x: failed |\n",
		"<details><summary><b>development</b>: Plan: 3 to add, 0 to change, 0 to destroy.</summary>",
		"<details><summary><b>staging</b>: no changes</summary>",
		"<details><summary><b>production</b>: failed: no plan (see above)</summary>\n\n```text\ncluster configuration: dial tcp 127.0.0.1:1: connect: connection refused\n```",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("markdown lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "### strata plan: `development`") {
		t.Errorf("an environment's section repeats its heading:\n%s", got)
	}
	if strings.Contains(got, secretValue) {
		t.Errorf("a secret value leaked:\n%s", got)
	}
}

// TestEnvironmentsMarkdownFitsLimit checks that the comment keeps within
// the limit however many environments and changes there are, every
// environment keeping its row and its section.
func TestEnvironmentsMarkdownFitsLimit(t *testing.T) {
	for _, tt := range []struct{ envs, changes, limit int }{
		{3, 100, 20000},
		{40, 50, CommentLimit},
		{200, 5, CommentLimit},
	} {
		t.Run(fmt.Sprintf("%d environments", tt.envs), func(t *testing.T) {
			var envs []EnvironmentPlan
			for i := range tt.envs {
				name := fmt.Sprintf("env-%03d", i)
				envs = append(envs, EnvironmentPlan{Name: name, Plan: envPlan(name, tt.changes)})
			}
			var b bytes.Buffer
			if err := EnvironmentsMarkdown(&b, envs, MarkdownOptions{MaxChars: tt.limit}); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if n := utf8.RuneCountInString(got); n > tt.limit {
				t.Errorf("comment of %d characters, limit %d", n, tt.limit)
			}
			for _, e := range envs {
				if !strings.Contains(got, "| `"+e.Name+"` |") || !strings.Contains(got, "<summary><b>"+e.Name+"</b>") {
					t.Errorf("%s lacks its row or section", e.Name)
				}
			}
		})
	}
}

func TestEnvironmentsJSONAndHuman(t *testing.T) {
	envs := []EnvironmentPlan{
		{Name: "development", Plan: envPlan("development", 1)},
		{Name: "production", Err: errors.New("unreachable")},
	}
	var b bytes.Buffer
	if err := EnvironmentsJSON(&b, envs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"environment": "development",`, `"plan": {`, `"environment": "production",`, `"plan": null,`, `"error": "unreachable"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := EnvironmentsHuman(&b, envs, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"── Environment development ", "Plan: 2 to add", "── Environment production ", "Error: unreachable",
		"Environments:\n  development  Plan: 2 to add, 0 to change, 0 to destroy.\n  production   failed: no plan (see above)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("human output lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "\x1b[") || strings.Contains(b.String(), secretValue) {
		t.Errorf("colour or secret in the output:\n%s", b.String())
	}
}

// TestOneEnvironmentNamed checks that the plan of one environment (-e
// NAME) names it in the Markdown heading and in the JSON.
func TestOneEnvironmentNamed(t *testing.T) {
	p := envPlan("staging", 1)
	var b bytes.Buffer
	if err := Markdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "### strata plan: `staging`\n") {
		t.Errorf("markdown heading: %q", strings.SplitN(b.String(), "\n", 2)[0])
	}
	b.Reset()
	if err := JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"environment": "staging"`) {
		t.Errorf("JSON lacks the environment:\n%s", b.String())
	}
	b.Reset()
	if err := JSON(&b, &plan.Plan{}); err != nil || strings.Contains(b.String(), `"environment"`) {
		t.Errorf("a plan without environment names one (%v):\n%s", err, b.String())
	}
}
