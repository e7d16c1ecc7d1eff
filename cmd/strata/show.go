package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/view"
	"github.com/strata-gitops/strata/planner/plan"
)

func (a *app) showCmd() *cobra.Command {
	var (
		output  string
		noColor bool
		dir     string
	)
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Show a saved plan",
		Long: `Show renders a plan saved by "strata plan --out FILE" for people (the
default), as JSON (-o json, the schema of docs/plan-json.md) or as a
pull-request comment (-o markdown). Secret values and sensitive variables
are masked. A plan saved with strata { encryption } configured is
decrypted with the key of the stack in --dir (default: the current
directory).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			key, err := a.planKey()
			if err != nil {
				return err
			}
			if plan.IsEncryptedFile(args[0]) {
				enc, err := a.stackEncryption(dir, false)
				if err != nil {
					return err
				}
				key = key.WithEncryption(enc)
			}
			p, err := key.ReadFile(args[0])
			if err != nil {
				return err
			}
			color := view.UseColor(a.stdout, a.getenv, noColor)
			if output == "" || output == "human" {
				fmt.Fprintf(a.stdout, "Saved plan of stack %q (%s), made %s by strata %s against state serial %d.\n",
					p.Stack, p.Dir, p.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"), p.StrataVersion, p.State.Serial)
				if len(p.Variables) > 0 {
					fmt.Fprintln(a.stdout, "\nVariables:")
					for _, v := range p.Variables {
						val := string(v.Value)
						if v.Sensitive {
							val = plan.SensitiveValue
						}
						fmt.Fprintf(a.stdout, "  %s = %s\n", v.Name, val)
					}
				}
				fmt.Fprintln(a.stdout)
			}
			return a.renderPlan(a.stdout, p, output, color)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "human", "output format: human, json or markdown")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "never colour the output")
	cmd.Flags().StringVar(&dir, "dir", ".", "stack directory whose strata { encryption } block holds the key of an encrypted plan")
	return cmd
}
