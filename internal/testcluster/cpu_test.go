package testcluster

import (
	"os"
	"testing"
	"time"
)

// TestProcessCPUCountsWork checks that processCPU reads this process's
// CPU time, which grows while it computes.
func TestProcessCPUCountsWork(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
		x++
	}
	after, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 100*time.Millisecond {
		t.Errorf("CPU time grew by %s in 300ms of computing (%d loops), want at least 100ms", after-before, x)
	}
	c := &Cluster{info: clusterInfo{PIDs: []componentPID{{Name: "self", PID: os.Getpid()}}}}
	if d, err := c.ComponentCPU("self"); err != nil || d < after {
		t.Errorf("ComponentCPU(self) = %s, %v; want at least %s", d, err, after)
	}
	if _, err := c.ComponentCPU("etcd"); err == nil {
		t.Error("ComponentCPU of a component the cluster lacks: no error")
	}
}
