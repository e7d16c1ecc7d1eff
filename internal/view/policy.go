package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/strata-gitops/strata/planner/plan"
)

// PolicyLine describes one policy result on one line: "policy
// keep_namespaces (mandatory): namespace demo would be deleted", or for an
// admission refusal "refused by ValidatingAdmissionPolicy/max-replicas:
// ...".
func PolicyLine(r plan.PolicyResult) string {
	if r.Source == plan.SourceAdmission {
		return "refused by " + r.Policy + " (admission): " + r.Message
	}
	return "policy " + r.Policy + " (" + r.Enforcement + "): " + r.Message
}

// PoliciesLine sums up the policy results of p in a sentence that says
// what they mean for apply; "" when there are none.
func PoliciesLine(p *plan.Plan) string {
	mandatory, approval, advisory := len(p.PolicyViolations(plan.Mandatory)), len(p.PolicyViolations(plan.Approval)),
		len(p.PolicyViolations(plan.Advisory))
	var parts []string
	if mandatory > 0 {
		parts = append(parts, count(mandatory, "mandatory violation")+": apply refuses the plan")
	}
	if approval > 0 {
		parts = append(parts, count(approval, "violation")+" of "+strings.Join(p.Unapproved(nil), ", ")+
			": apply needs a human's yes or --approve-policy")
	}
	if advisory > 0 {
		parts = append(parts, count(advisory, "advisory warning"))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Policies: " + strings.Join(parts, "; ") + "."
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Policies writes the policy results of p as Human prints them after a
// plan.
func Policies(w io.Writer, p *plan.Plan, opts HumanOptions) error {
	ew := &errWriter{w: w}
	h := humanRenderer{w: ew, c: painter(opts.Color), p: p}
	h.policies(p)
	return ew.err
}

// policyResultsOf returns the policy results of the change at address.
func policyResultsOf(p *plan.Plan, address string) []plan.PolicyResult {
	var out []plan.PolicyResult
	if p == nil {
		return nil
	}
	for _, r := range p.PolicyResults {
		if r.Address == address {
			out = append(out, r)
		}
	}
	return out
}

// policyMarks prints the policy results of the change at address under
// its header.
func (h humanRenderer) policyMarks(address, indent string) {
	for _, r := range policyResultsOf(h.p, address) {
		colour := yellow
		if r.Enforcement == plan.Mandatory {
			colour = red
		}
		h.printf("%s  %s\n", indent, h.c.paint(bold+colour, "! "+PolicyLine(r)))
	}
}

// policies prints every policy result after the plan, grouped by
// enforcement, as diagnostics.
func (h humanRenderer) policies(p *plan.Plan) {
	for _, g := range []struct{ enforcement, label, colour string }{
		{plan.Mandatory, "Policy violation:", red},
		{plan.Approval, "Approval required:", yellow},
		{plan.Advisory, "Policy warning:", yellow},
	} {
		for _, r := range p.PolicyViolations(g.enforcement) {
			h.printf("\n%s %s%s\n\n", h.c.paint(bold+g.colour, g.label), h.c.paint(bold, r.Address), inFile(r.File, r.Line))
			h.printf("  %s\n", PolicyLine(r))
		}
	}
	if l := PoliciesLine(p); l != "" {
		h.printf("\n%s\n", h.c.paint(bold, l))
	}
}

// writePoliciesMD writes the policy results at the top of the comment:
// mandatory ones as a caution, approvals as important, advisory ones as a
// warning.
func writePoliciesMD(b *strings.Builder, p *plan.Plan) {
	for _, g := range []struct{ enforcement, callout, title string }{
		{plan.Mandatory, "CAUTION", "Policy violations: apply refuses this plan."},
		{plan.Approval, "IMPORTANT", "Approval required: apply without a human needs --approve-policy."},
		{plan.Advisory, "WARNING", "Policy warnings."},
	} {
		rs := p.PolicyViolations(g.enforcement)
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(b, "> [!%s]\n> **%s**\n>\n", g.callout, g.title)
		for _, r := range rs {
			fmt.Fprintf(b, "> - `%s`%s: %s\n", r.Address, mdFile(r.File, r.Line), htmlEscape(PolicyLine(r)))
		}
		b.WriteString("\n")
	}
}
