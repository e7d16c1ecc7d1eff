package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/state"
)

// stackFlags are the flags of the commands that plan a stack: plan, apply
// and destroy.
type stackFlags struct {
	vars    []config.VarArg // --var and --var-file in command line order
	targets []string
	adopt   []string // plan and apply only
	approve []string // apply and destroy only: --approve-policy
	// allowFluxManaged applies although a Flux object that manages what
	// the plan adopts is not suspended (apply only).
	allowFluxManaged bool
	lock             bool
	lockTimeout      time.Duration
	parallelism      int
	noColor          bool
	kubeconfig       string
	context          string
	statePath        string
	environment      string
}

func (f *stackFlags) register(fs *pflag.FlagSet) {
	addVarFlags(fs, &f.vars)
	addEnvironmentFlag(fs, &f.environment)
	fs.StringArrayVar(&f.targets, "target", nil, "limit to this block address and its dependencies (repeatable)")
	fs.BoolVar(&f.lock, "lock", true, "lock the state while running")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "how long to wait for the state lock")
	fs.IntVar(&f.parallelism, "parallelism", planner.DefaultParallelism, "how many blocks to plan and apply at once")
	fs.BoolVar(&f.noColor, "no-color", false, "never colour the output")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the stack's cluster block, $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context")
	fs.StringVar(&f.statePath, "state", "", "state file of the local backend (default .strata/state.db in the stack)")
}

func (a *app) engineOptions(f *stackFlags, dir string) planner.Options {
	return planner.Options{
		Dir:         dir,
		Vars:        f.vars,
		Targets:     f.targets,
		Adopt:       f.adopt,
		Parallelism: f.parallelism,
		Kubeconfig:  f.kubeconfig,
		Context:     f.context,
		StatePath:   f.statePath,
		Environment: f.environment,
		Getenv:      a.getenv,
	}
}

// What interruptible prints on the first SIGINT or SIGTERM: for commands
// that only read, and for those that apply.
const (
	interruptRead  = "\nInterrupt received: stopping.\nInterrupt again to stop at once."
	interruptApply = "\nInterrupt received: cancelling the blocks that are running. What they applied so far is\n" +
		"recorded in the state (the blocks as failed); blocks not started yet are skipped.\n" +
		"Interrupt again to stop at once (a later apply converges)."
)

// interruptible returns a context cancelled by the first SIGINT or SIGTERM,
// printing msg to tell the user what happens next. A second signal ends
// the process at once.
func (a *app) interruptible(parent context.Context, msg string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sig:
			// A second interrupt ends the process at once.
			signal.Stop(sig)
			fmt.Fprintln(a.stderr, msg)
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(sig); cancel() }
}

// unlockGrace bounds the release of the state lock after an interrupt:
// strata was asked to stop, and an API server that does not answer would
// hold the run for the kubernetes backend's request timeout (30 seconds).
const unlockGrace = 3 * time.Second

// unlock releases the state lock of eng. When it cannot (an API server
// gone mid-run takes the kubernetes backend's lock with it), it says so on
// stderr with the way out, and returns errSilent; after an interrupt (ctx
// done) it waits at most unlockGrace and returns nil, as the run fails
// with the interrupt already. Deferred calls drop the result: the warning
// is what the user sees.
func (a *app) unlock(ctx context.Context, eng *planner.Engine) error {
	id := eng.LockID()
	uctx := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		uctx, cancel = context.WithTimeout(uctx, unlockGrace)
		defer cancel()
	}
	err := eng.Unlock(uctx)
	if err == nil || errors.Is(err, state.ErrNotLocked) || errors.Is(err, state.ErrLockMismatch) {
		// (Not held any more: force-unlocked or taken over, which the
		// run has reported already.)
		return nil
	}
	fmt.Fprintf(a.stderr, "Warning: the state lock %s was not released: %v\n\n"+
		"The kubernetes backend's lock expires with its lease (a run with a --lock-timeout longer than the lease then takes it); strata force-unlock %s removes it at once.\n", id, err, id)
	if ctx.Err() != nil {
		return nil
	}
	return errSilent
}

