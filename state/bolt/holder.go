package bolt

import (
	"bytes"
	"os"
	"strconv"

	"github.com/strata-gitops/strata/state"
)

// A lock left behind by a crashed run on this machine is detected and
// replaced by the next Lock: the lock record names the holder's process
// (host, boot, PID and start time), and a holder whose process is gone, or
// whose PID now belongs to another process, is dead. Locks taken on other
// machines, or where /proc is unavailable, are never judged dead; they wait
// for force-unlock.

// holderProcess identifies the process holding a lock.
type holderProcess struct {
	Host   string `json:"host"`
	BootID string `json:"boot_id"`
	PID    int    `json:"pid"`
	Start  string `json:"start"`
}

// lockRecord is the stored lock.
type lockRecord struct {
	state.LockInfo
	Process *holderProcess `json:"process,omitempty"`
}

func self() *holderProcess {
	host, _ := os.Hostname()
	boot, start := bootID(), processStart(os.Getpid())
	if host == "" || boot == "" || start == "" {
		return nil
	}
	return &holderProcess{Host: host, BootID: boot, PID: os.Getpid(), Start: start}
}

// dead reports whether p is known to be gone.
func dead(p *holderProcess) bool {
	if p == nil {
		return false
	}
	me := self()
	if me == nil || me.Host != p.Host {
		return false
	}
	if me.BootID != p.BootID {
		return true // the machine rebooted since
	}
	return processStart(p.PID) != p.Start
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

// processStart returns the start time of a process in clock ticks since
// boot (field 22 of /proc/PID/stat), or "" when there is no such process.
func processStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// fields after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ""
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 20 {
		return ""
	}
	return string(fields[19]) // field 22 overall
}
