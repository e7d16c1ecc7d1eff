package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/strata-gitops/strata/planner/drift"
)

// DriftOptions configure DriftHuman.
type DriftOptions struct {
	// Color uses ANSI colours.
	Color bool
}

// DriftHuman writes a drift report for a terminal: one section per
// drifted block with the changed fields, notes for skipped blocks, and a
// summary line.
func DriftHuman(w io.Writer, r *drift.Report, opts DriftOptions) error {
	paint := painter(opts.Color).paint
	var b strings.Builder
	for _, blk := range r.Blocks {
		switch {
		case blk.Suspended:
			fmt.Fprintf(&b, "%s: suspended, not checked\n", blk.Address)
			continue
		case blk.Error != "":
			fmt.Fprintf(&b, "%s %s%s: %s\n", paint(red, "Error:"), blk.Address, inFile(blk.File, blk.Line), blk.Error)
		}
		for _, n := range blk.Notes {
			fmt.Fprintf(&b, "%s: %s\n", blk.Address, n)
		}
		for _, it := range blk.Items {
			sym := paint(yellow, "~")
			switch it.Kind {
			case drift.Deleted:
				sym = paint(red, "-")
			case drift.Unrecorded:
				sym = paint(yellow, "+")
			}
			fmt.Fprintf(&b, "%s %s %s\n", sym, paint(bold, it.Address), it.Message)
			for _, f := range it.Fields {
				fmt.Fprintf(&b, "    %s: %s -> %s\n", f.Path, driftValue(f.Live, f.Sensitive, true), driftValue(f.Applied, f.Sensitive, false))
			}
		}
	}
	checked, drifted := r.Counts()
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	failed := uncheckedBlocks(r)
	switch {
	case drifted == 0 && failed > 0:
		// Not "No drift": what was not checked may have drifted.
		fmt.Fprintf(&b, "%s %s could not be checked (see the errors above); %d objects checked without drift in %s.\n",
			paint(red, "Drift unknown:"), blocksPhrase(failed), checked, r.Duration.Round(time.Millisecond))
	case drifted == 0:
		fmt.Fprintf(&b, "%s %d objects checked in %s.\n", paint(green, "No drift:"), checked, r.Duration.Round(time.Millisecond))
	default:
		fmt.Fprintf(&b, "%s %d of %d objects differ from what strata applied (%s). Run strata plan to see how to undo it.\n",
			paint(red, "Drift:"), drifted, checked, r.Duration.Round(time.Millisecond))
		if failed > 0 {
			fmt.Fprintf(&b, "%s could not be checked (see the errors above).\n", blocksPhrase(failed))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// uncheckedBlocks counts the blocks of r that could not be checked.
func uncheckedBlocks(r *drift.Report) int {
	n := 0
	for _, blk := range r.Blocks {
		if blk.Error != "" {
			n++
		}
	}
	return n
}

// blocksPhrase is "1 block" or "N blocks".
func blocksPhrase(n int) string {
	if n == 1 {
		return "1 block"
	}
	return fmt.Sprintf("%d blocks", n)
}

// driftValue renders a field value; live is the cluster side.
func driftValue(v any, sensitive, live bool) string {
	switch {
	case sensitive:
		return "(sensitive value)"
	case v == nil && live:
		return "(absent)"
	case v == nil:
		return "(unset)"
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

// DriftJSON writes a drift report as one JSON document (see
// drift.Report's field tags).
func DriftJSON(w io.Writer, r *drift.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// DriftMarkdown writes a drift report as a pull request or issue comment:
// a summary line and a table of drifted objects with their fields,
// collapsible.
func DriftMarkdown(w io.Writer, r *drift.Report) error {
	var b strings.Builder
	checked, drifted := r.Counts()
	b.WriteString("### strata drift: " + r.Stack)
	if r.Environment != "" {
		b.WriteString(" (environment `" + r.Environment + "`)")
	}
	b.WriteString("\n\n")
	failed := uncheckedBlocks(r)
	switch {
	case drifted == 0 && failed > 0:
		fmt.Fprintf(&b, "**Drift unknown**: %s could not be checked (see below); %d objects checked without drift.\n", blocksPhrase(failed), checked)
	case drifted == 0:
		fmt.Fprintf(&b, "**No drift**: %d objects checked.\n", checked)
	default:
		fmt.Fprintf(&b, "**Drift**: %d of %d objects differ from what strata applied.\n\n", drifted, checked)
		b.WriteString("| Block | Object | Drift | Fields |\n|---|---|---|---|\n")
		for _, blk := range r.Blocks {
			for _, it := range blk.Items {
				obj := strings.TrimPrefix(strings.TrimPrefix(it.Address, blk.Address), "/")
				if obj == "" {
					obj = "-"
				}
				fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", blk.Address, obj, driftMDEscape(it.Message), driftMDEscape(strings.Join(it.FieldPaths(), ", ")))
			}
		}
		var details strings.Builder
		for _, blk := range r.Blocks {
			for _, it := range blk.Items {
				if len(it.Fields) == 0 {
					continue
				}
				fmt.Fprintf(&details, "%s\n", it.Address)
				for _, f := range it.Fields {
					fmt.Fprintf(&details, "  %s: %s -> %s\n", f.Path, driftValue(f.Live, f.Sensitive, true), driftValue(f.Applied, f.Sensitive, false))
				}
			}
		}
		if details.Len() > 0 {
			b.WriteString("\n<details><summary>Field changes (live -> applied)</summary>\n\n```\n")
			b.WriteString(strings.ReplaceAll(details.String(), "```", "'''"))
			b.WriteString("```\n</details>\n")
		}
	}
	var notes []string
	for _, blk := range r.Blocks {
		switch {
		case blk.Suspended:
			notes = append(notes, fmt.Sprintf("`%s`: suspended, not checked", blk.Address))
		case blk.Error != "":
			notes = append(notes, fmt.Sprintf("`%s`%s: error: %s", blk.Address, driftMDEscape(inFile(blk.File, blk.Line)), driftMDEscape(blk.Error)))
		}
		for _, n := range blk.Notes {
			notes = append(notes, fmt.Sprintf("`%s`: %s", blk.Address, driftMDEscape(n)))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func driftMDEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
