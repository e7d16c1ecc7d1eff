package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/planner/plan"
)

// HumanOptions tune the human renderer.
type HumanOptions struct {
	// Color enables ANSI colours (see UseColor).
	Color bool
}

// Human writes p for people, in the manner of Terraform: a legend of the
// symbols used, source revision moves, one section per changed object with
// its field-level diff, release changes, drift notes and the summary line.
// No-op objects are not shown. A plan without changes prints
// "No changes. The cluster matches the stack."
func Human(w io.Writer, p *plan.Plan, opts HumanOptions) error {
	ew := &errWriter{w: w}
	h := humanRenderer{w: ew, c: painter(opts.Color), p: p}
	h.render(p)
	return ew.err
}

type humanRenderer struct {
	w *errWriter
	c painter
	p *plan.Plan // for the policy results of each change
}

func (h humanRenderer) printf(format string, args ...any) { fmt.Fprintf(h.w, format, args...) }

// symbol is an action list's marker and its colour.
func (h humanRenderer) symbol(a plan.Actions) string {
	switch {
	case a.IsReplace():
		return h.c.paint(red, "-") + "/" + h.c.paint(green, "+")
	case a.Is(plan.Create), a.Is(plan.Install):
		return h.c.paint(green, "  +")
	case a.Is(plan.Update), a.Is(plan.Upgrade), a.Is(plan.Rollback):
		return h.c.paint(yellow, "  ~")
	case a.Is(plan.Delete), a.Is(plan.Uninstall):
		return h.c.paint(red, "  -")
	case a.Is(plan.Forget):
		return h.c.paint(bold, "  .")
	}
	return "   "
}

func (h humanRenderer) render(p *plan.Plan) {
	h.p = p
	if !p.HasChanges() {
		h.drift(p)
		h.flux(p)
		if p.HasErrors() {
			h.errors(p)
			return
		}
		h.printf("%s\n", h.c.paint(bold+green, "No changes. The cluster matches the stack."))
		h.policies(p)
		if p.Destroy {
			h.printf("\nThe state holds no objects to destroy.\n")
		}
		return
	}
	h.legend(p)
	if p.Destroy {
		h.printf("strata will destroy every object of the stack:\n\n")
	} else {
		h.printf("strata will perform the following actions:\n\n")
	}
	for _, m := range p.Moves {
		h.printf("  %s\n\n", h.c.paint(bold, "# "+m.From+" has moved to "+m.To))
	}
	for _, s := range p.Sources {
		if s.Actions.IsNoOp() {
			continue
		}
		h.source(s)
	}
	for _, c := range p.Changes {
		if c.Actions.IsNoOp() {
			continue
		}
		h.object(c, "")
	}
	for _, r := range p.Releases {
		if r.Actions.IsNoOp() {
			continue
		}
		h.release(r)
	}
	if len(p.Record) > 0 {
		h.printf("%s\n", h.c.paint(bold, "Objects already in the cluster that the state does not list yet (apply records them):"))
		for _, a := range p.Record {
			h.printf("  %s\n", a)
		}
		h.printf("\n")
	}
	if len(p.Retry) > 0 {
		h.printf("%s\n", h.c.paint(bold, "Blocks whose last apply failed, to be applied again:"))
		for _, a := range p.Retry {
			h.printf("  %s\n", a)
		}
		h.printf("\n")
	}
	h.drift(p)
	h.flux(p)
	h.printf("%s\n", h.c.paint(bold, SummaryLine(p)))
	h.policies(p)
	h.errors(p)
}

// flux lists the Flux objects that manage what the plan adopts.
func (h humanRenderer) flux(p *plan.Plan) {
	if len(p.Flux) == 0 {
		return
	}
	h.printf("%s\n", h.c.paint(bold, "Flux objects that manage what this plan adopts:"))
	for _, f := range p.Flux {
		if f.Suspended {
			h.printf("  %s %s: suspended (%d adopted)\n", h.c.paint(green, "-"), f, len(f.Adopted))
			continue
		}
		h.printf("  %s %s: %s (%d adopted)\n", h.c.paint(bold+red, "!"), f, FluxActiveNote, len(f.Adopted))
	}
	h.printf("\n")
}

