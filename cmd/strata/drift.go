package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/metrics"
	"github.com/strata-gitops/strata/internal/notify"
	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
)

// driftFlags are the flags of strata drift.
type driftFlags struct {
	stack       stackFlags
	output      string
	sources     bool
	watch       bool
	interval    time.Duration
	metricsAddr string
	correct     bool
}

func (a *app) driftCmd() *cobra.Command {
	var f driftFlags
	cmd := &cobra.Command{
		Use:   "drift [DIR]",
		Short: "Compare the live cluster with what strata applied",
		Long: `Drift compares the live cluster with what the state says strata applied:
objects whose fields were edited, objects deleted, and Helm releases upgraded,
rolled back or uninstalled behind strata's back. With --sources it also
reports Git sources that moved on since the last apply and releases whose
chart repository serves a newer chart matching their version constraint
(the cluster is behind Git or the repository). Blocks with suspend = true are skipped and reported as such.

Exit codes: 0 no drift, 1 error, 2 drift.

With --watch the check runs every --interval (a block's own interval
attribute overrides it), serves Prometheus metrics and /healthz on
--metrics-addr, sends the stack's notifications when drift is found, when
it is resolved and when a check or a correction fails, and stops cleanly on
SIGINT or SIGTERM. --correct applies the drifted blocks to undo the drift.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			if f.watch {
				if f.interval <= 0 {
					return errors.New("--interval must be positive")
				}
				return a.watchDrift(cmd.Context(), &f, dirArg(args))
			}
			return a.driftOnce(cmd.Context(), &f, dirArg(args))
		},
	}
	fs := cmd.Flags()
	fs.Var(varFlag{list: &f.stack.vars}, "var", "set a variable: --var NAME=VALUE (repeatable)")
	fs.Var(varFlag{list: &f.stack.vars, file: true}, "var-file", "read variables from an HCL or JSON file (repeatable)")
	fs.StringArrayVar(&f.stack.targets, "target", nil, "check only this block address (repeatable)")
	fs.BoolVar(&f.stack.noColor, "no-color", false, "never colour the output")
	fs.StringVar(&f.stack.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the stack's cluster block, $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&f.stack.context, "context", "", "kubeconfig context")
	fs.StringVar(&f.stack.statePath, "state", "", "state file of the local backend (default .strata/state.db in the stack)")
	fs.BoolVar(&f.stack.lock, "lock", true, "lock the state while correcting (--correct)")
	fs.DurationVar(&f.stack.lockTimeout, "lock-timeout", time.Minute, "how long --correct waits for the state lock")
	fs.StringVarP(&f.output, "output", "o", "human", "output format: human, json or markdown")
	fs.BoolVar(&f.sources, "sources", false, "also report Git sources and charts with a newer revision than the one applied")
	fs.BoolVar(&f.watch, "watch", false, "check on a schedule until interrupted")
	fs.DurationVar(&f.interval, "interval", 10*time.Minute, "time between checks with --watch (a block's interval attribute overrides it)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", ":8080", "address serving /metrics and /healthz with --watch (empty: none)")
	fs.BoolVar(&f.correct, "correct", false, "apply the drifted blocks to undo the drift")
	return cmd
}

// loadEngine loads the stack and renders its diagnostics.
func (a *app) loadEngine(opts planner.Options) (*planner.Engine, error) {
	eng, diags := planner.Load(opts)
	if len(diags) > 0 {
		var files map[string]*hcl.File
		if eng != nil && eng.Stack() != nil {
			files = eng.Stack().Files
		}
		a.writeDiags(diags, files)
		if diags.HasErrors() {
			if eng != nil {
				eng.Close()
			}
			return nil, errSilent
		}
	}
	return eng, nil
}

// checkDrift loads the stack and runs one drift check of the given blocks
// (all when empty). It returns the stack too, for notifications and
// intervals.
func (a *app) checkDrift(ctx context.Context, f *driftFlags, dir string, blocks []string) (*drift.Report, *config.Stack, error) {
	opts := a.engineOptions(&f.stack, dir)
	opts.Targets = nil
	eng, err := a.loadEngine(opts)
	if err != nil {
		return nil, nil, err
	}
	defer eng.Close()
	rep, err := eng.Drift(ctx, planner.DriftOptions{Sources: f.sources, Blocks: blocks})
	return rep, eng.Stack(), err
}

func (a *app) renderDrift(w io.Writer, rep *drift.Report, output string, color bool) error {
	switch output {
	case "json":
		return drift.JSON(w, rep)
	case "markdown", "md":
		return drift.Markdown(w, rep)
	}
	return drift.Human(w, rep, drift.HumanOptions{Color: color})
}

func (a *app) driftOnce(ctx context.Context, f *driftFlags, dir string) error {
	msg := interruptRead
	if f.correct {
		msg = interruptApply
	}
	ctx, stop := a.interruptible(ctx, msg)
	defer stop()
	color := view.UseColor(a.stdout, a.getenv, f.stack.noColor)
	rep, st, err := a.checkDrift(ctx, f, dir, f.stack.targets)
	if err != nil {
		return err
	}
	if err := a.renderDrift(a.stdout, rep, f.output, color); err != nil {
		return err
	}
	if rep.HasErrors() {
		return &exitError{code: 1, err: errors.New("some blocks could not be checked")}
	}
	if !rep.HasDrift() {
		return nil
	}
	if f.correct {
		if err := a.correctDrift(ctx, f, dir, driftedBlocks(rep)); err != nil {
			n := notifier(st)
			_ = n.Send(ctx, notify.Event{Type: notify.Error, Stack: rep.Stack, Summary: "correcting drift failed: " + err.Error()})
			return err
		}
		return nil
	}
	return &exitError{code: 2}
}

// driftedBlocks returns the addresses of the drifted kustomizations and
// releases (a moved source is corrected by applying what uses it).
func driftedBlocks(rep *drift.Report) []string {
	var out []string
	for _, b := range rep.Blocks {
		if b.Drifted() && (b.Kind == string(config.KindKustomization) || b.Kind == string(config.KindRelease)) {
			out = append(out, b.Address)
		}
	}
	return out
}

// correctDrift plans and applies the given blocks (with what they depend
// on) to undo their drift.
func (a *app) correctDrift(ctx context.Context, f *driftFlags, dir string, blocks []string) error {
	if len(blocks) == 0 {
		return nil
	}
	fmt.Fprintf(a.stdout, "\nCorrecting drift: applying %s.\n\n", strings.Join(blocks, ", "))
	sf := f.stack
	sf.targets = nil
	opts := a.engineOptions(&sf, dir)
	opts.Targets = blocks
	pr := newProgress(a.stdout, false)
	opts.OnEvent = pr.event
	eng, p, err := a.makePlan(ctx, &sf, opts, "apply", false, true)
	if err != nil {
		return err
	}
	defer eng.Close()
	defer eng.Unlock(context.WithoutCancel(ctx))
	if !p.HasChanges() && !p.HasErrors() {
		fmt.Fprintln(a.stdout, "No changes. The cluster matches the stack.")
		return nil
	}
	res, err := eng.Apply(ctx, p, planner.ApplyOptions{}) // refuses a plan with errors, naming them
	return a.finish(p, res, err)
}

// notifier builds the notifier of the stack's notification blocks.
func notifier(st *config.Stack) *notify.Notifier {
	var ts []notify.Target
	if st != nil {
		names := make([]string, 0, len(st.Notifications))
		for n := range st.Notifications {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			n := st.Notifications[name]
			t := notify.Target{Name: name, Type: n.Type, URL: n.URL.Reveal(), Events: n.Events}
			if len(n.Headers) > 0 {
				t.Headers = make(map[string]string, len(n.Headers))
				for k, v := range n.Headers {
					t.Headers[k] = v.Reveal()
				}
			}
			ts = append(ts, t)
		}
	}
	return notify.New(ts, notify.Options{})
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
	case *config.Kustomization:
		return b.Interval, b.Interval > 0
	case *config.Release:
		return b.Interval, b.Interval > 0
	}
	return 0, false
}

// blockMemory is what watch remembers of a block between checks.
type blockMemory struct {
	drifted string // sorted drifted addresses, "" when none
	failed  bool
	next    time.Time
}

// watchDrift runs drift checks on a schedule until SIGINT or SIGTERM.
func (a *app) watchDrift(parent context.Context, f *driftFlags, dir string) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	reg := metrics.New()
	srvDone := make(chan error, 1)
	var srv *http.Server
	if f.metricsAddr != "" {
		ln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		fmt.Fprintf(a.stderr, "Serving metrics on http://%s/metrics\n", ln.Addr())
		srv = &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { srvDone <- srv.Serve(ln) }()
	}
	defer func() {
		if srv != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 500*time.Millisecond)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}
	}()

	mem := map[string]*blockMemory{}
	var due []string // nil: every block
	for {
		start := time.Now()
		rep, st, err := a.checkDrift(ctx, f, dir, due)
		if ctx.Err() != nil {
			fmt.Fprintln(a.stderr, "Stopped.")
			return nil
		}
		if err != nil {
			reg.ObserveCheck(time.Since(start), time.Now(), true)
			fmt.Fprintf(a.stderr, "%s drift check failed: %v\n", time.Now().UTC().Format(time.RFC3339), err)
			if st != nil {
				a.notifyErr(ctx, st, "", err)
			}
		} else {
			a.watchReport(ctx, f, dir, reg, st, rep, mem, start)
		}
		// Schedule every block of the stack: its own interval or --interval.
		next := time.Now().Add(f.interval)
		if st != nil {
			for _, b := range st.Blocks() {
				addr := b.Address().String()
				m := mem[addr]
				if m == nil {
					m = &blockMemory{}
					mem[addr] = m
				}
				if due == nil || slices.Contains(due, addr) || m.next.IsZero() {
					iv, ok := blockInterval(b)
					if !ok {
						iv = f.interval
					}
					m.next = start.Add(iv)
				}
			}
			next = time.Time{}
			for _, m := range mem {
				if next.IsZero() || m.next.Before(next) {
					next = m.next
				}
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(a.stderr, "Stopped.")
			return nil
		case err := <-srvDone:
			return fmt.Errorf("metrics server: %w", err)
		case <-time.After(time.Until(next)):
		}
		due = due[:0:0]
		now := time.Now()
		for addr, m := range mem {
			if !m.next.After(now) {
				due = append(due, addr)
			}
		}
		sort.Strings(due)
		if len(due) == 0 {
			due = nil
		}
	}
}

// watchReport records one check of watch mode: metrics, output,
// notifications on changes, and corrections.
func (a *app) watchReport(ctx context.Context, f *driftFlags, dir string, reg *metrics.Registry, st *config.Stack,
	rep *drift.Report, mem map[string]*blockMemory, start time.Time) {
	reg.ObserveCheck(rep.Duration, time.Now(), rep.HasErrors())
	changed := false
	n := notifier(st)
	var toCorrect []string
	for _, b := range rep.Blocks {
		reg.SetDrift(b.Address, len(b.Items))
		reg.SetRevision(b.Address, b.Revision)
		m := mem[b.Address]
		if m == nil {
			m = &blockMemory{}
			mem[b.Address] = m
		}
		var addrs []string
		for _, it := range b.Items {
			addrs = append(addrs, it.Address)
		}
		key := strings.Join(addrs, "\n")
		switch {
		case key != "" && key != m.drifted:
			changed = true
			ev := notify.Event{Type: notify.Drift, Stack: rep.Stack, Block: b.Address,
				Summary: fmt.Sprintf("%s: %d objects differ from what strata applied", b.Address, len(b.Items))}
			for _, it := range b.Items {
				ev.Items = append(ev.Items, notify.Item{Address: it.Address, Kind: string(it.Kind), Message: it.Message, Fields: it.FieldPaths()})
			}
			a.send(ctx, n, ev)
		case key == "" && m.drifted != "":
			changed = true
			a.send(ctx, n, notify.Event{Type: notify.Recovered, Stack: rep.Stack, Block: b.Address,
				Summary: b.Address + ": no drift any more"})
		}
		if b.Error != "" && !m.failed {
			changed = true
			a.send(ctx, n, notify.Event{Type: notify.Error, Stack: rep.Stack, Block: b.Address,
				Summary: b.Address + ": drift check failed: " + b.Error})
		}
		m.drifted, m.failed = key, b.Error != ""
		if key != "" && (b.Kind == string(config.KindKustomization) || b.Kind == string(config.KindRelease)) {
			toCorrect = append(toCorrect, b.Address)
		}
	}
	checked, drifted := rep.Counts()
	fmt.Fprintf(a.stderr, "%s checked %d objects in %s: %d drifted\n", start.UTC().Format(time.RFC3339), checked,
		rep.Duration.Round(time.Millisecond), drifted)
	if changed {
		_ = a.renderDrift(a.stdout, rep, f.output, false)
	}
	if f.correct && len(toCorrect) > 0 {
		if err := a.correctDrift(ctx, f, dir, toCorrect); err != nil && ctx.Err() == nil {
			fmt.Fprintf(a.stderr, "correcting drift failed: %v\n", err)
			a.send(ctx, n, notify.Event{Type: notify.Error, Stack: rep.Stack,
				Summary: "applying " + strings.Join(toCorrect, ", ") + " to correct drift failed: " + err.Error()})
		}
	}
}

func (a *app) notifyErr(ctx context.Context, st *config.Stack, block string, err error) {
	dir, _ := filepath.Abs(st.Dir)
	a.send(ctx, notifier(st), notify.Event{Type: notify.Error, Stack: planner.StackName(dir), Block: block,
		Summary: "drift check failed: " + err.Error()})
}

func (a *app) send(ctx context.Context, n *notify.Notifier, ev notify.Event) {
	if n.Len() == 0 {
		return
	}
	if err := n.Send(ctx, ev); err != nil && ctx.Err() == nil {
		fmt.Fprintf(a.stderr, "Warning: %v\n", err)
	}
}
