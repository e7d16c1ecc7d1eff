package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/bolt"
	"github.com/strata-gitops/strata/state/statetest"
)

// The tests below re-execute the test binary as a child process that uses
// the state like a second strata run: $STRATA_BOLT_CHILD says what it does
// and $STRATA_BOLT_PATH names the state file.
func TestMain(m *testing.M) {
	if mode := os.Getenv("STRATA_BOLT_CHILD"); mode != "" {
		if err := child(mode, os.Getenv("STRATA_BOLT_PATH")); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(mode, path string) error {
	ctx := context.Background()
	s, err := bolt.Open(bolt.Options{Path: path})
	if err != nil {
		return err
	}
	switch mode {
	case "write-loop":
		// Write snapshots that differ everywhere, forever, printing each
		// serial once it is stored.
		for i := 0; ; i++ {
			snap, err := s.Read(ctx)
			if err != nil {
				return err
			}
			next := statetest.Snapshot(5, 2000, fmt.Sprint(os.Getpid(), "-", i))
			next.Lineage, next.Serial = snap.Lineage, snap.Serial
			if err := s.Write(ctx, next, state.WriteOptions{History: &state.HistoryEntry{Operation: "apply", Who: "child@host"}}); err != nil {
				return err
			}
			fmt.Println(next.Serial)
		}
	case "hold":
		// Take the lock as an apply would, hold it for a while, write, unlock.
		id, err := s.Lock(ctx, state.LockInfo{Operation: "apply", Who: "child@host"})
		if err != nil {
			return err
		}
		fmt.Println(id)
		hold, _ := time.ParseDuration(os.Getenv("STRATA_BOLT_HOLD"))
		time.Sleep(hold)
		snap, err := s.Read(ctx)
		if err != nil {
			return err
		}
		snap.PutBlock(state.Block{Address: "kustomization.child", Kind: "kustomization", Status: state.StatusApplied})
		if err := s.Write(ctx, snap, state.WriteOptions{LockID: id}); err != nil {
			return err
		}
		return s.Unlock(ctx, id)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func startChild(t *testing.T, mode, path string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{"STRATA_BOLT_CHILD=" + mode, "STRATA_BOLT_PATH=" + path}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

// TestCrash kills a process that writes state in a loop with SIGKILL at 50
// random moments; each time the state must open, validate, and hold either
// the last serial the child reported or the one after it.
func TestCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".strata", "state.db")
	s, err := bolt.Open(bolt.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for round := range 50 {
		cmd, lines := startChild(t, "write-loop", path)
		reported := make(chan uint64, 1024)
		go func() {
			defer close(reported)
			for lines.Scan() {
				n, _ := strconv.ParseUint(lines.Text(), 10, 64)
				reported <- n
			}
		}()
		// Let the child start and write a few times, then kill it at a
		// random moment of its loop.
		if round%10 != 0 { // every tenth round, kill it while starting up
			if n, ok := <-reported; ok {
				last = n
			}
		}
		time.Sleep(time.Duration(rand.IntN(150_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		for n := range reported {
			last = n
		}
		snap, err := s.Read(t.Context())
		if err != nil {
			t.Fatalf("round %d: reading the state after SIGKILL: %v", round, err)
		}
		if err := snap.Validate(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := statetest.ConsistentTag(snap); err != nil {
			t.Fatalf("round %d: torn snapshot: %v", round, err)
		}
		if snap.Serial != last && snap.Serial != last+1 {
			t.Fatalf("round %d: serial %d, want %d (last reported) or %d", round, snap.Serial, last, last+1)
		}
		last = snap.Serial
	}
	h, err := s.History(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(h) == 0 || h[len(h)-1].Serial != last {
		t.Errorf("history does not end at serial %d: %d entries", last, len(h))
	}
	t.Logf("50 kills survived; final serial %d", last)
}

// TestTwoProcesses runs a second writer while a child process holds the
// lock: without a timeout it fails at once naming the holder; with one it
// waits and then succeeds.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".strata", "state.db")
	_, lines := startChild(t, "hold", path, "STRATA_BOLT_HOLD=2s")
	if !lines.Scan() {
		t.Fatal("child did not report its lock")
	}
	childID := lines.Text()
	s, err := bolt.Open(bolt.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	info := state.LockInfo{Operation: "apply", Who: "parent@host"}

	start := time.Now()
	_, err = s.Lock(t.Context(), info)
	var le *state.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while the child holds it: got %v, want a *LockedError", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("Lock took %s to fail; want at once", time.Since(start))
	}
	for _, want := range []string{childID, "child@host", `"apply"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lock error %q does not name %s", err, want)
		}
	}
	// Readers are not blocked while the child holds the lock.
	start = time.Now()
	if _, err := s.Read(t.Context()); err != nil || time.Since(start) > time.Second {
		t.Errorf("Read while locked: %v after %s", err, time.Since(start))
	}

	id, err := state.LockWait(t.Context(), s, info, 30*time.Second)
	if err != nil {
		t.Fatalf("LockWait: %v", err)
	}
	snap, err := s.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Block("kustomization.child"); !ok {
		t.Error("the lock was granted before the child's write")
	}
	if err := s.Unlock(t.Context(), id); err != nil {
		t.Error(err)
	}
}

// TestDeadHolderReplaced: the lock of a process killed on this machine does
// not block the next run.
func TestDeadHolderReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".strata", "state.db")
	cmd, lines := startChild(t, "hold", path, "STRATA_BOLT_HOLD=1h")
	if !lines.Scan() {
		t.Fatal("child did not report its lock")
	}
	childID := lines.Text()
	s, err := bolt.Open(bolt.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	info := state.LockInfo{Operation: "apply", Who: "parent@host"}
	if _, err := s.Lock(t.Context(), info); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Lock while the child is alive: got %v, want ErrLocked", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	id, err := s.Lock(t.Context(), info)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	if id == childID {
		t.Fatal("got the dead child's lock ID")
	}
	if err := s.Write(t.Context(), statetest.Snapshot(1, 1, "x"), state.WriteOptions{LockID: childID}); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("write under the dead child's lock: got %v, want ErrLockLost", err)
	}
}