// FluxActiveNote says what an active Flux object means for the apply.
const FluxActiveNote = "still reconciling; apply refuses until it is suspended (flux suspend), or with --allow-flux-managed"

// errors prints the plan's errors, after everything else, as Terraform
// prints diagnostics. The line that counts them (ErrorsLine) is not part
// of the plan: the command prints it once, on stderr, in every format.
func (h humanRenderer) errors(p *plan.Plan) {
	for _, e := range p.Errors {
		h.printf("\n%s %s%s\n\n", h.c.paint(bold+red, "Error:"), h.c.paint(bold, e.Address), inFile(e.File, e.Line))
		h.printf("  %s\n", e.Message)
	}
}

// inFile is " (FILE)", or " (FILE:LINE)" when the line is known, after
// the address of an error at an object whose file is known, else "".
func inFile(file string, line int) string {
	if file == "" {
		return ""
	}
	return " (" + fileLine(file, line) + ")"
}

// fileLine is FILE:LINE, or FILE when line is 0.
func fileLine(file string, line int) string {
	if line <= 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}

// ErrorsLine says how many errors the plan has and that apply refuses it:
// plan and apply print it on stderr, the Markdown comment in its caution
// and the --all-environments summary beside the environment.
func ErrorsLine(p *plan.Plan) string {
	n := len(p.Errors)
	what := "1 error"
	if n != 1 {
		what = fmt.Sprintf("%d errors", n)
	}
	return fmt.Sprintf("The plan has %s: apply refuses it until they are resolved.", what)
}

func (h humanRenderer) legend(p *plan.Plan) {
	var used [5]bool
	mark := func(a plan.Actions) {
		switch {
		case a.IsReplace():
			used[3] = true
		case a.Is(plan.Create), a.Is(plan.Install):
			used[0] = true
		case a.Is(plan.Update), a.Is(plan.Upgrade), a.Is(plan.Rollback):
			used[1] = true
		case a.Is(plan.Delete), a.Is(plan.Uninstall):
			used[2] = true
		case a.Is(plan.Forget):
			used[4] = true
		}
	}
	for _, c := range p.Changes {
		mark(c.Actions)
	}
	for _, r := range p.Releases {
		mark(r.Actions)
	}
	for _, s := range p.Sources {
		mark(s.Actions)
	}
	h.printf("strata compared the stack with its state and the live cluster. Actions are shown with these symbols:\n")
	lines := [5]string{
		h.symbol(plan.Actions{plan.Create}) + " create",
		h.symbol(plan.Actions{plan.Update}) + " update in-place",
		h.symbol(plan.Actions{plan.Delete}) + " destroy",
		h.symbol(plan.Replace) + " destroy and then create replacement",
		h.symbol(plan.Actions{plan.Forget}) + " forget: kept in the cluster, no longer managed",
	}
	for i, l := range lines {
		if used[i] {
			h.printf("%s\n", l)
		}
	}
	h.printf("\n")
}

func (h humanRenderer) source(s plan.SourceChange) {
	switch {
	case s.Actions.Is(plan.Create) && s.After == "":
		// A chart repository has no revision of its own: each release
		// resolves its chart version.
		h.printf("  %s will be added\n", h.c.paint(bold, "# "+s.Address))
	case s.Actions.Is(plan.Create):
		h.printf("  %s will be fetched at %s\n", h.c.paint(bold, "# "+s.Address), s.After)
	case s.Actions.Is(plan.Delete):
		h.printf("  %s will be removed (it left the stack)\n", h.c.paint(bold, "# "+s.Address))
	default:
		h.printf("  %s moves to a new revision\n", h.c.paint(bold, "# "+s.Address))
	}
	h.printf("%s source.%s\n", h.symbol(s.Actions), strings.TrimPrefix(s.Address, "source."))
	if s.URL != "" {
		h.printf("        url:      %s\n", s.URL)
	}
	switch {
	case s.Before != "" && s.After != "" && s.Before != s.After:
		h.printf("        revision: %s -> %s\n", s.Before, s.After)
	case s.After != "":
		h.printf("        revision: %s\n", s.After)
	}
	h.printf("\n")
}

