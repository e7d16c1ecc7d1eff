package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/strata-gitops/strata/internal/buildinfo"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/backend"
	"github.com/strata-gitops/strata/state/crypt"
)

// stateFlags locate the state: the stack's backend block, or --state.
type stateFlags struct {
	dir        string
	statePath  string
	kubeconfig string
	context    string
	// environment selects one of the stack's environments, whose state
	// is meant.
	environment string
	// noKey opens the state without its encryption key, for commands
	// that only touch the lock (which stays readable).
	noKey bool
}

func (f *stateFlags) register(fs *pflag.FlagSet) {
	addEnvironmentFlag(fs, &f.environment)
	fs.StringVar(&f.dir, "dir", ".", "stack directory whose strata block names the state backend")
	fs.StringVar(&f.statePath, "state", "", "state file of the local backend (default .strata/state.db in the stack)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the kubernetes backend (default: the backend's, the cluster block's, $KUBECONFIG)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context of the kubernetes backend")
}

// lockFlags are the flags of the commands that change the state.
type lockFlags struct {
	lock        bool
	lockTimeout time.Duration
}

func (f *lockFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.lock, "lock", true, "lock the state while changing it")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "how long to wait for the state lock")
}

// backendConfig works out the backend from the flags and the stack.
func (a *app) backendConfig(f *stateFlags) (backend.Config, error) {
	c := backend.Config{Type: "local", Dir: f.dir}
	matches, _ := filepath.Glob(filepath.Join(f.dir, "*.hcl"))
	if len(matches) == 0 {
		if f.statePath != "" {
			return backend.Config{Type: "local", Path: f.statePath}, nil
		}
		return c, nil // no stack here: the default file
	}
	st, diags := config.Load(f.dir, config.LoadOptions{Getenv: a.getenv, Partial: true, Environment: f.environment,
		StatePathUnused: f.statePath != ""})
	if diags.HasErrors() {
		if f.statePath != "" {
			// --state names the file; the stack only gives its key.
			return backend.Config{Type: "local", Path: f.statePath}, nil
		}
		var files = st.Files
		a.writeDiags(diags, files)
		return c, errSilent
	}
	var key *crypt.Key
	if !f.noKey {
		var err error
		if key, err = planner.EncryptionKey(st.Strata.Encryption); err != nil {
			return c, err
		}
	}
	if f.statePath != "" {
		return backend.Config{Type: "local", Path: f.statePath, Key: key}, nil
	}
	c.Key = key
	be := st.Strata.Backend
	c.Type, c.Path, c.Namespace, c.Name = be.Type, be.Path, be.Namespace, be.Name
	c.Kubeconfig = firstNonEmpty(f.kubeconfig, be.Kubeconfig, st.Cluster.Kubeconfig)
	c.Context = firstNonEmpty(f.context, be.Context, st.Cluster.Context)
	if strings.HasPrefix(c.Kubeconfig, "~/") {
		if h := a.getenv("HOME"); h != "" {
			c.Kubeconfig = filepath.Join(h, c.Kubeconfig[2:])
		}
	}
	return c, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// openState opens the store the flags name.
func (a *app) openState(f *stateFlags) (state.Store, error) {
	c, err := a.backendConfig(f)
	if err != nil {
		return nil, err
	}
	return backend.Open(c)
}

// editState runs one state edit: lock (unless --lock=false), read, fn,
// write with a history entry for op, unlock.
func (a *app) editState(ctx context.Context, f *stateFlags, lf *lockFlags, op string, fn func(*state.Snapshot, *state.HistoryEntry) error) (*state.Snapshot, error) {
	return a.editStateWith(ctx, f, lf, op, false, func(snap *state.Snapshot, e *state.HistoryEntry) (*state.Snapshot, error) {
		return snap, fn(snap, e)
	})
}

// editStateWith is editState for edits that replace the snapshot: fn
// returns the snapshot to write, which is written with force.
func (a *app) editStateWith(ctx context.Context, f *stateFlags, lf *lockFlags, op string, force bool, fn func(*state.Snapshot, *state.HistoryEntry) (*state.Snapshot, error)) (*state.Snapshot, error) {
	s, err := a.openState(f)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	who := state.Who(a.getenv)
	var id string
	if lf.lock {
		id, err = state.LockWait(ctx, s, state.LockInfo{Operation: op, Who: who, Version: buildinfo.Version}, lf.lockTimeout)
		if err != nil {
			return nil, lockError(err)
		}
		defer func() {
			if uerr := s.Unlock(context.WithoutCancel(ctx), id); uerr != nil {
				fmt.Fprintf(a.stderr, "Error: releasing the state lock %s: %v\nRemove it with: strata force-unlock %s\n", id, uerr, id)
			}
		}()
	}
	snap, err := s.Read(ctx)
	if err != nil {
		return nil, err
	}
	entry := &state.HistoryEntry{Operation: op, Who: who}
	next, err := fn(snap, entry)
	if err != nil {
		return nil, err
	}
	if err := s.Write(ctx, next, state.WriteOptions{LockID: id, History: entry, Force: force}); err != nil {
		return nil, lockError(err)
	}
	return next, nil
}

func (a *app) stateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect and edit the state",
		Long: `The state records what strata applied: per block the source revision and
configuration digest, per object a digest of what was applied (never Secret
values), per Helm release its revision, and a history of every apply,
destroy and state edit.

The state is found through the stack's strata { backend ... } block in the
current directory (or --dir), or directly with --state FILE.`,
	}
	cmd.AddCommand(
		a.stateListCmd(),
		a.stateShowCmd(),
		a.stateHistoryCmd(),
		a.stateRmCmd(),
		a.stateMvCmd(),
		a.statePullCmd(),
		a.statePushCmd(),
		a.stateMigrateCmd(),
	)
	return cmd
}

// stackEncryption returns the encryption key of the stack in dir, or nil
// when there is no stack there or it encrypts nothing. With quiet, a stack
// that does not load is taken for one without a key.
func (a *app) stackEncryption(dir string, quiet bool) (*crypt.Key, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if len(matches) == 0 {
		return nil, nil
	}
	st, diags := config.Load(dir, config.LoadOptions{Getenv: a.getenv, Partial: true, StatePathUnused: true})
	if diags.HasErrors() {
		if quiet {
			return nil, nil
		}
		a.writeDiags(diags, st.Files)
		return nil, errSilent
	}
	return planner.EncryptionKey(st.Strata.Encryption)
}

// readState opens the store and reads the snapshot; it never locks.
func (a *app) readState(ctx context.Context, f *stateFlags) (*state.Snapshot, error) {
	s, err := a.openState(f)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Read(ctx)
}

var errNoAddress = errors.New("no such address in state")

func (a *app) readFileOrStdin(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(a.stdin)
	}
	return os.ReadFile(name)
}
