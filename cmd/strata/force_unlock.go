package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/state"
)

func (a *app) forceUnlockCmd() *cobra.Command {
	var (
		f   stateFlags
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "force-unlock LOCK_ID",
		Short: "Remove a stale state lock",
		Long: `Force-unlock removes the state lock with the given ID, left behind by a run
that crashed or was killed. The ID is printed in the error of every command
that found the state locked. Removing the lock of a run that is still going
lets two runs apply at once: make sure the holder is gone. It asks for
confirmation unless --force.

With the kubernetes backend a crashed run's lock is also taken over by a
run that waits for it (--lock-timeout) longer than its lease (60s). A run
whose lock is force-unlocked stops changing the cluster at once and exits
with an error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id := args[0]
			f.noKey = true // the lock is readable without the key
			s, err := a.openState(&f)
			if err != nil {
				return err
			}
			defer s.Close()
			held, err := s.LockStatus(ctx)
			if err != nil {
				return err
			}
			if held == nil {
				return fmt.Errorf("cannot unlock %s: %w", id, state.ErrNotLocked)
			}
			if held.ID != id {
				return fmt.Errorf("cannot unlock %s: the state is locked under ID %s by %s: %w", id, held.ID, held.Who, state.ErrLockMismatch)
			}
			if !yes {
				fmt.Fprintf(a.stdout, "The state is locked by %s (operation %q, since %s, %s ago).\n"+
					"Removing the lock of a run that is still going lets two runs change the state at once.\n"+
					"Do you really want to force-unlock it? Only 'yes' will be accepted: ",
					held.Who, held.Operation, held.Created.UTC().Format(time.RFC3339), time.Since(held.Created).Round(time.Second))
				line, _ := bufio.NewReader(a.stdin).ReadString('\n')
				if strings.TrimSpace(line) != "yes" {
					fmt.Fprintln(a.stdout)
					return errors.New("force-unlock cancelled")
				}
			}
			if err := s.ForceUnlock(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "The state lock %s was removed.\n", id)
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&yes, "force", false, "do not ask for confirmation")
	return cmd
}