// planKeyEnv names the environment variable holding the secret that signs
// saved plans (plan --out) and that apply FILE and show FILE then require.
const planKeyEnv = "STRATA_PLAN_KEY"

// planKey returns the key of $STRATA_PLAN_KEY, or the zero key (no
// signing, no check) when it is unset.
func (a *app) planKey() (plan.Key, error) {
	secret := a.getenv(planKeyEnv)
	if secret == "" {
		return plan.Key{}, nil
	}
	key, err := plan.NewKey([]byte(secret))
	if err != nil {
		return plan.Key{}, fmt.Errorf("%s: %w", planKeyEnv, err)
	}
	return key, nil
}

func dirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

// registerAdopt adds --adopt, of plan and apply.
func (f *stackFlags) registerAdopt(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.adopt, "adopt", nil,
		"take over the object (or every object of the kustomization or release) at this address that exists without strata's labels, or for a release outside any Helm release (repeatable)")
}

// renderPlan writes p in the output format.
func (a *app) renderPlan(w io.Writer, p *plan.Plan, output string, color bool) error {
	switch output {
	case "", "human":
		return view.Human(w, p, view.HumanOptions{Color: color})
	case "json":
		return view.JSON(w, p)
	case "markdown", "md":
		return view.Markdown(w, p, view.MarkdownOptions{})
	}
	return fmt.Errorf("unknown output format %q: use human, json or markdown", output)
}

func checkOutput(output string) error {
	switch output {
	case "", "human", "json", "markdown", "md":
		return nil
	}
	return fmt.Errorf("unknown output format %q: use human, json or markdown", output)
}

// lockError explains a lock failure.
func lockError(err error) error {
	if errors.Is(err, state.ErrLocked) {
		return fmt.Errorf("%w\n\nAnother strata run holds the state lock. Wait for it, retry with --lock-timeout (longer than the lease, for the kubernetes backend's lock of a crashed run), or remove a stale lock with strata force-unlock ID", err)
	}
	return err
}

// makePlan loads the stack and plans it, holding the lock while it reads
// unless keepLock; it returns the engine (locked when keepLock).
func (a *app) makePlan(ctx context.Context, f *stackFlags, opts planner.Options, op string, color, keepLock bool) (*planner.Engine, *plan.Plan, error) {
	eng, diags := planner.Load(opts)
	if len(diags) > 0 {
		var files map[string]*hcl.File
		if eng != nil && eng.Stack() != nil {
			files = eng.Stack().Files
		}
		a.writeDiags(diags, files)
		if diags.HasErrors() {
			return nil, nil, errSilent
		}
	}
	if f.lock {
		if err := eng.Lock(ctx, op, f.lockTimeout); err != nil {
			eng.Close()
			return nil, nil, lockError(err)
		}
	}
	p, err := eng.Plan(ctx)
	if err != nil || !keepLock {
		if uerr := a.unlock(ctx, eng); uerr != nil && err == nil {
			err = uerr
		}
	}
	if err != nil {
		if d := blockDiagnostics(err); d != nil {
			a.writeDiags(d, eng.Stack().Files)
			err = errSilent
		}
		eng.Close()
		return nil, nil, err
	}
	for _, addr := range eng.Suspended() {
		fmt.Fprintf(a.stderr, "Skipping %s: suspend = true.\n", addr)
	}
	if len(f.targets) > 0 {
		fmt.Fprintf(a.stderr, "Warning: the plan is limited to %s and the blocks they depend on.\n\n"+
			"It may leave the cluster different from the stack; use --target for exceptional cases only.\n\n",
			strings.Join(f.targets, ", "))
	}
	return eng, p, nil
}

// blockDiagnostics returns err as a diagnostic when it is an error in the
// stack's files found while planning a block (a planner.BlockError): it
// is rendered like the errors of loading the stack, at the attribute at
// fault. Nil for any other error.
func blockDiagnostics(err error) hcl.Diagnostics {
	var be *planner.BlockError
	if !errors.As(err, &be) {
		return nil
	}
	return hcl.Diagnostics{be.Diagnostic()}
}

