package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/state"
)

func (a *app) stateRmCmd() *cobra.Command {
	var (
		f  stateFlags
		lf lockFlags
	)
	cmd := &cobra.Command{
		Use:   "rm ADDRESS...",
		Short: "Forget blocks or objects without deleting them from the cluster",
		Long: `Rm removes blocks (with their objects and Helm release) or single objects
from the state. Nothing is deleted from the cluster: strata simply stops
managing them, and a later apply of a stack that still declares them
adopts them again. The edit is recorded in the state history.`,
		Example: `  strata state rm kustomization.legacy
  strata state rm 'kustomization.app/ConfigMap/demo/settings'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var lines []string
			_, err := a.editState(cmd.Context(), &f, &lf, "state rm", func(snap *state.Snapshot, e *state.HistoryEntry) error {
				for _, addr := range args {
					n, ok := snap.Remove(addr)
					if !ok {
						return fmt.Errorf("%q: %w (see strata state list); nothing was removed", addr, errNoAddress)
					}
					e.Removed += n
					if _, _, isObject := addrs.SplitObjectAddress(addr); isObject {
						lines = append(lines, fmt.Sprintf("Removed %s", addr))
					} else {
						lines = append(lines, fmt.Sprintf("Removed %s (%d objects and releases)", addr, n))
					}
				}
				e.Detail = strings.Join(args, " ")
				return nil
			})
			if err != nil {
				return err
			}
			for _, l := range lines {
				fmt.Fprintln(a.stdout, l)
			}
			fmt.Fprintf(a.stdout, "Successfully removed %d address(es) from the state; nothing was deleted from the cluster.\n", len(args))
			return nil
		},
	}
	f.register(cmd.Flags())
	lf.register(cmd.Flags())
	return cmd
}

func (a *app) stateMvCmd() *cobra.Command {
	var (
		f  stateFlags
		lf lockFlags
	)
	cmd := &cobra.Command{
		Use:   "mv FROM TO",
		Short: "Rename a block or move an object to another block, without destroy and create",
		Long: `Mv renames a block in the state (with its objects and Helm release), or
moves one object to another block, so that a renamed block in the stack does
not plan a destroy and a create. A block keeps its type; an object keeps its
kind, namespace and name. The edit is recorded in the state history.`,
		Example: `  strata state mv kustomization.apps kustomization.platform_apps
  strata state mv 'kustomization.a/ConfigMap/demo/x' 'kustomization.b/ConfigMap/demo/x'`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var moved int
			_, err := a.editState(cmd.Context(), &f, &lf, "state mv", func(snap *state.Snapshot, e *state.HistoryEntry) error {
				n, err := snap.Move(args[0], args[1])
				if err != nil {
					return err
				}
				moved = n
				e.Changed = n
				e.Detail = args[0] + " -> " + args[1]
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Moved %s to %s (%d objects and releases).\n", args[0], args[1], moved)
			return nil
		},
	}
	f.register(cmd.Flags())
	lf.register(cmd.Flags())
	return cmd
}

func (a *app) statePushCmd() *cobra.Command {
	var (
		f     stateFlags
		lf    lockFlags
		force bool
	)
	cmd := &cobra.Command{
		Use:   "push FILE",
		Short: "Replace the state with a JSON file from strata state pull",
		Long: `Push replaces the state with FILE ("-" for standard input), a JSON document
in the format of strata state pull. As in Terraform, it refuses a file of
another lineage (another state) and a serial older than the stored one, or
equal to it with different content: someone changed the state since the
file was pulled. --force overrides both checks; the stored serial then
becomes larger than both, so saved plans of the old state are refused.
The push is recorded in the state history.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := a.readFileOrStdin(args[0])
			if err != nil {
				return err
			}
			incoming, err := state.DecodeJSON(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var result *state.Snapshot
			_, err = a.editStateWith(cmd.Context(), &f, &lf, "state push", force, func(current *state.Snapshot, e *state.HistoryEntry) (*state.Snapshot, error) {
				if !force {
					if err := state.CheckPush(current, incoming); err != nil {
						return nil, fmt.Errorf("%w\n\nPull the state again and redo the change, or push with --force to overwrite it", err)
					}
				}
				e.Detail = fmt.Sprintf("from %s", args[0])
				countChanges(current, incoming, e)
				result = incoming
				return incoming, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Pushed the state: lineage %s, serial %d.\n", result.Lineage, result.Serial)
			return nil
		},
	}
	f.register(cmd.Flags())
	lf.register(cmd.Flags())
	cmd.Flags().BoolVar(&force, "force", false, "push even if the lineage differs or the serial is not newer")
	return cmd
}

// countChanges fills the history counts of replacing from with to.
func countChanges(from, to *state.Snapshot, e *state.HistoryEntry) {
	old := make(map[string]state.Object, len(from.Objects))
	for _, o := range from.Objects {
		old[o.Address] = o
	}
	for _, o := range to.Objects {
		prev, ok := old[o.Address]
		switch {
		case !ok:
			e.Added++
		case prev != o:
			e.Changed++
		}
		delete(old, o.Address)
	}
	e.Removed = len(old)
}
