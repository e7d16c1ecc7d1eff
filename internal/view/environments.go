package view

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/strata-gitops/strata/planner/plan"
)

// EnvironmentPlan is the outcome of planning one environment of a stack
// (plan --all-environments): a plan, or the error that kept it from being
// made (Err set, Plan nil).
type EnvironmentPlan struct {
	Name string
	Plan *plan.Plan
	// Err says why there is no plan: a diagnostic, an unreachable cluster,
	// a held lock. Its text is shown as is.
	Err error
}

// DiagnosticsError is an error whose text is diagnostics as Diagnostics
// renders them, each with its own "Error:" line: renderers print it as is.
type DiagnosticsError struct{ Text string }

// Error returns the rendered diagnostics.
func (e *DiagnosticsError) Error() string { return e.Text }

// Failed reports whether the environment has no plan, or a plan that apply
// would refuse: one with errors or violating a mandatory policy (an
// admission refusal included).
func (e EnvironmentPlan) Failed() bool {
	return e.Plan == nil || e.Plan.HasErrors() || len(e.Plan.PolicyViolations(plan.Mandatory)) > 0
}

// EnvironmentsHuman writes one plan per environment, each under a header
// naming it, then a summary line per environment.
func EnvironmentsHuman(w io.Writer, envs []EnvironmentPlan, opts HumanOptions) error {
	ew := &errWriter{w: w}
	c := painter(opts.Color)
	for _, e := range envs {
		fmt.Fprintf(ew, "%s\n\n", c.paint(bold, "── Environment "+e.Name+" "+strings.Repeat("─", max(3, 60-len(e.Name)))))
		if e.Plan == nil {
			var de *DiagnosticsError
			if errors.As(e.Err, &de) {
				fmt.Fprintf(ew, "%s\n\n", strings.TrimSpace(de.Text))
				continue
			}
			fmt.Fprintf(ew, "%s %v\n\n", c.paint(red, "Error:"), e.Err)
			continue
		}
		h := humanRenderer{w: ew, c: c}
		h.render(e.Plan)
		fmt.Fprintln(ew)
	}
	fmt.Fprintf(ew, "%s\n", c.paint(bold, "Environments:"))
	for _, e := range envs {
		fmt.Fprintf(ew, "  %-*s  %s\n", nameWidth(envs), e.Name, environmentOutcome(e))
	}
	return ew.err
}

func nameWidth(envs []EnvironmentPlan) int {
	n := 0
	for _, e := range envs {
		n = max(n, len(e.Name))
	}
	return n
}

// failedPolicies returns the names of the policy blocks whose mandatory
// violations make apply refuse p, sorted and unique; admission refusals are
// not among them (they count as refused in the summary line).
func failedPolicies(p *plan.Plan) []string {
	var out []string
	for _, r := range p.PolicyViolations(plan.Mandatory) {
		if r.Source != plan.SourceAdmission && !slices.Contains(out, r.Policy) {
			out = append(out, r.Policy)
		}
	}
	slices.Sort(out)
	return out
}

// policiesFailedLine says which mandatory policies failed:
// "mandatory policy keep_namespaces violated: apply refuses the plan.".
func policiesFailedLine(names []string) string {
	what := "mandatory policy "
	if len(names) > 1 {
		what = "mandatory policies "
	}
	return what + strings.Join(names, ", ") + " violated: apply refuses the plan."
}

// environmentOutcome is an environment's line in the summaries.
func environmentOutcome(e EnvironmentPlan) string {
	switch {
	case e.Plan == nil:
		return "failed: no plan (see above)"
	case e.Plan.HasErrors():
		return "failed: " + ErrorsLine(e.Plan)
	case len(failedPolicies(e.Plan)) > 0:
		return "failed: " + policiesFailedLine(failedPolicies(e.Plan)) + " " + SummaryLine(e.Plan)
	case !e.Plan.HasChanges():
		s := "no changes"
		if d := e.Plan.Summary().Drifted; d > 0 {
			s += fmt.Sprintf(" (%d drifted)", d)
		}
		return s
	}
	return SummaryLine(e.Plan)
}

// EnvironmentJSON is one element of the JSON array of plan
// --all-environments -o json: the environment's plan in the schema of
// JSONPlan, or the error that kept it from being made.
type EnvironmentJSON struct {
	Environment string    `json:"environment"`
	Plan        *JSONPlan `json:"plan"`
	Error       string    `json:"error,omitempty"`
}

