package view

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/strata-gitops/strata/planner"
)

// Progress prints the apply walk's events as lines: one per applied
// object, a "still waiting" line with the elapsed time during long waits,
// one per finished block. Its Event method is safe for concurrent use.
type Progress struct {
	mu sync.Mutex
	w  io.Writer
	c  painter
}

// NewProgress returns a Progress printing to w, coloured when color is
// set (see UseColor).
func NewProgress(w io.Writer, color bool) *Progress { return &Progress{w: w, c: painter(color)} }

// Event prints one event; it is meant for planner.Options.OnEvent.
func (pr *Progress) Event(ev planner.Event) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	name := pr.c.paint(bold, ev.Block)
	switch ev.Type {
	case planner.BlockStarted:
		fmt.Fprintf(pr.w, "%s: Applying...\n", name)
	case planner.BlockDone:
		fmt.Fprintf(pr.w, "%s: Complete after %s (%d added, %d changed, %d destroyed)\n",
			name, round(ev.Elapsed), ev.Added, ev.Changed, ev.Destroyed)
	case planner.BlockFailed:
		fmt.Fprintf(pr.w, "%s: %s after %s: %v\n", name, pr.c.paint(red, "Failed"), round(ev.Elapsed), ev.Err)
	case planner.BlockSkipped:
		fmt.Fprintf(pr.w, "%s: Skipped: %s\n", name, ev.Message)
	case planner.ReleaseEvent:
		fmt.Fprintf(pr.w, "%s: %s [%s]\n", name, ev.Message, round(ev.Elapsed))
	case planner.LockRenewFailed:
		fmt.Fprintf(pr.w, "%s %s: %v\n", pr.c.paint(yellow, "Warning:"), ev.Message, ev.Err)
	case planner.LockLost:
		fmt.Fprintf(pr.w, "%s %v; stopping: no further change is made to the cluster\n", pr.c.paint(red, "Error:"), ev.Err)
	case planner.ObjectEvent:
		o := ev.Object
		switch o.Type {
		case planner.ObjectApplied:
			fmt.Fprintf(pr.w, "%s: %s %s [%s]\n", name, o.Ref, pastTense(o.Action), round(o.Elapsed))
		case planner.ObjectDeleted:
			fmt.Fprintf(pr.w, "%s: %s deleted [%s]\n", name, o.Ref, round(o.Elapsed))
		case planner.ObjectSkipped:
			fmt.Fprintf(pr.w, "%s: %s kept: %s\n", name, o.Ref, o.Message)
		case planner.ObjectWaiting:
			items := make([]string, 0, len(o.Pending))
			for i, s := range o.Pending {
				if i == 3 {
					items = append(items, fmt.Sprintf("and %d more", len(o.Pending)-3))
					break
				}
				items = append(items, s.String())
			}
			fmt.Fprintf(pr.w, "%s: Still waiting for %s [%s elapsed]\n", name, strings.Join(items, ", "), round(o.Elapsed))
		case planner.ObjectNotReady:
			fmt.Fprintf(pr.w, "%s: %s is not ready: %s\n", name, o.Ref, o.Message)
		}
	}
}

func pastTense(a string) string {
	switch a {
	case "create":
		return "created"
	case "update":
		return "updated"
	case "replace":
		return "replaced"
	case "delete":
		return "deleted"
	}
	return a
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
