package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestProfileEnv checks that STRATA_CPUPROFILE, STRATA_MEMPROFILE,
// STRATA_TRACE and STRATA_HEAPPROFILE write a CPU profile, an allocation
// profile (gzipped protobuf), an execution trace and a heap profile of a
// whole command, and that the command's output does not change.
func TestProfileEnv(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cpu, mem, tr := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof"), filepath.Join(dir, "trace.out")
	heap := filepath.Join(dir, "heap.pprof")
	cmd := exec.Command(exe, "version")
	cmd.Env = append(os.Environ(), cliChildEnv+"=1", cpuProfileEnv+"="+cpu, allocProfileEnv+"="+mem, traceEnv+"="+tr, heapProfileEnv+"="+heap)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	if !bytes.HasPrefix(out, []byte("strata ")) {
		t.Errorf("output changed:\n%s", out)
	}
	for path, magic := range map[string]string{cpu: "\x1f\x8b", mem: "\x1f\x8b", tr: "go 1.", heap: "\x1f\x8b"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s: starts with %q, want %q", filepath.Base(path), b[:min(len(b), 8)], magic)
		}
	}
}
