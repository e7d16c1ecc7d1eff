package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/planner/config"
)

func (a *app) graphCmd() *cobra.Command {
	var (
		format string
		vars   []config.VarArg
	)
	cmd := &cobra.Command{
		Use:   "graph [DIR]",
		Short: "Print the dependency graph of a stack (Graphviz DOT or Mermaid)",
		Long: `Graph prints the dependency graph of the stack: one node per source,
kustomization and release, an edge from each block to what it depends on
(dashed: only through depends_on). The output is the same byte for byte for
the same stack. Render DOT with: strata graph | dot -Tsvg > graph.svg`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "dot" && format != "mermaid" {
				return fmt.Errorf("unknown graph format %q: use dot or mermaid", format)
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			st, g, diags := a.loadStack(dir, vars)
			a.writeDiags(diags, st.Files)
			if diags.HasErrors() {
				return errSilent
			}
			if format == "mermaid" {
				return g.Mermaid(a.stdout)
			}
			return g.Dot(a.stdout)
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "output format: dot or mermaid")
	addVarFlags(cmd.Flags(), &vars)
	return cmd
}
