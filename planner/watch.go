package planner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/strata-gitops/strata/internal/metrics"
	"github.com/strata-gitops/strata/internal/notify"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
)

// WatchEventType is the kind of a WatchEvent.
type WatchEventType string

// The events of a Watcher.
const (
	// WatchChecked: a drift check finished (Report). Changed is true when
	// some block's drift or failure changed since the previous check.
	WatchChecked WatchEventType = "checked"
	// WatchCheckFailed: a drift check could not run (Err).
	WatchCheckFailed WatchEventType = "check_failed"
	// WatchCorrectFailed: correcting the drift of Blocks failed (Err).
	WatchCorrectFailed WatchEventType = "correct_failed"
	// WatchNotifyFailed: a notification could not be delivered (Err).
	WatchNotifyFailed WatchEventType = "notify_failed"
)

// WatchEvent reports the progress of a Watcher.
type WatchEvent struct {
	Type WatchEventType
	// Start is when the check began.
	Start  time.Time
	Report *drift.Report
	// Changed is set on WatchChecked when the drift of a block appeared,
	// changed or went away, or a block's check newly failed.
	Changed bool
	// Blocks are the blocks a failed correction applied.
	Blocks []string
	Err    error
}

// CheckFunc runs one drift check of the given blocks (all when nil). It
// returns the loaded stack too, for notifications and intervals; the stack
// may be set when err is not nil.
type CheckFunc func(ctx context.Context, blocks []string) (*drift.Report, *config.Stack, error)

// Watcher runs drift checks on a schedule: every block at its own
// interval attribute or Interval. It sends the stack's notifications when
// a block's drift appears, changes or goes away and when a check or a
// correction fails, each once per change, and records metrics.
//
// A Watcher is used by one goroutine.
type Watcher struct {
	// Interval is the time between checks of a block without its own
	// interval attribute; it must be positive.
	Interval time.Duration
	// Check runs one check; required.
	Check CheckFunc
	// Correct applies the drifted kustomizations and releases to undo
	// their drift; nil reports drift without correcting it.
	Correct func(ctx context.Context, blocks []string) error
	// Metrics records the checks; nil records nothing.
	Metrics *metrics.Registry
	// OnEvent receives the events; nil drops them.
	OnEvent func(WatchEvent)

	// send delivers a notification (tests replace it).
	send func(ctx context.Context, st *config.Stack, ev notify.Event) error
	mem  map[string]*blockMemory
}

// blockMemory is what the watcher remembers of a block between checks.
type blockMemory struct {
	drifted string // sorted drifted addresses, "" when none
	failed  bool
	next    time.Time
}

// Run checks until ctx is done, then returns ctx's error.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Interval <= 0 {
		return fmt.Errorf("watch interval must be positive, not %s", w.Interval)
	}
	w.mem = map[string]*blockMemory{}
	var due []string // nil: every block
	for {
		start := time.Now()
		rep, st, err := w.Check(ctx, due)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			w.observe(time.Since(start), true)
			w.emit(WatchEvent{Type: WatchCheckFailed, Start: start, Err: err})
			if st != nil {
				dir, _ := filepath.Abs(st.Dir)
				w.notify(ctx, st, notify.Event{Type: notify.Error, Stack: StackName(dir),
					Summary: "drift check failed: " + err.Error()})
			}
		} else {
			w.report(ctx, st, rep, start)
		}
		next := w.schedule(st, due, start)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(next)):
		}
		due = w.due(time.Now())
	}
}

// schedule sets the next check of every block of the stack checked now
// (its own interval or Interval) and returns the earliest next check.
func (w *Watcher) schedule(st *config.Stack, checked []string, start time.Time) time.Time {
	if st == nil {
		return time.Now().Add(w.Interval)
	}
	for _, b := range st.Blocks() {
		addr := b.Address().String()
		m := w.memory(addr)
		if checked == nil || slices.Contains(checked, addr) || m.next.IsZero() {
			iv, ok := blockInterval(b)
			if !ok {
				iv = w.Interval
			}
			m.next = start.Add(iv)
		}
	}
	var next time.Time
	for _, m := range w.mem {
		if next.IsZero() || m.next.Before(next) {
			next = m.next
		}
	}
	return next
}

// due returns the sorted blocks whose check is due at now; nil when none
// (which checks every block).
func (w *Watcher) due(now time.Time) []string {
	var due []string
	for addr, m := range w.mem {
		if !m.next.After(now) {
			due = append(due, addr)
		}
	}
	sort.Strings(due)
	return due
}

func (w *Watcher) memory(addr string) *blockMemory {
	m := w.mem[addr]
	if m == nil {
		m = &blockMemory{}
		w.mem[addr] = m
	}
	return m
}