// EnvironmentsJSON writes one JSON array with an element per environment,
// in the order of envs.
func EnvironmentsJSON(w io.Writer, envs []EnvironmentPlan) error {
	out := make([]EnvironmentJSON, 0, len(envs))
	for _, e := range envs {
		j := EnvironmentJSON{Environment: e.Name}
		if e.Plan != nil {
			p := ToJSON(e.Plan)
			j.Plan = &p
		} else if e.Err != nil {
			j.Error = e.Err.Error()
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// EnvironmentsMarkdown writes one pull-request comment for every
// environment: a summary table (environment, add, change, destroy, drift,
// outcome), then a collapsible section per environment holding its plan as
// Markdown renders it. The comment stays within opts.MaxChars
// (CommentLimit by default): each environment's section gets an equal
// share, and its diffs are shortened to fit as Markdown does.
func EnvironmentsMarkdown(w io.Writer, envs []EnvironmentPlan, opts MarkdownOptions) error {
	limit := opts.MaxChars
	if limit <= 0 {
		limit = CommentLimit
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### strata plan: %d environments\n\n", len(envs))
	b.WriteString("| Environment | Add | Change | Destroy | Drift | Outcome |\n|---|--:|--:|--:|--:|---|\n")
	for _, e := range envs {
		if e.Plan == nil {
			fmt.Fprintf(&b, "| `%s` | | | | | :x: failed |\n", e.Name)
			continue
		}
		s := e.Plan.Summary()
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d | %s |\n", e.Name, s.Add, s.Change, s.Destroy, s.Drifted, mdOutcome(e))
	}
	b.WriteString("\n")
	total := utf8.RuneCountInString(b.String())
	share := (limit - total) / max(1, len(envs))
	sections := make([]string, len(envs))
	for i, e := range envs {
		sections[i] = environmentSection(e, share)
		total += utf8.RuneCountInString(sections[i])
	}
	// A plan's head (summary, tables) is never shortened by Markdown: when
	// the heads alone overflow, the last environments' sections give way
	// to a line each.
	for i := len(envs) - 1; i >= 0 && total > limit; i-- {
		short := fmt.Sprintf("<details><summary><b>%s</b>: %s</summary>\n\nThis plan is left out to keep the comment within %d characters: run `strata plan -e %s`.\n\n</details>\n\n",
			htmlEscape(envs[i].Name), htmlEscape(environmentOutcome(envs[i])), limit, envs[i].Name)
		total += utf8.RuneCountInString(short) - utf8.RuneCountInString(sections[i])
		sections[i] = short
	}
	for _, s := range sections {
		b.WriteString(s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdOutcome(e EnvironmentPlan) string {
	switch {
	case e.Plan.HasErrors():
		return ":x: errors"
	case len(failedPolicies(e.Plan)) > 0:
		names := failedPolicies(e.Plan)
		for i, n := range names {
			names[i] = "`" + n + "`"
		}
		return ":x: policy failed: " + strings.Join(names, ", ")
	case e.Plan.Summary().Refused > 0:
		return ":x: refused"
	case e.Plan.HasChanges():
		return "changes"
	}
	return "no changes"
}

// environmentSection is an environment's collapsible section, of at most
// limit characters.
func environmentSection(e EnvironmentPlan, limit int) string {
	head := fmt.Sprintf("<details><summary><b>%s</b>: %s</summary>\n\n", htmlEscape(e.Name), htmlEscape(environmentOutcome(e)))
	const tail = "</details>\n\n"
	if e.Plan == nil {
		msg := e.Err.Error()
		fence := "```"
		for strings.Contains(msg, fence) {
			fence += "`"
		}
		return head + fmt.Sprintf("%stext\n%s\n%s\n\n", fence, msg, fence) + tail
	}
	var body strings.Builder
	room := limit - utf8.RuneCountInString(head) - len(tail)
	_ = Markdown(&body, e.Plan, MarkdownOptions{MaxChars: max(room, 1000)})
	// The environment's name is in the summary: its plan's own heading
	// would repeat it.
	return head + strings.TrimPrefix(body.String(), markdownHeading(e.Plan)) + tail
}
