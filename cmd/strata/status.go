package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(lines)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
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
		},
	}
	fs := cmd.Flags()
	fs.Var(varFlag{list: &f.stack.vars}, "var", "set a variable: --var NAME=VALUE (repeatable)")
	fs.Var(varFlag{list: &f.stack.vars, file: true}, "var-file", "read variables from an HCL or JSON file (repeatable)")
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
