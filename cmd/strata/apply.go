package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/notify"
	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/state"
)

func (a *app) applyCmd() *cobra.Command {
	var (
		f           stackFlags
		autoApprove bool
	)
	cmd := &cobra.Command{
		Use:   "apply [FILE|DIR]",
		Short: "Apply the stack, or exactly a saved plan",
		Long: `Apply plans the stack in DIR (default: the current directory), shows the
plan, asks for "yes" (unless --auto-approve) and carries it out: blocks in
dependency order, independent blocks in parallel, each finished block
recorded in the state at once.

Given a FILE saved by "strata plan --out FILE", apply carries out exactly
that plan without rendering again, and refuses it when the state or a
planned object changed since the plan was made. Any FILE that is not a
directory is read as a saved plan. With $STRATA_PLAN_KEY set, only a plan
signed with that key is applied.

A plan that violates a mandatory policy is refused. One that violates an
approval policy is applied only after a human's "yes", or with
--approve-policy NAME for each such policy (--auto-approve and saved
plans). A saved plan is checked against the stack's current policies
again. See docs/policy.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			color := view.UseColor(a.stdout, a.getenv, f.noColor)
			ctx, stop := a.interruptible(cmd.Context(), interruptApply)
			defer stop()
			if isPlanFileArg(args) {
				if len(f.adopt) > 0 {
					return errors.New("--adopt takes effect when planning: pass it to strata plan --out FILE")
				}
				return a.applySaved(ctx, &f, args[0], color)
			}
			opts := a.engineOptions(&f, dirArg(args))
			return a.planAndApply(ctx, &f, opts, "apply", color, autoApprove)
		},
	}
	f.register(cmd.Flags())
	f.registerAdopt(cmd.Flags())
	cmd.Flags().BoolVar(&f.allowFluxManaged, "allow-flux-managed", false,
		"apply although a Flux Kustomization or HelmRelease that manages objects the plan adopts is not suspended")
	f.registerApprove(cmd.Flags())
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "apply without asking for confirmation")
	return cmd
}

// isPlanFileArg reports whether the argument of apply names a saved plan:
// anything that exists and is not a directory. A damaged plan file is
// thus reported as a damaged plan, not loaded as a stack directory.
func isPlanFileArg(args []string) bool {
	if len(args) != 1 {
		return false
	}
	fi, err := os.Stat(args[0])
	return err == nil && !fi.IsDir()
}

// planAndApply plans, shows the plan, asks and applies, holding the state
// lock from the plan to the end.
func (a *app) planAndApply(ctx context.Context, f *stackFlags, opts planner.Options, op string, color, autoApprove bool) error {
	pr := view.NewProgress(a.stdout, color)
	opts.OnEvent = pr.Event
	eng, p, err := a.makePlan(ctx, f, opts, op, color, true)
	if err != nil {
		return err
	}
	defer eng.Close()
	defer a.unlock(ctx, eng)
	if err := view.Human(a.stdout, p, view.HumanOptions{Color: color}); err != nil {
		return err
	}
	if p.HasErrors() {
		return a.planErrors(p, "")
	}
	if len(p.PolicyViolations(plan.Mandatory)) > 0 {
		return a.policyRefused(p, "")
	}
	if !p.HasChanges() {
		return nil
	}
	approved := f.approve
	unapproved := p.Unapproved(approved)
	if autoApprove && len(unapproved) > 0 {
		return fmt.Errorf("the plan violates the approval policies %s: --auto-approve applies it only with --approve-policy for each of them, after a human looked at it",
			strings.Join(unapproved, ", "))
	}
	if !autoApprove {
		if len(unapproved) > 0 {
			fmt.Fprintf(a.stdout, "\nAnswering yes approves the violations of the approval policies %s shown above.\n", strings.Join(unapproved, ", "))
			approved = append(approved, unapproved...)
		}
		ok, err := a.confirm(p)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(a.stdout, "\nApply cancelled.")
			return errSilent
		}
	}
	fmt.Fprintln(a.stdout)
	res, err := eng.Apply(ctx, p, planner.ApplyOptions{AllowFluxManaged: f.allowFluxManaged, ApprovedPolicies: approved})
	if err != nil {
		a.notifyApplyFailed(ctx, eng.Stack(), p, res, err)
	}
	return a.finish(p, res, err)
}

func (a *app) applySaved(ctx context.Context, f *stackFlags, file string, color bool) error {
	key, err := a.planKey()
	if err != nil {
		return err
	}
	// An encrypted plan and state are read with the key of the stack in
	// the current directory; with one, a plan that is not encrypted is
	// refused. For a plan that is not encrypted, a stack there that does
	// not load (another stack, a work in progress) is no reason to fail.
	encrypted := plan.IsEncryptedFile(file)
	enc, err := a.stackEncryption(".", !encrypted)
	if err != nil {
		return err
	}
	p, err := key.WithEncryption(enc).ReadFile(file)
	if err != nil {
		return err
	}
	if f.environment != "" && f.environment != p.Environment {
		return fmt.Errorf("the saved plan %s was made for %s, not for the environment %q: apply it without -e, or plan again with -e %s",
			file, planEnvironmentName(p), f.environment, f.environment)
	}
	if err := a.reevaluatePolicies(f, p, color); err != nil {
		return err
	}
	pr := view.NewProgress(a.stdout, color)
	opts := a.engineOptions(f, p.Dir)
	opts.Encryption = enc
	opts.OnEvent = pr.Event
	eng, err := planner.ForPlan(p, opts)
	if err != nil {
		return err
	}
	defer eng.Close()
	if f.lock {
		op := "apply"
		if p.Destroy {
			op = "destroy"
		}
		if err := eng.Lock(ctx, op, f.lockTimeout); err != nil {
			return lockError(err)
		}
		defer a.unlock(ctx, eng)
	}
	if !p.HasChanges() {
		fmt.Fprintln(a.stdout, "No changes. The cluster matches the stack.")
		return nil
	}
	res, err := eng.Apply(ctx, p, planner.ApplyOptions{Saved: true, AllowFluxManaged: f.allowFluxManaged, ApprovedPolicies: f.approve})
	if err != nil {
		// A saved plan holds no notification URLs (they are credentials):
		// they come from the stack's configuration, where it still is.
		st, diags := config.Load(p.Dir, config.LoadOptions{Vars: f.vars, Getenv: a.getenv, Partial: true, Environment: p.Environment, StatePathUnused: true})
		if diags.HasErrors() {
			st = nil
		}
		a.notifyApplyFailed(ctx, st, p, res, err)
	}
	return a.finish(p, res, err)
}

// notifyApplyFailed sends an error event per failed block (or one for the
// whole apply when it failed before any block) to the stack's notification
// blocks. Delivery outlives an interrupt, for at most 30 seconds.
func (a *app) notifyApplyFailed(ctx context.Context, st *config.Stack, p *plan.Plan, res *planner.Result, err error) {
	n := planner.Notifier(st)
	if n.Len() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	verb := "apply"
	if p.Destroy {
		verb = "destroy"
	}
	if res == nil || len(res.Failed) == 0 {
		a.send(ctx, n, notify.Event{Type: notify.Error, Stack: p.Stack, Environment: p.Environment, Summary: verb + " failed: " + err.Error()})
		return
	}
	addrs := make([]string, 0, len(res.Failed))
	for addr := range res.Failed {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	for _, addr := range addrs {
		a.send(ctx, n, notify.Event{Type: notify.Error, Stack: p.Stack, Environment: p.Environment, Block: addr,
			Summary: fmt.Sprintf("%s of %s failed: %v", verb, addr, res.Failed[addr])})
	}
}

// finish prints the outcome of an apply.
func (a *app) finish(p *plan.Plan, res *planner.Result, err error) error {
	if res != nil {
		verb := "Apply"
		if p.Destroy {
			verb = "Destroy"
		}
		recorded := "what was applied is recorded in the state"
		if res.StateErr != nil {
			recorded = "the state may not record all of it (run strata plan to compare the stack with the cluster)"
		}
		switch {
		case err == nil:
			fmt.Fprintf(a.stdout, "\n%s complete! Objects: %d added, %d changed, %d destroyed.\n", verb, res.Added, res.Changed, res.Destroyed)
		case errors.Is(err, state.ErrLockLost):
			fmt.Fprintf(a.stdout, "\n%s stopped: the state lock was lost. Objects: %d added, %d changed, %d destroyed before it stopped; %s.\n",
				verb, res.Added, res.Changed, res.Destroyed, recorded)
		default:
			fmt.Fprintf(a.stdout, "\n%s failed. Objects: %d added, %d changed, %d destroyed; %s.\n",
				verb, res.Added, res.Changed, res.Destroyed, recorded)
		}
	}
	return err
}

// confirm asks for "yes" on the terminal.
func (a *app) confirm(p *plan.Plan) (bool, error) {
	if !view.IsTerminal(a.stdin) {
		return false, errors.New("standard input is not a terminal: pass --auto-approve to apply without confirmation")
	}
	fmt.Fprint(a.stdout, confirmPrompt(p))
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	return strings.TrimSpace(line) == "yes", nil
}

// confirmPrompt is the question confirm asks; it names the environment of
// a stack with environments, as Terraform names the workspace.
func confirmPrompt(p *plan.Plan) string {
	in := ""
	if p.Environment != "" {
		in = fmt.Sprintf(" in environment %q", p.Environment)
	}
	if p.Destroy {
		return "\nDo you really want to destroy every object of the stack" + in + "?\n" +
			"  strata will delete everything described above. There is no undo.\n" +
			"  Only 'yes' will be accepted to confirm.\n\n  Enter a value: "
	}
	return "\nDo you want to perform these actions" + in + "?\n" +
		"  strata will perform the actions described above.\n" +
		"  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
}
