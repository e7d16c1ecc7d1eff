package testcluster

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ,
// 100 on Linux whatever the kernel's own tick).
const clockTick = 10 * time.Millisecond

// ComponentCPU returns the CPU time (user and system) that the cluster's
// components named (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok) have used since they started, added up, read from
// /proc (Linux). The difference of two readings is what the cluster spent
// in between: for the benchmarks, the server's side of a command.
func (c *Cluster) ComponentCPU(names ...string) (time.Duration, error) {
	var sum time.Duration
	for _, name := range names {
		pid := 0
		for _, p := range c.info.PIDs {
			if p.Name == name {
				pid = p.PID
			}
		}
		if pid == 0 {
			return 0, fmt.Errorf("test cluster has no component %q", name)
		}
		d, err := processCPU(pid)
		if err != nil {
			return 0, fmt.Errorf("CPU time of %s: %w", name, err)
		}
		sum += d
	}
	return sum, nil
}

// processCPU reads utime and stime of a process from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count the fields
	// after its closing parenthesis (state is field 3, utime 14, stime 15).
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, s)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}
