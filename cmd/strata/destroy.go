package main

import (
	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/view"
)

func (a *app) destroyCmd() *cobra.Command {
	var (
		f           stackFlags
		autoApprove bool
	)
	cmd := &cobra.Command{
		Use:   "destroy [DIR]",
		Short: "Delete every object the stack applied, in reverse dependency order",
		Long: `Destroy plans the removal of every block recorded in the state of the stack
in DIR (default: the current directory), shows the plan, asks for "yes"
(unless --auto-approve) and deletes the objects: blocks that depend on
others first, namespaces and CRDs last. With --target only the named blocks
and the blocks that depend on them are destroyed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			color := view.UseColor(a.stdout, a.getenv, f.noColor)
			ctx, stop := a.interruptible(cmd.Context(), interruptApply)
			defer stop()
			opts := a.engineOptions(&f, dirArg(args))
			opts.Destroy = true
			return a.planAndApply(ctx, &f, opts, "destroy", color, autoApprove)
		},
	}
	f.register(cmd.Flags())
	f.registerApprove(cmd.Flags())
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "destroy without asking for confirmation")
	return cmd
}