// planErrors reports a plan that holds errors (shown with the plan): it is
// not saved, and the command exits 1.
func (a *app) planErrors(p *plan.Plan, out string) error {
	msg := view.ErrorsLine(p)
	if out != "" {
		msg += " It was not saved to " + out + "."
	}
	fmt.Fprintln(a.stderr, "\n"+msg)
	return errSilent
}

func (a *app) planCmd() *cobra.Command {
	var (
		f        stackFlags
		out      string
		output   string
		detailed bool
		destroy  bool
		allEnvs  bool
		envPar   int
	)
	cmd := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "Show what apply would change in the cluster",
		Long: `Plan loads the stack in DIR (default: the current directory), resolves its
sources, renders every kustomization, reads the state and the live cluster,
and prints what apply would do: per object create, update (with the
field-level diff), replace, delete or forget, and the drift found on the
way. Objects the plan cannot change (owned by another stack, block or Helm
release, rendered by two blocks, or existing without strata's labels, or
for a release outside any Helm release, and not adopted with --adopt or
adopt = true) are errors: the plan is printed, then the
errors, and plan exits 1. So does a plan that violates a mandatory policy
(a policy block of the stack, or the cluster's admission chain refusing
an object): see docs/policy.md.

With --out FILE the plan is saved so that "strata apply FILE" carries out
exactly what was reviewed. With $STRATA_PLAN_KEY set (a secret of at least
32 bytes) the file is signed, and show and apply FILE refuse it unless it
carries the signature of that key (see docs/plan-json.md).

On a stack with environment blocks, -e NAME plans one environment (its
cluster, values and state); --all-environments plans every one, each with
its own connection, state and lock, and prints them together (-o markdown:
one pull-request comment with a row and a collapsible plan per
environment; -o json: an array of {"environment", "plan", "error"}). An
environment that cannot be planned is reported in its place; the command
exits 1 when one could not be planned or its plan has errors or violates a
mandatory policy, naming those environments, and otherwise with
--detailed-exitcode 2 when any environment has changes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			key, err := a.planKey()
			if err != nil {
				return err
			}
			color := view.UseColor(a.stdout, a.getenv, f.noColor)
			ctx, stop := a.interruptible(cmd.Context(), interruptRead)
			defer stop()
			if allEnvs {
				if err := checkAllEnvironments(&f, out); err != nil {
					return err
				}
				return a.planAllEnvironments(ctx, &f, dirArg(args), allEnvironments{
					output: output, detailed: detailed, destroy: destroy, parallelism: envPar, color: color})
			}
			opts := a.engineOptions(&f, dirArg(args))
			opts.Destroy = destroy
			eng, p, err := a.makePlan(ctx, &f, opts, "plan", color, false)
			if err != nil {
				return err
			}
			defer eng.Close()
			if err := a.renderPlan(a.stdout, p, output, color); err != nil {
				return err
			}
			if p.HasErrors() {
				return a.planErrors(p, out)
			}
			if len(p.PolicyViolations(plan.Mandatory)) > 0 {
				return a.policyRefused(p, out)
			}
			a.policyNotes(p, output)
			if out != "" {
				if err := key.WithEncryption(eng.EncryptionKey()).WriteFile(out, p); err != nil {
					return err
				}
				if output == "" || output == "human" {
					fmt.Fprintf(a.stdout, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run:\n  strata apply %s\n", out, out)
				}
			}
			if detailed && p.HasChanges() {
				return &exitError{code: 2}
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	f.registerAdopt(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "", "save the plan to FILE for strata apply FILE")
	cmd.Flags().StringVarP(&output, "output", "o", "human", "output format: human, json or markdown")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 without changes, 1 on error, 2 with changes")
	cmd.Flags().BoolVar(&destroy, "destroy", false, "plan the removal of everything the state holds")
	cmd.Flags().BoolVar(&allEnvs, "all-environments", false, "plan every environment of the stack, each against its own cluster and state")
	cmd.Flags().IntVar(&envPar, "environment-parallelism", defaultEnvironmentParallelism, "how many environments --all-environments plans at once")
	return cmd
}
