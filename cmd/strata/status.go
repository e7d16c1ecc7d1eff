package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner"
)

func (a *app) statusCmd() *cobra.Command {
	var (
		f       driftFlags
		noDrift bool
	)
	cmd := &cobra.Command{
		Use:   "status [DIR]",
		Short: "Show a line per block: revision, readiness, last apply, drift",
		Long: `Status prints a line per block of the stack, like "flux get all": its kind and
address, the source revision it was applied from, whether it is ready (and
why not), when it was last applied, how many of its objects drifted, and
whether it is suspended. The drift column comes from a drift check against
the live cluster; --no-drift reads the state only.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch f.output {
			case "", "human", "json":
			default:
				return fmt.Errorf("unknown output format %q: use human or json", f.output)
			}
			ctx, stop := a.interruptible(cmd.Context(), interruptRead)
			defer stop()
			lines, err := a.status(ctx, &f, dirArg(args), !noDrift)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return view.StatusJSON(a.stdout, lines)
			}
			return view.StatusTable(a.stdout, lines)
		},
	}
	fs := cmd.Flags()
	addVarFlags(fs, &f.stack.vars)
	addEnvironmentFlag(fs, &f.stack.environment)
	fs.StringVar(&f.stack.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the stack's cluster block, $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&f.stack.context, "context", "", "kubeconfig context")
	fs.StringVar(&f.stack.statePath, "state", "", "state file of the local backend (default .strata/state.db in the stack)")
	fs.StringVarP(&f.output, "output", "o", "human", "output format: human or json")
	fs.BoolVar(&noDrift, "no-drift", false, "read the state only; do not check the cluster for drift")
	return cmd
}

// status computes the status lines of the stack's blocks.
func (a *app) status(ctx context.Context, f *driftFlags, dir string, checkDrift bool) ([]planner.BlockStatus, error) {
	eng, err := a.loadEngine(a.engineOptions(&f.stack, dir))
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return eng.Status(ctx, planner.StatusOptions{Drift: checkDrift})
}
