package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/buildinfo"

	// Linked so that the version report names the versions in the binary.
	_ "helm.sh/helm/v3/pkg/chart"
	_ "k8s.io/client-go/rest"
	_ "sigs.k8s.io/kustomize/api/krusty"
)

func (a *app) versionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of strata and of the libraries it is built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Read()
			switch output {
			case "json":
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			case "", "human":
				fmt.Fprintf(a.stdout, "strata %s (%s, %s)\n", info.Version, info.GoVersion, info.Platform)
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				for _, l := range info.Libraries {
					fmt.Fprintf(tw, "  %s\t%s\n", l.Name, l.Version)
				}
				return tw.Flush()
			default:
				return fmt.Errorf("unknown output format %q: use human or json", output)
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "human", "output format: human or json")
	return cmd
}