// Verb returns what happens to an object or release, as a phrase: "will be
// created", "must be replaced".
func Verb(a plan.Actions) string {
	switch {
	case a.IsReplace():
		return "must be replaced"
	case a.Is(plan.Create):
		return "will be created"
	case a.Is(plan.Update):
		return "will be updated in-place"
	case a.Is(plan.Delete):
		return "will be destroyed"
	case a.Is(plan.Forget):
		return "will be kept in the cluster, no longer managed"
	case a.Is(plan.Install):
		return "will be installed"
	case a.Is(plan.Upgrade):
		return "will be upgraded"
	case a.Is(plan.Rollback):
		return "will be rolled back"
	case a.Is(plan.Uninstall):
		return "will be uninstalled"
	}
	return "is unchanged"
}

// RefusedNote stands for the field diff of a change whose dry run the
// cluster's admission chain refused (ResourceChange.Refused), for an object
// that exists.
const RefusedNote = "# no diff: the cluster refused the dry run, so the server computed no diff"

// ChangeVerb is Verb for an object's change, saying when it is an
// adoption.
func ChangeVerb(c plan.ResourceChange) string {
	if c.MovedFrom != "" {
		return "has moved from " + c.MovedFrom + " (its strata.dev/block label is rewritten in place)"
	}
	if c.AdoptedFromFlux != "" {
		return "will be adopted from Flux (taken over from Flux's field managers, labelled and " + strings.TrimPrefix(Verb(c.Actions), "will be ") + ")"
	}
	if c.Adopt {
		return "will be adopted (labelled and " + strings.TrimPrefix(Verb(c.Actions), "will be ") + ")"
	}
	return Verb(c.Actions)
}

func (h humanRenderer) object(c plan.ResourceChange, indent string) {
	head := "# " + c.Address + " " + ChangeVerb(c)
	h.printf("%s  %s", indent, h.c.paint(bold, head))
	if c.Reason != "" {
		h.printf(" (%s)", c.Reason)
	}
	h.printf("\n")
	if c.Warning != "" {
		h.printf("%s  %s\n", indent, h.c.paint(bold+red, "! "+c.Warning))
	}
	h.policyMarks(c.Address, indent)
	h.printf("%s%s %s\n", indent, h.symbol(c.Actions), objectName(c))
	if c.Refused != nil && c.After == nil {
		h.printf("%s      %s\n", indent, RefusedNote)
	} else if !c.Actions.Is(plan.Delete) && !c.Actions.Is(plan.Forget) {
		h.fields(shownDiff(c), indent+"      ")
	}
	h.printf("\n")
}

func objectName(c plan.ResourceChange) string {
	k := addrs.Object{Group: addrs.GroupOf(c.APIVersion), Kind: c.Kind}.KindGroup()
	if c.Namespace == "" {
		return k + " " + c.Name
	}
	return k + " " + c.Namespace + "/" + c.Name
}

func (h humanRenderer) fields(diff []plan.FieldDiff, indent string) {
	for _, d := range diff {
		var line string
		switch d.Op {
		case plan.OpAdd:
			line = h.c.paint(green, "+") + " " + d.Path + ": " + AfterValue(d)
		case plan.OpRemove:
			line = h.c.paint(red, "-") + " " + d.Path + ": " + FormatValue(d.Before, d.Sensitive)
		default:
			if d.Sensitive {
				line = h.c.paint(yellow, "~") + " " + d.Path + ": " + plan.SensitiveValue
			} else {
				line = h.c.paint(yellow, "~") + " " + d.Path + ": " + FormatValue(d.Before, false) + " -> " + AfterValue(d)
			}
		}
		if d.ForcesReplace {
			line += h.c.paint(red, " # forces replacement")
		}
		h.printf("%s%s\n", indent, line)
	}
}

