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
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/drift"
	"github.com/strata-gitops/strata/state"
)

// blockStatus is one line of strata status.
type blockStatus struct {
	Kind        string     `json:"kind"`
	Address     string     `json:"address"`
	Revision    string     `json:"revision,omitempty"`
	Ready       string     `json:"ready"` // True, False or Unknown
	Message     string     `json:"message"`
	LastApplied *time.Time `json:"last_applied,omitempty"`
	// Drift is the number of drifted objects; nil when not checked.
	Drift     *int `json:"drift,omitempty"`
	Suspended bool `json:"suspended"`
}

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
func (a *app) status(ctx context.Context, f *driftFlags, dir string, checkDrift bool) ([]blockStatus, error) {
	eng, err := a.loadEngine(a.engineOptions(&f.stack, dir))
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	store, err := eng.Store()
	if err != nil {
		return nil, err
	}
	snap, err := store.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var rep *drift.Report
	if checkDrift {
		rep, err = eng.Drift(ctx, planner.DriftOptions{})
		if err != nil {
			return nil, err
		}
	}
	var out []blockStatus
	for _, b := range eng.Stack().Blocks() {
		addr := b.Address().String()
		l := blockStatus{Kind: kindOf(b), Address: addr, Suspended: suspended(b)}
		sb, applied := snap.Block(addr)
		if applied {
			l.Revision = sb.Revision
			t := sb.AppliedAt
			l.LastApplied = &t
		}
		switch {
		case !applied:
			l.Ready, l.Message = "False", "not applied yet"
		case sb.Status == state.StatusFailed:
			l.Ready, l.Message = "False", "last apply failed"
		case sb.Revision != "":
			l.Ready, l.Message = "True", "applied revision "+sb.Revision
		default:
			l.Ready, l.Message = "True", "applied"
		}
		if l.Suspended {
			l.Message = "suspended; " + l.Message
		}
		if rep != nil {
			if db := rep.Block(addr); db != nil && !db.Suspended && applied {
				n := len(db.Items)
				l.Drift = &n
				deleted := 0
				for _, it := range db.Items {
					if it.Kind == drift.Deleted {
						deleted++
					}
					if it.Kind == drift.Release && l.Ready == "True" {
						l.Ready, l.Message = "False", it.Message
					}
				}
				switch {
				case db.Error != "":
					l.Ready, l.Message, l.Drift = "Unknown", "drift check failed: "+db.Error, nil
				case deleted > 0 && l.Ready == "True":
					l.Ready, l.Message = "False", fmt.Sprintf("%d objects deleted outside strata", deleted)
				}
			}
		}
		out = append(out, l)
	}
	return out, nil
}

func kindOf(b config.Block) string {
	switch b.(type) {
	case *config.GitSource:
		return "source.git"
	case *config.HelmSource:
		return "source.helm"
	case *config.Kustomization:
		return "kustomization"
	case *config.Release:
		return "release"
	}
	return "block"
}

func suspended(b config.Block) bool {
	switch b := b.(type) {
	case *config.Kustomization:
		return b.Suspend
	case *config.Release:
		return b.Suspend
	}
	return false
}
