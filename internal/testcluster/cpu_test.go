package testcluster

import (
	"os"
	"testing"
	"time"
)

// TestProcessCPUCountsWork checks that processCPU reads this process's
// CPU time, which grows while it computes (however busy the machine is:
// it computes until the reading grows, for at most 10 seconds).
func TestProcessCPUCountsWork(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	after, x := before, 0
	for start := time.Now(); after-before < 50*time.Millisecond; x++ {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("CPU time grew by %s in 10s of computing (%d loops), want 50ms", after-before, x)
		}
		if x%100000 == 0 {
			if after, err = processCPU(os.Getpid()); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := &Cluster{info: clusterInfo{PIDs: []componentPID{{Name: "self", PID: os.Getpid()}}}}
	if d, err := c.ComponentCPU("self"); err != nil || d < after {
		t.Errorf("ComponentCPU(self) = %s, %v; want at least %s", d, err, after)
	}
	if _, err := c.ComponentCPU("etcd"); err == nil {
		t.Error("ComponentCPU of a component the cluster lacks: no error")
	}
}
