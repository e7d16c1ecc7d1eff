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
	addVarFlags(fs, &f.stack.vars)
	addEnvironmentFlag(fs, &f.stack.environment)
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
		return view.DriftJSON(w, rep)
	case "markdown", "md":
		return view.DriftMarkdown(w, rep)
	}
	return view.DriftHuman(w, rep, view.DriftOptions{Color: color})
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
		if err := a.correctDrift(ctx, f, dir, planner.DriftedBlocks(rep)); err != nil {
			n := planner.Notifier(st)
			_ = n.Send(ctx, notify.Event{Type: notify.Error, Stack: rep.Stack, Environment: rep.Environment,
				Summary: "correcting drift failed: " + err.Error()})
			return err
		}
		return nil
	}
	return &exitError{code: 2}
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
	pr := view.NewProgress(a.stdout, false)
	opts.OnEvent = pr.Event
	eng, p, err := a.makePlan(ctx, &sf, opts, "apply", false, true)
	if err != nil {
		return err
	}
	defer eng.Close()
	defer a.unlock(ctx, eng)
	if !p.HasChanges() && !p.HasErrors() {
		fmt.Fprintln(a.stdout, "No changes. The cluster matches the stack.")
		return nil
	}
	res, err := eng.Apply(ctx, p, planner.ApplyOptions{}) // refuses a plan with errors, naming them
	return a.finish(p, res, err)
}

// watchDrift runs drift checks on a schedule until SIGINT or SIGTERM.
func (a *app) watchDrift(parent context.Context, f *driftFlags, dir string) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	reg := metrics.New()
	if f.metricsAddr != "" {
		shutdown, err := a.serveMetrics(parent, cancel, reg, f.metricsAddr)
		if err != nil {
			return err
		}
		defer shutdown()
	}
	w := &planner.Watcher{
		Interval: f.interval,
		Check: func(ctx context.Context, blocks []string) (*drift.Report, *config.Stack, error) {
			return a.checkDrift(ctx, f, dir, blocks)
		},
		Metrics: reg,
		OnEvent: func(ev planner.WatchEvent) { a.watchEvent(ev, f.output) },
	}
	if f.correct {
		w.Correct = func(ctx context.Context, blocks []string) error { return a.correctDrift(ctx, f, dir, blocks) }
	}
	_ = w.Run(ctx)
	if err := context.Cause(ctx); errors.Is(err, errMetricsServer) {
		return err
	}
	fmt.Fprintln(a.stderr, "Stopped.")
	return nil
}

// errMetricsServer marks the failure of the metrics server of watch mode.
var errMetricsServer = errors.New("metrics server")

// serveMetrics serves reg on addr until shutdown is called; a failure of
// the server cancels the watch with errMetricsServer.
func (a *app) serveMetrics(parent context.Context, cancel context.CancelCauseFunc, reg *metrics.Registry, addr string) (shutdown func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	fmt.Fprintf(a.stderr, "Serving metrics on http://%s/metrics\n", ln.Addr())
	srv := &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			cancel(fmt.Errorf("%w: %w", errMetricsServer, err))
		}
	}()
	return func() {
		sctx, done := context.WithTimeout(context.WithoutCancel(parent), 500*time.Millisecond)
		defer done()
		_ = srv.Shutdown(sctx)
	}, nil
}

// watchEvent renders one event of watch mode.
func (a *app) watchEvent(ev planner.WatchEvent, output string) {
	switch ev.Type {
	case planner.WatchCheckFailed:
		fmt.Fprintf(a.stderr, "%s drift check failed: %v\n", time.Now().UTC().Format(time.RFC3339), ev.Err)
	case planner.WatchChecked:
		checked, drifted := ev.Report.Counts()
		fmt.Fprintf(a.stderr, "%s checked %d objects in %s: %d drifted\n", ev.Start.UTC().Format(time.RFC3339), checked,
			ev.Report.Duration.Round(time.Millisecond), drifted)
		if ev.Changed {
			_ = a.renderDrift(a.stdout, ev.Report, output, false)
		}
	case planner.WatchCorrectFailed:
		fmt.Fprintf(a.stderr, "correcting drift failed: %v\n", ev.Err)
	case planner.WatchNotifyFailed:
		fmt.Fprintf(a.stderr, "Warning: %v\n", ev.Err)
	}
}

func (a *app) send(ctx context.Context, n *notify.Notifier, ev notify.Event) {
	if n.Len() == 0 {
		return
	}
	if err := n.Send(ctx, ev); err != nil && ctx.Err() == nil {
		fmt.Fprintf(a.stderr, "Warning: %v\n", err)
	}
}
