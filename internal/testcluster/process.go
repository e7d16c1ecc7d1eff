package testcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// spawn starts one component with its output in logs/NAME.log.
func (c *Cluster) spawn(opts Options, name, path string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(c.dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(path, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = c.dir
	// A process group of its own: a Ctrl-C at the terminal reaches the
	// harness, which stops the components in order, instead of killing
	// etcd under a running API server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if opts.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, cmd)
	c.info.PIDs = append(c.info.PIDs, componentPID{Name: name, PID: cmd.Process.Pid})
	c.mu.Unlock()
	return c.writeInfo()
}

// Stop stops every component in reverse start order, by PID: SIGTERM, then
// SIGKILL after a grace period. It works for clusters started by this
// process and for attached ones, and is safe to call more than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	pids := append([]componentPID(nil), c.info.PIDs...)
	procs := c.procs
	c.info.PIDs = nil
	c.procs = nil
	c.mu.Unlock()
	waited := map[int]chan struct{}{}
	for _, p := range procs {
		done := make(chan struct{})
		waited[p.Process.Pid] = done
		go func(p *exec.Cmd) { p.Wait(); close(done) }(p)
	}
	var errs []error
	for i := len(pids) - 1; i >= 0; i-- {
		p := pids[i]
		if !c.ours(p.PID) {
			continue
		}
		syscall.Kill(p.PID, syscall.SIGTERM)
		if !waitGone(p.PID, waited[p.PID], 10*time.Second) {
			syscall.Kill(p.PID, syscall.SIGKILL)
			if !waitGone(p.PID, waited[p.PID], 5*time.Second) {
				errs = append(errs, fmt.Errorf("%s (pid %d) did not stop", p.Name, p.PID))
			}
		}
	}
	if err := c.writeInfo(); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ours reports whether pid is still one of this cluster's components (and
// not a reused PID of some other program).
func (c *Cluster) ours(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// A zombie of ours: reaped by Wait, nothing to signal.
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			return false
		}
	}
	return strings.HasPrefix(string(b), c.info.BinDir+"/")
}

func waitGone(pid int, done chan struct{}, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		if done != nil {
			select {
			case <-done:
				return true
			case <-deadline:
				return false
			}
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
				return true // exited; its parent reaps it
			}
		}
		select {
		case <-deadline:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LogTails returns the last n lines of every component log, for printing
// when something failed.
func (c *Cluster) LogTails(n int) string {
	var b strings.Builder
	for _, name := range components {
		data, err := os.ReadFile(filepath.Join(c.dir, "logs", name+".log"))
		if err != nil || len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s (last %d lines of %s)\n%s\n", name, n, filepath.Join(c.dir, "logs", name+".log"), tail(string(data), n))
	}
	return b.String()
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// PIDs returns the process IDs of the running components by name.
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for _, p := range c.info.PIDs {
		m[p.Name] = p.PID
	}
	return m
}
