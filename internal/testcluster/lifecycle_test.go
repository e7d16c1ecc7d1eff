package testcluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// childEnv makes the test binary act as a process that owns a cluster, for
// TestNoComponentSurvivesItsParent.
const childEnv = "STRATA_TESTCLUSTER_CHILD_DIR"

// ownCluster is the child process of TestNoComponentSurvivesItsParent: it
// starts a cluster in dir, says so, and waits to be killed.
func ownCluster(dir string) {
	bins, err := testcluster.Build(context.Background(), testcluster.DefaultVersions, os.Stderr)
	if err == nil {
		_, err = testcluster.Start(context.Background(), testcluster.Options{Dir: dir, Binaries: bins, DieWithParent: true})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
	time.Sleep(time.Hour)
	os.Exit(1)
}

// TestNoComponentSurvivesItsParent kills the process that started a cluster
// with SIGKILL, as a crashed or killed test run would be, and checks that
// every component is gone.
func TestNoComponentSurvivesItsParent(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := os.Create(filepath.Join(dir, "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			log, _ := os.ReadFile(filepath.Join(dir, "child.log"))
			t.Fatalf("child cluster did not start:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, err := testcluster.Attach(dir)
	if err != nil {
		t.Fatal(err)
	}
	pids := c.PIDs()
	if len(pids) != 5 {
		t.Fatalf("cluster has %d component processes, want 5: %v", len(pids), pids)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("%s (pid %d) not running before the kill: %v", name, pid, err)
		}
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	deadline = time.Now().Add(15 * time.Second)
	for name, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				c.Stop()
				t.Fatalf("%s (pid %d) survived the SIGKILL of its parent", name, pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	var p int
	var comm, state string
	fmt.Sscanf(string(b), "%d %s %s", &p, &comm, &state)
	return state != "Z"
}
