package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/buildinfo"
	"github.com/strata-gitops/strata/state"
)

func (a *app) stateListCmd() *cobra.Command {
	var (
		f  stateFlags
		id string
	)
	cmd := &cobra.Command{
		Use:   "list [ADDRESS-PREFIX]",
		Short: "List the blocks and objects in the state",
		Long: `List prints the address of every block and object in the state, one per
line, in address order, each object after its block. With ADDRESS-PREFIX only
addresses that start with it are listed; with --id only the object with that
Kubernetes UID.`,
		Example: `  strata state list
  strata state list kustomization.platform
  strata state list --id 7c1f6a2e-...`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			snap, err := a.readState(cmd.Context(), &f)
			if err != nil {
				return err
			}
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			w := bufio.NewWriterSize(a.stdout, 64<<10)
			objs := snap.Objects
			for _, b := range snap.Blocks {
				// Objects of blocks that sort before b (orphans of a removed
				// block) come first, then b, then b's objects.
				for len(objs) > 0 && objs[0].Address < b.Address {
					listObject(w, objs[0], prefix, id)
					objs = objs[1:]
				}
				if id == "" && strings.HasPrefix(b.Address, prefix) {
					w.WriteString(b.Address)
					w.WriteByte('\n')
				}
			}
			for _, o := range objs {
				listObject(w, o, prefix, id)
			}
			return w.Flush()
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "id", "", "list only the object with this Kubernetes UID")
	return cmd
}

func listObject(w *bufio.Writer, o state.Object, prefix, id string) {
	if (id == "" || o.UID == id) && strings.HasPrefix(o.Address, prefix) {
		w.WriteString(o.Address)
		w.WriteByte('\n')
	}
}

// shownBlock is the JSON of `state show` for a block.
type shownBlock struct {
	Block   state.Block    `json:"block"`
	Release *state.Release `json:"release,omitempty"`
	Objects []string       `json:"objects"`
}

func (a *app) stateShowCmd() *cobra.Command {
	var (
		f      stateFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show ADDRESS",
		Short: "Show one block or object in the state",
		Long: `Show prints what the state records about one block (its kind, source
revision, configuration digest, last apply, status, dependencies, Helm
release and objects) or one object (its kind, namespace, name, the digest
of what was applied, uid and resourceVersion). The state never holds object
content, so Secret values cannot appear.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			snap, err := a.readState(cmd.Context(), &f)
			if err != nil {
				return err
			}
			addr := args[0]
			if o, ok := snap.Object(addr); ok {
				if asJSON {
					return writeJSON(a.stdout, struct {
						Object state.Object `json:"object"`
					}{o})
				}
				writeObject(a, o)
				return nil
			}
			b, ok := snap.Block(addr)
			if !ok {
				return fmt.Errorf("%q: %w (see strata state list)", addr, errNoAddress)
			}
			sb := shownBlock{Block: b, Objects: []string{}}
			if r, ok := snap.Release(addr); ok {
				sb.Release = &r
			}
			for _, o := range snap.BlockObjects(addr) {
				sb.Objects = append(sb.Objects, o.Address)
			}
			if asJSON {
				return writeJSON(a.stdout, sb)
			}
			writeBlock(a, sb)
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeObject(a *app, o state.Object) {
	apiVersion := o.Version
	if o.Group != "" {
		apiVersion = o.Group + "/" + o.Version
	}
	fmt.Fprintf(a.stdout, "# %s\n", o.Address)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"block", o.Block}, {"api_version", apiVersion}, {"kind", o.Kind}, {"namespace", o.Namespace},
		{"name", o.Name}, {"digest", o.Digest}, {"uid", o.UID}, {"resource_version", o.ResourceVersion},
	} {
		if kv[1] != "" {
			fmt.Fprintf(tw, "%s\t= %q\n", kv[0], kv[1])
		}
	}
	tw.Flush()
}

func writeBlock(a *app, sb shownBlock) {
	b := sb.Block
	fmt.Fprintf(a.stdout, "# %s\n", b.Address)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"kind", b.Kind}, {"revision", b.Revision}, {"config_digest", b.ConfigDigest},
		{"applied_at", b.AppliedAt.UTC().Format(time.RFC3339)}, {"status", b.Status},
	} {
		if kv[1] != "" {
			fmt.Fprintf(tw, "%s\t= %q\n", kv[0], kv[1])
		}
	}
	if len(b.DependsOn) > 0 {
		fmt.Fprintf(tw, "depends_on\t= [%s]\n", strings.Join(b.DependsOn, ", "))
	}
	if len(b.MovedFrom) > 0 {
		fmt.Fprintf(tw, "moved_from\t= [%s]\n", strings.Join(b.MovedFrom, ", "))
	}
	if r := sb.Release; r != nil {
		for _, kv := range [][2]string{
			{"release_name", r.Name}, {"release_namespace", r.Namespace}, {"chart", r.Chart},
			{"chart_version", r.Version}, {"values_digest", r.ValuesDigest}, {"release_status", r.Status},
		} {
			if kv[1] != "" {
				fmt.Fprintf(tw, "%s\t= %q\n", kv[0], kv[1])
			}
		}
		fmt.Fprintf(tw, "helm_revision\t= %d\n", r.Revision)
	}
	tw.Flush()
	if len(sb.Objects) > 0 {
		fmt.Fprintf(a.stdout, "\n%d objects:\n", len(sb.Objects))
		for _, o := range sb.Objects {
			fmt.Fprintf(a.stdout, "  %s\n", o)
		}
	}
	if len(b.Intents) > 0 {
		fmt.Fprintf(a.stdout, "\n%d intents of an interrupted apply (strata plan prunes or records them):\n", len(b.Intents))
		for _, in := range b.Intents {
			fmt.Fprintf(a.stdout, "  %s\n", in.Address(b.Address))
		}
	}
}

func (a *app) stateHistoryCmd() *cobra.Command {
	var (
		f      stateFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Show the applies, destroys and state edits recorded in the state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "human" && output != "json" {
				return fmt.Errorf("unknown output format %q: use human or json", output)
			}
			s, err := a.openState(&f)
			if err != nil {
				return err
			}
			defer s.Close()
			h, err := s.History(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				if h == nil {
					h = []state.HistoryEntry{}
				}
				return writeJSON(a.stdout, h)
			}
			if len(h) == 0 {
				fmt.Fprintln(a.stdout, "No history: nothing was applied to this state yet.")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tTIME\tOPERATION\tWHO\tADDED\tCHANGED\tREMOVED\tDETAIL")
			for _, e := range h {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", e.Serial, e.Time.UTC().Format(time.RFC3339),
					e.Operation, e.Who, e.Added, e.Changed, e.Removed, e.Detail)
			}
			return tw.Flush()
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "human", "output format: human or json")
	return cmd
}

func (a *app) statePullCmd() *cobra.Command {
	var f stateFlags
	cmd := &cobra.Command{
		Use:   "pull",
		Short: "Print the state as JSON",
		Long: `Pull prints the current state as JSON on standard output, in the versioned
format described in docs/state-json.md. It reads without locking.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			snap, err := a.readState(cmd.Context(), &f)
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(a.stdout, 64<<10)
			if err := state.EncodeJSON(w, snap, buildinfo.Version); err != nil {
				return err
			}
			return w.Flush()
		},
	}
	f.register(cmd.Flags())
	return cmd
}