func (h humanRenderer) release(r plan.ReleaseChange) {
	head := "# " + r.Address + " " + Verb(r.Actions)
	h.printf("  %s", h.c.paint(bold, head))
	if r.Reason != "" {
		h.printf(" (%s)", r.Reason)
	}
	h.printf("\n")
	h.policyMarks(r.Address, "")
	h.printf("%s release %s/%s\n", h.symbol(r.Actions), r.Namespace, r.Name)
	if r.ChartBefore != "" || r.ChartAfter != "" {
		h.printf("        chart:       %s\n", fromTo(r.ChartBefore+" "+r.VersionBefore, r.ChartAfter+" "+r.VersionAfter))
	}
	if r.AppVersionBefore != "" || r.AppVersionAfter != "" {
		h.printf("        app version: %s\n", fromTo(r.AppVersionBefore, r.AppVersionAfter))
	}
	for _, hk := range r.Hooks {
		h.printf("        runs hook:   %s\n", HookLine(hk))
	}
	h.printf("\n")
	for _, c := range r.Changes {
		if !c.Actions.IsNoOp() {
			h.object(c, "    ")
		}
	}
}

// HookLine describes a hook a release change runs:
// "Job/db-migrate at pre-upgrade (weight -5; deleted: hook-succeeded)".
func HookLine(hk plan.Hook) string {
	line := hk.Kind + "/" + hk.Name + " at " + strings.Join(hk.Events, ", ")
	var notes []string
	if hk.Weight != 0 {
		notes = append(notes, fmt.Sprintf("weight %d", hk.Weight))
	}
	if len(hk.DeletePolicies) > 0 {
		notes = append(notes, "deleted: "+strings.Join(hk.DeletePolicies, ", "))
	}
	if len(notes) > 0 {
		line += " (" + strings.Join(notes, "; ") + ")"
	}
	return line
}

func fromTo(before, after string) string {
	before, after = strings.TrimSpace(before), strings.TrimSpace(after)
	switch {
	case before == after || before == "":
		return after
	case after == "":
		return before
	}
	return before + " -> " + after
}

func (h humanRenderer) drift(p *plan.Plan) {
	if len(p.Drift) == 0 {
		return
	}
	h.printf("%s\n", h.c.paint(bold, "Drift found while planning:"))
	for _, d := range p.Drift {
		h.printf("  %s %s: %s\n", h.c.paint(yellow, "!"), d.Address, d.Message)
	}
	h.printf("\n")
}

// SummaryLine is the plan's last line:
// "Plan: 1 to add, 2 to change, 0 to destroy.", with ", 1 to forget" before
// the dot when objects leave the state but stay in the cluster, and
// ", 1 refused" when the cluster's admission chain refused changes (they
// count in none of the others: apply refuses the plan).
func SummaryLine(p *plan.Plan) string {
	s := p.Summary()
	line := fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy", s.Add, s.Change, s.Destroy)
	if s.Forget > 0 {
		line += fmt.Sprintf(", %d to forget", s.Forget)
	}
	if s.Refused > 0 {
		line += fmt.Sprintf(", %d refused", s.Refused)
	}
	return line + "."
}

// FormatValue formats a field's value on one line: strings quoted, maps and
// lists as JSON, and (sensitive value) for a masked value.
func FormatValue(v any, sensitive bool) string {
	if sensitive {
		return plan.SensitiveValue
	}
	if s, ok := v.(string); ok && s == plan.SensitiveValue {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// AfterValue formats a field's new value: (known after apply) for a value
// the server assigns when the change is applied, else as FormatValue does.
func AfterValue(d plan.FieldDiff) string {
	if d.Unknown {
		return plan.UnknownValue
	}
	return FormatValue(d.After, d.Sensitive)
}

// identity lists the fields a create's header already shows.
var identity = map[string]bool{"apiVersion": true, "kind": true, "metadata.name": true, "metadata.namespace": true}

// shownDiff is the diff to print for c: a create leaves out the fields its
// header names.
func shownDiff(c plan.ResourceChange) []plan.FieldDiff {
	if !c.Actions.Is(plan.Create) {
		return c.Diff
	}
	out := make([]plan.FieldDiff, 0, len(c.Diff))
	for _, d := range c.Diff {
		if !identity[d.Path] {
			out = append(out, d)
		}
	}
	return out
}

// errWriter remembers the first write error, so renderers can write freely
// and report it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return len(b), nil
	}
	_, e.err = e.w.Write(b)
	return len(b), nil
}
