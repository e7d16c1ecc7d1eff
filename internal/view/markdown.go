package view

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/strata-gitops/strata/planner/plan"
)

// CommentLimit is the largest pull-request comment GitHub accepts, in
// characters.
const CommentLimit = 65536

// MarkdownOptions tune the Markdown renderer.
type MarkdownOptions struct {
	// MaxChars bounds the output; 0 means CommentLimit. Diffs are left out,
	// from the last one, until the comment fits, and a note says so.
	MaxChars int
}

// Markdown writes p as a pull-request comment: the summary line first, a
// table with one row per block, drift notes, then every changed object's
// field diff in a collapsible <details> section with a ```diff block.
func Markdown(w io.Writer, p *plan.Plan, opts MarkdownOptions) error {
	limit := opts.MaxChars
	if limit <= 0 {
		limit = CommentLimit
	}
	head, details := markdownParts(p)
	total := utf8.RuneCountInString(head)
	for _, d := range details {
		total += utf8.RuneCountInString(d)
	}
	kept := len(details)
	if total > limit {
		// Reserve room for the note, then drop diffs from the end.
		total += 400
		for kept > 0 && total > limit {
			kept--
			total -= utf8.RuneCountInString(details[kept])
		}
	}
	var b strings.Builder
	b.WriteString(head)
	if kept < len(details) {
		fmt.Fprintf(&b, "> [!NOTE]\n> This comment was shortened to %d characters to fit GitHub's limit on comments: the diffs of %d of %d changes are left out. Run `strata show` on the saved plan, or `strata plan`, to see all of them.\n\n",
			limit, len(details)-kept, len(details))
	}
	for _, d := range details[:kept] {
		b.WriteString(d)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type blockRow struct {
	name                          string
	add, change, destroy, refused int
}

// markdownParts returns the comment's fixed head and one <details> section
// per changed object or release.
func markdownParts(p *plan.Plan) (string, []string) {
	var b strings.Builder
	b.WriteString(markdownHeading(p))
	if !p.HasChanges() {
		if !p.HasErrors() {
			b.WriteString("**No changes.** The cluster matches the stack.\n\n")
		}
		writePoliciesMD(&b, p)
		writeErrorsMD(&b, p)
		writeDriftMD(&b, p)
		writeFluxMD(&b, p)
		return b.String(), nil
	}
	fmt.Fprintf(&b, "**%s**\n\n", SummaryLine(p))
	writePoliciesMD(&b, p)
	writeErrorsMD(&b, p)
	writeWarningsMD(&b, p)
	for _, m := range p.Moves {
		fmt.Fprintf(&b, "`%s` has moved to `%s`.\n\n", m.From, m.To)
	}

	var rows []*blockRow
	byName := map[string]*blockRow{}
	row := func(name string) *blockRow {
		r := byName[name]
		if r == nil {
			r = &blockRow{name: name}
			byName[name] = r
			rows = append(rows, r)
		}
		return r
	}
	count := func(r *blockRow, a plan.Actions) {
		switch {
		case a.IsReplace():
			r.add++
			r.destroy++
		case a.Is(plan.Create), a.Is(plan.Install):
			r.add++
		case a.Is(plan.Update), a.Is(plan.Upgrade), a.Is(plan.Rollback):
			r.change++
		case a.Is(plan.Delete), a.Is(plan.Uninstall):
			r.destroy++
		}
	}
	for _, c := range p.Changes {
		switch {
		case c.Actions.IsNoOp():
		case c.Refused != nil:
			row(c.Block).refused++
		default:
			count(row(c.Block), c.Actions)
		}
	}
	for _, r := range p.Releases {
		if !r.Actions.IsNoOp() {
			count(row(r.Address), r.Actions)
		}
	}
	switch {
	case len(rows) > 0 && p.Summary().Refused > 0:
		// Refused changes are counted apart, as in the summary line.
		b.WriteString("| Block | Add | Change | Destroy | Refused |\n|---|--:|--:|--:|--:|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d |\n", r.name, r.add, r.change, r.destroy, r.refused)
		}
		b.WriteString("\n")
	case len(rows) > 0:
		b.WriteString("| Block | Add | Change | Destroy |\n|---|--:|--:|--:|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| `%s` | %d | %d | %d |\n", r.name, r.add, r.change, r.destroy)
		}
		b.WriteString("\n")
	}
	var srcs []plan.SourceChange
	for _, s := range p.Sources {
		if !s.Actions.IsNoOp() {
			srcs = append(srcs, s)
		}
	}
	if len(srcs) > 0 {
		b.WriteString("| Source | Revision |\n|---|---|\n")
		for _, s := range srcs {
			fmt.Fprintf(&b, "| `%s` | %s |\n", s.Address, mdRevision(s))
		}
		b.WriteString("\n")
	}
	writeDriftMD(&b, p)
	writeFluxMD(&b, p)
	if len(p.Record) > 0 {
		fmt.Fprintf(&b, "%d objects already in the cluster will be recorded in the state.\n\n", len(p.Record))
	}
	for _, r := range p.Retry {
		fmt.Fprintf(&b, "The last apply of `%s` failed; it will be applied again.\n\n", r)
	}

	var details []string
	for _, c := range p.Changes {
		if !c.Actions.IsNoOp() {
			details = append(details, mdObject(c))
		}
	}
	for _, r := range p.Releases {
		if !r.Actions.IsNoOp() {
			details = append(details, mdRelease(r))
		}
	}
	return b.String(), details
}

