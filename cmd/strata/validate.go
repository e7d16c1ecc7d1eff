package main

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
)

// loadStack loads and graphs the stack in dir for the commands that only
// read it. Partial leaves unset variables unknown.
func (a *app) loadStack(dir string, vars []config.VarArg) (*config.Stack, *graph.Graph, hcl.Diagnostics) {
	st, diags := config.Load(dir, config.LoadOptions{Vars: vars, Getenv: a.getenv, Partial: true, AnyEnvironment: true})
	var g *graph.Graph
	if !diags.HasErrors() {
		var gd hcl.Diagnostics
		g, gd = graph.Build(st)
		diags = append(diags, gd...)
	}
	view.SortDiagnostics(diags)
	return st, g, diags
}

// writeDiags renders diagnostics on stderr, in colour on a terminal.
func (a *app) writeDiags(diags hcl.Diagnostics, files map[string]*hcl.File) {
	if len(diags) == 0 {
		return
	}
	_ = view.Diagnostics(a.stderr, diags, files, view.DiagOptions{Color: view.UseColor(a.stderr, a.getenv, false)})
}

func (a *app) validateCmd() *cobra.Command {
	var (
		jsonOut bool
		vars    []config.VarArg
	)
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a stack for errors without touching the cluster",
		Long: `Validate loads every *.hcl file of the stack directory (default: the current
directory), checks the schema, types, references, variable validations and
the dependency graph, renders every kustomization and chart without a
source (missing or broken files, files outside the stack directory, invalid
object names, objects two blocks render), and prints what is wrong, with
the source. A stack with environment blocks is checked for every
environment, with its values (a problem found in some environments only
names them).

Variables without a value are treated as unknown, so a stack validates
without its secrets. Exit status: 0 valid, 1 invalid.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			st, g, diags := a.loadStack(dir, vars)
			if !diags.HasErrors() {
				diags = append(diags, planner.Validate(cmd.Context(), st)...)
				diags = append(diags, a.validateEnvironments(cmd.Context(), st, vars, diags)...)
				view.SortDiagnostics(diags)
			}
			if jsonOut {
				if err := view.DiagnosticsJSON(a.stdout, diags, st.Files); err != nil {
					return err
				}
				if diags.HasErrors() {
					return errSilent
				}
				return nil
			}
			a.writeDiags(diags, st.Files)
			if diags.HasErrors() {
				return errSilent
			}
			if n := len(st.Environments); n > 0 {
				fmt.Fprintf(a.stdout, "Success! The stack is valid (%d blocks, %d environments).\n", g.Len(), n)
				return nil
			}
			fmt.Fprintf(a.stdout, "Success! The stack is valid (%d blocks).\n", g.Len())
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the diagnostics as JSON on stdout")
	addVarFlags(cmd.Flags(), &vars)
	return cmd
}
