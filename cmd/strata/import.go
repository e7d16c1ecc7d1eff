package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/fluximport"
)

// exitLeftForUser is the exit status of `import flux` when some settings
// were not carried over.
const exitLeftForUser = 2

func (a *app) importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Translate another tool's configuration into a stack",
	}
	cmd.AddCommand(a.importFluxCmd())
	return cmd
}

func (a *app) importFluxCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "flux PATH... [--out DIR]",
		Short: "Translate Flux manifests (sources, Kustomizations, HelmReleases) into a stack",
		Long: `Import flux reads Flux manifests (files, or directories read recursively;
multi-document YAML) and writes a formatted stack: sources.hcl,
kustomizations.hcl and releases.hcl in DIR (--out, created when missing;
existing files are not overwritten), or the whole stack on standard output.

Every setting that could not be carried over exactly is listed on standard
error (file:line of the manifest, the field and why) and as a
TODO(strata import) comment at its block. Documents that are not Flux
objects are skipped and named on standard error.

Exit status: 0 when everything was translated, 2 when something was left
for you, 1 on bad input. See docs/migrating-from-flux.md.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := fluximport.Import(args)
			if err != nil {
				return err
			}
			if err := a.writeImport(res, out); err != nil {
				return err
			}
			for _, s := range res.Skipped {
				fmt.Fprintf(a.stderr, "skipped (not a Flux object): %s\n", s)
			}
			if len(res.Issues) == 0 {
				return nil
			}
			fmt.Fprintf(a.stderr, "%d settings were not carried over exactly; review them (TODO(strata import) comments in the stack):\n", len(res.Issues))
			for _, is := range res.Issues {
				fmt.Fprintf(a.stderr, "  %s\n", is)
			}
			return &exitError{code: exitLeftForUser}
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the stack files into this directory instead of standard output")
	return cmd
}

// writeImport writes the stack files into dir, or all of them to standard
// output when dir is "".
func (a *app) writeImport(res *fluximport.Result, dir string) error {
	names := make([]string, 0, len(res.Files))
	for n := range res.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	if dir == "" {
		for i, n := range names {
			if i > 0 {
				fmt.Fprintln(a.stdout)
			}
			if _, err := a.stdout.Write(res.Files[n]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return fmt.Errorf("import into %s: %s exists; move it away or choose another --out", dir, n)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("import into %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("import into %s: %w", dir, err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), res.Files[n], 0o644); err != nil {
			return fmt.Errorf("import into %s: %w", dir, err)
		}
		fmt.Fprintf(a.stderr, "wrote %s\n", filepath.Join(dir, n))
	}
	return nil
}