// markdownHeading is the comment's first line, naming the plan's
// environment if it has one.
func markdownHeading(p *plan.Plan) string {
	if p.Environment != "" {
		return "### strata plan: `" + p.Environment + "`\n\n"
	}
	return "### strata plan\n\n"
}

func mdRevision(s plan.SourceChange) string {
	switch {
	case s.Before != "" && s.After != "" && s.Before != s.After:
		return "`" + s.Before + "` → `" + s.After + "`"
	case s.After != "":
		return "`" + s.After + "`"
	case s.Before != "":
		return "`" + s.Before + "` (removed)"
	case s.Actions.Is(plan.Create):
		return "added (no revision of its own)"
	}
	return ""
}

// writeErrorsMD writes the plan's errors as a caution callout.
func writeErrorsMD(b *strings.Builder, p *plan.Plan) {
	if !p.HasErrors() {
		return
	}
	fmt.Fprintf(b, "> [!CAUTION]\n> **%s**\n>\n", ErrorsLine(p))
	for _, e := range p.Errors {
		fmt.Fprintf(b, "> - `%s`%s: %s\n", e.Address, mdFile(e.File, e.Line), htmlEscape(e.Message))
	}
	b.WriteString("\n")
}

// writeWarningsMD writes what changes destroy beyond their object (a
// replace) as a warning callout.
func writeWarningsMD(b *strings.Builder, p *plan.Plan) {
	var lines []string
	add := func(c plan.ResourceChange) {
		if c.Warning != "" && !c.Actions.IsNoOp() {
			lines = append(lines, fmt.Sprintf("> - `%s`: %s\n", c.Address, htmlEscape(c.Warning)))
		}
	}
	for _, c := range p.Changes {
		add(c)
	}
	for _, r := range p.Releases {
		for _, c := range r.Changes {
			add(c)
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("> [!WARNING]\n")
	for _, l := range lines {
		b.WriteString(l)
	}
	b.WriteString("\n")
}

func writeDriftMD(b *strings.Builder, p *plan.Plan) {
	if len(p.Drift) == 0 {
		return
	}
	b.WriteString("**Drift found while planning:**\n\n")
	for _, d := range p.Drift {
		fmt.Fprintf(b, "- `%s`: %s\n", d.Address, d.Message)
	}
	b.WriteString("\n")
}

// writeFluxMD lists the Flux objects that manage what the plan adopts,
// as the human view does: suspended, or still reconciling (which the apply
// refuses).
func writeFluxMD(b *strings.Builder, p *plan.Plan) {
	if len(p.Flux) == 0 {
		return
	}
	b.WriteString("**Flux objects that manage what this plan adopts:**\n\n| Flux object | State | Adopted |\n|---|---|--:|\n")
	for _, f := range p.Flux {
		state := "suspended"
		if !f.Suspended {
			state = "**" + FluxActiveNote + "**"
		}
		fmt.Fprintf(b, "| `%s` | %s | %d |\n", f, state, len(f.Adopted))
	}
	b.WriteString("\n")
}

func mdSymbol(a plan.Actions) string {
	switch {
	case a.IsReplace():
		return "-/+"
	case a.Is(plan.Create), a.Is(plan.Install):
		return "+"
	case a.Is(plan.Update), a.Is(plan.Upgrade), a.Is(plan.Rollback):
		return "~"
	case a.Is(plan.Delete), a.Is(plan.Uninstall):
		return "-"
	case a.Is(plan.Forget):
		return "."
	}
	return ""
}

func mdObject(c plan.ResourceChange) string {
	summary := fmt.Sprintf("%s <code>%s</code> %s", mdSymbol(c.Actions), htmlEscape(c.Address), ChangeVerb(c))
	if c.Reason != "" {
		summary += " (" + htmlEscape(c.Reason) + ")"
	}
	if c.Refused != nil {
		summary += ": refused by " + htmlEscape(c.Refused.By)
	}
	var lines []string
	switch {
	case c.Refused != nil && c.After == nil:
		lines = []string{RefusedNote}
	case !c.Actions.Is(plan.Delete) && !c.Actions.Is(plan.Forget):
		lines = diffLines(shownDiff(c))
	}
	return mdDetails(summary, lines)
}

func mdRelease(r plan.ReleaseChange) string {
	summary := fmt.Sprintf("%s <code>%s</code> %s", mdSymbol(r.Actions), htmlEscape(r.Address), Verb(r.Actions))
	if r.ChartBefore != "" || r.ChartAfter != "" {
		summary += " (" + htmlEscape(fromTo(r.ChartBefore+" "+r.VersionBefore, r.ChartAfter+" "+r.VersionAfter)) + ")"
	}
	var lines []string
	for _, hk := range r.Hooks {
		lines = append(lines, "# runs hook "+HookLine(hk))
	}
	for _, c := range r.Changes {
		if c.Actions.IsNoOp() {
			continue
		}
		lines = append(lines, "# "+c.Address+" "+Verb(c.Actions))
		if !c.Actions.Is(plan.Delete) {
			lines = append(lines, diffLines(shownDiff(c))...)
		}
	}
	return mdDetails(summary, lines)
}

// diffLines renders field diffs in the syntax of a diff block: "-" old,
// "+" new, "!" for a changed sensitive value.
func diffLines(diff []plan.FieldDiff) []string {
	var lines []string
	for _, d := range diff {
		mark := ""
		if d.ForcesReplace {
			mark = " # forces replacement"
		}
		switch {
		case d.Op == plan.OpAdd:
			lines = append(lines, "+ "+d.Path+": "+AfterValue(d)+mark)
		case d.Op == plan.OpRemove:
			lines = append(lines, "- "+d.Path+": "+FormatValue(d.Before, d.Sensitive)+mark)
		case d.Sensitive:
			lines = append(lines, "! "+d.Path+": "+plan.SensitiveValue+mark)
		default:
			lines = append(lines, "- "+d.Path+": "+FormatValue(d.Before, false))
			lines = append(lines, "+ "+d.Path+": "+AfterValue(d)+mark)
		}
	}
	return lines
}

func mdDetails(summary string, lines []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n", summary)
	if len(lines) > 0 {
		body := strings.Join(lines, "\n")
		fence := "```"
		for strings.Contains(body, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "%sdiff\n%s\n%s\n\n", fence, body, fence)
	}
	b.WriteString("</details>\n\n")
	return b.String()
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// mdFile is " (`FILE`)", or " (`FILE:LINE`)" when the line is known,
// after the address of an error at an object whose file is known, else "".
func mdFile(file string, line int) string {
	if file == "" {
		return ""
	}
	return " (`" + htmlEscape(fileLine(file, line)) + "`)"
}