// report records one check: metrics, notifications on changes, the event,
// and corrections.
func (w *Watcher) report(ctx context.Context, st *config.Stack, rep *drift.Report, start time.Time) {
	w.observe(rep.Duration, rep.HasErrors())
	changed := false
	for i := range rep.Blocks {
		b := &rep.Blocks[i]
		if w.Metrics != nil {
			w.Metrics.SetDrift(b.Address, len(b.Items))
			w.Metrics.SetRevision(b.Address, b.Revision)
		}
		if w.notifyChanges(ctx, st, rep.Stack, b) {
			changed = true
		}
	}
	w.emit(WatchEvent{Type: WatchChecked, Start: start, Report: rep, Changed: changed})
	toCorrect := DriftedBlocks(rep)
	if w.Correct == nil || len(toCorrect) == 0 {
		return
	}
	if err := w.Correct(ctx, toCorrect); err != nil && ctx.Err() == nil {
		w.emit(WatchEvent{Type: WatchCorrectFailed, Start: start, Blocks: toCorrect, Err: err})
		w.notify(ctx, st, notify.Event{Type: notify.Error, Stack: rep.Stack,
			Summary: "applying " + strings.Join(toCorrect, ", ") + " to correct drift failed: " + err.Error()})
	}
}

// notifyChanges sends the notifications of one block whose drift appeared,
// changed or went away, or whose check newly failed, and reports whether
// any did.
func (w *Watcher) notifyChanges(ctx context.Context, st *config.Stack, stack string, b *drift.Block) bool {
	m := w.memory(b.Address)
	addrs := make([]string, 0, len(b.Items))
	for _, it := range b.Items {
		addrs = append(addrs, it.Address)
	}
	key := strings.Join(addrs, "\n")
	changed := false
	switch {
	case key != "" && key != m.drifted:
		changed = true
		ev := notify.Event{Type: notify.Drift, Stack: stack, Block: b.Address,
			Summary: fmt.Sprintf("%s: %d objects differ from what strata applied", b.Address, len(b.Items))}
		for _, it := range b.Items {
			ev.Items = append(ev.Items, notify.Item{Address: it.Address, Kind: string(it.Kind), Message: it.Message, Fields: it.FieldPaths()})
		}
		w.notify(ctx, st, ev)
	case key == "" && m.drifted != "":
		changed = true
		w.notify(ctx, st, notify.Event{Type: notify.Recovered, Stack: stack, Block: b.Address,
			Summary: b.Address + ": no drift any more"})
	}
	if b.Error != "" && !m.failed {
		changed = true
		w.notify(ctx, st, notify.Event{Type: notify.Error, Stack: stack, Block: b.Address,
			Summary: b.Address + ": drift check failed: " + b.Error})
	}
	m.drifted, m.failed = key, b.Error != ""
	return changed
}

func (w *Watcher) observe(d time.Duration, failed bool) {
	if w.Metrics != nil {
		w.Metrics.ObserveCheck(d, time.Now(), failed)
	}
}

func (w *Watcher) emit(ev WatchEvent) {
	if w.OnEvent != nil {
		w.OnEvent(ev)
	}
}

// notify sends a notification to the stack's notification blocks; a
// delivery failure is reported as WatchNotifyFailed.
func (w *Watcher) notify(ctx context.Context, st *config.Stack, ev notify.Event) {
	if st != nil && st.Environment != nil {
		ev.Environment = st.Environment.Name
	}
	send := w.send
	if send == nil {
		send = sendNotification
	}
	if err := send(ctx, st, ev); err != nil && ctx.Err() == nil {
		w.emit(WatchEvent{Type: WatchNotifyFailed, Err: err})
	}
}

// sendNotification sends ev to the stack's notification blocks, if any.
func sendNotification(ctx context.Context, st *config.Stack, ev notify.Event) error {
	n := Notifier(st)
	if n.Len() == 0 {
		return nil
	}
	return n.Send(ctx, ev)
}

// blockInterval returns the interval attribute of a block when it sets one.
func blockInterval(b config.Block) (time.Duration, bool) {
	if _, set := b.BlockMeta().Attrs["interval"]; !set {
		return 0, false
	}
	switch b := b.(type) {
	case *config.GitSource:
		return b.Interval, b.Interval > 0
	case *config.HelmSource:
		return b.Interval, b.Interval > 0
	case *config.OCISource:
		return b.Interval, b.Interval > 0
	case *config.Kustomization:
		return b.Interval, b.Interval > 0
	case *config.Release:
		return b.Interval, b.Interval > 0
	}
	return 0, false
}

// DriftedBlocks returns the addresses of the drifted kustomizations and
// releases of rep: what applying corrects (a moved source is corrected by
// applying what uses it).
func DriftedBlocks(rep *drift.Report) []string {
	var out []string
	for _, b := range rep.Blocks {
		if b.Drifted() && (b.Kind == string(config.KindKustomization) || b.Kind == string(config.KindRelease)) {
			out = append(out, b.Address)
		}
	}
	return out
}
