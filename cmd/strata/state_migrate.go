package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-gitops/strata/internal/buildinfo"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/backend"
)

func (a *app) stateMigrateCmd() *cobra.Command {
	var (
		f                stateFlags
		lf               lockFlags
		encrypt, decrypt bool
	)
	cmd := &cobra.Command{
		Use:   "migrate --encrypt|--decrypt",
		Short: "Encrypt the state with the stack's key, or decrypt it",
		Long: `Migrate rewrites the whole state, history included, encrypted with the key
of the stack's strata { encryption } block (--encrypt), or in plaintext
(--decrypt, which needs that key to read it). Lineage, serial and history
are kept. To change the key: decrypt with the old key, change the
encryption block, encrypt with the new one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if encrypt == decrypt {
				return errors.New("state migrate: give exactly one of --encrypt and --decrypt")
			}
			return a.migrateState(cmd.Context(), &f, &lf, encrypt)
		},
	}
	f.register(cmd.Flags())
	lf.register(cmd.Flags())
	cmd.Flags().BoolVar(&encrypt, "encrypt", false, "encrypt the state with the stack's encryption key")
	cmd.Flags().BoolVar(&decrypt, "decrypt", false, "decrypt the state (needs the stack's encryption key)")
	return cmd
}

// migrateState encrypts or decrypts the state under its lock.
func (a *app) migrateState(ctx context.Context, f *stateFlags, lf *lockFlags, encrypt bool) error {
	c, err := a.backendConfig(f)
	if err != nil {
		return err
	}
	if c.Key == nil {
		return errors.New("state migrate: the stack has no strata { encryption } block: add it with the key (see docs/state.md)")
	}
	s, err := backend.Open(c)
	if err != nil {
		return err
	}
	defer s.Close()
	m, ok := s.(state.EncryptionMigrator)
	if !ok {
		return errors.New("state migrate: this backend cannot be encrypted")
	}
	var id string
	if lf.lock {
		id, err = state.LockWait(ctx, s, state.LockInfo{Operation: "state migrate", Who: state.Who(a.getenv), Version: buildinfo.Version}, lf.lockTimeout)
		if err != nil {
			return lockError(err)
		}
		defer func() {
			if uerr := s.Unlock(context.WithoutCancel(ctx), id); uerr != nil {
				fmt.Fprintf(a.stderr, "Error: releasing the state lock %s: %v\nRemove it with: strata force-unlock %s\n", id, uerr, id)
			}
		}()
	}
	if err := m.MigrateEncryption(ctx, id, encrypt); err != nil {
		return lockError(err)
	}
	if encrypt {
		fmt.Fprintln(a.stdout, "The state is encrypted.")
	} else {
		fmt.Fprintln(a.stdout, "The state is decrypted.")
	}
	return nil
}
