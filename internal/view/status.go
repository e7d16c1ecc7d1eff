package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/strata-gitops/strata/planner"
)

// StatusTable writes the lines of strata status as an aligned table, like
// "flux get all"; "-" marks what is unknown.
func StatusTable(w io.Writer, lines []planner.BlockStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tADDRESS\tREVISION\tREADY\tMESSAGE\tLAST APPLIED\tDRIFT\tSUSPENDED")
	for _, l := range lines {
		last, dr := "-", "-"
		if l.LastApplied != nil {
			last = l.LastApplied.UTC().Format(time.RFC3339)
		}
		if l.Drift != nil {
			dr = strconv.Itoa(*l.Drift)
		}
		rev := l.Revision
		if rev == "" {
			rev = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Kind, l.Address, rev, l.Ready, l.Message, last, dr,
			strconv.FormatBool(l.Suspended))
	}
	return tw.Flush()
}

// StatusJSON writes the lines of strata status as an indented JSON array
// (see planner.BlockStatus's field tags).
func StatusJSON(w io.Writer, lines []planner.BlockStatus) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(lines)
}
