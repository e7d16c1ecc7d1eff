package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// BenchmarkCommandVersusKubectl times whole commands as a user runs them,
// side by side in one run on the local cluster: the strata binary (built
// from this package, started as a child process, so that process start,
// stack load, kustomize render, state read, client setup, discovery,
// the LISTs, the comparison and the output are all counted) against the
// harness-built kubectl of the cluster's version, on the 1,010-object set
// of providers/kube/testdata (10 namespaces, 500 ConfigMaps, 250
// Deployments, 250 Services) applied by strata and unchanged:
//
//   - `strata plan --detailed-exitcode` (which exits 0: no change), with
//     the render cache that the apply and the earlier rounds left, and
//     again without it (.strata/renders removed first: a fresh clone, as
//     in CI), and `strata drift` (exits 0: no drift) against
//   - `kubectl diff --server-side -f objects.yaml` (exits 0: no difference);
//   - beside them the exact diff (a server-side dry run for every object),
//     which the command has no flag for: the planner's Plan in this
//     process with kube.Options.ExactDiff and a new client (its setup
//     timed; process start and stack load, some 0.1 s, are not), with
//     exact-plan-speedup kubectl's time over it.
//
// Each of the -benchtime rounds (3 for the record) runs the tools in turn,
// a different one first each round; each figure is the median of the
// rounds, the single runs are logged, with the machine's load before and
// after. The stack is applied once, untimed, before the rounds. Run it with:
//
//	STRATA_TEST_CLUSTER=... go test ./cmd/strata -run '^$' -bench CommandVersusKubectl -benchtime 3x
func BenchmarkCommandVersusKubectl(b *testing.B) {
	c := testcluster.Get(b)
	kubectl := c.KubectlPath(b)
	exe := buildStrata(b)
	versions := c.BenchVersions(b)

	dir, file := benchStack1010(b, c)
	kc := "--kubeconfig=" + c.Kubeconfig()
	start := time.Now()
	testcluster.BenchProgress("CommandVersusKubectl: applying the 1,010 objects (untimed)")
	if r := runBinary(b, exe, "apply", "--auto-approve", kc, dir); r.code != 0 {
		b.Fatalf("apply: exit %d\n%s", r.code, tail(r.out))
	}
	applied := time.Since(start).Round(time.Millisecond)

	b.Run("no-change", func(b *testing.B) {
		b.Log(versions)
		b.Logf("apply of the 1,010 objects before the rounds (untimed): %s", applied)
		b.Logf("load before: %s", loadAvg())
		var plan, cold, drift, diff, exact []time.Duration
		var planRSS, coldRSS, driftRSS float64
		tools := []func(){
			func() {
				if err := os.RemoveAll(filepath.Join(dir, ".strata", "renders")); err != nil {
					b.Fatal(err)
				}
				r := runBinary(b, exe, "plan", "--detailed-exitcode", "--no-color", kc, dir)
				if r.code != 0 {
					b.Fatalf("plan without render cache: exit %d, want 0 (no change)\n%s", r.code, tail(r.out))
				}
				cold, coldRSS = append(cold, r.wall), max(coldRSS, r.rssMB)
			},
			func() {
				r := runBinary(b, exe, "plan", "--detailed-exitcode", "--no-color", kc, dir)
				if r.code != 0 {
					b.Fatalf("plan: exit %d, want 0 (no change)\n%s", r.code, tail(r.out))
				}
				plan, planRSS = append(plan, r.wall), max(planRSS, r.rssMB)
			},
			func() {
				r := runBinary(b, exe, "drift", "--no-color", kc, dir)
				if r.code != 0 {
					b.Fatalf("drift: exit %d, want 0 (no drift)\n%s", r.code, tail(r.out))
				}
				drift, driftRSS = append(drift, r.wall), max(driftRSS, r.rssMB)
			},
			func() {
				r := runBinary(b, kubectl, "--kubeconfig", c.Kubeconfig(), "diff", "--server-side", "-f", file)
				if r.code != 0 {
					b.Fatalf("kubectl diff: exit %d, want 0 (no difference)\n%s", r.code, tail(r.out))
				}
				diff = append(diff, r.wall)
			},
			func() { exact = append(exact, planInProcess(b, c, dir, true)) },
		}
		round := 0
		for b.Loop() {
			testcluster.BenchProgress("CommandVersusKubectl: round %d", round+1)
			for _, run := range rotate(tools, round) {
				run()
			}
			round++
		}
		p, pc, d, k, e := median(plan), median(cold), median(drift), median(diff), median(exact)
		b.ReportMetric(float64(len(plan)), "runs")
		b.ReportMetric(p.Seconds(), "strata-plan-s")
		b.ReportMetric(pc.Seconds(), "strata-plan-cold-s")
		b.ReportMetric(k.Seconds()/pc.Seconds(), "plan-cold-speedup")
		b.ReportMetric(coldRSS, "plan-cold-peak-RSS-MB")
		b.ReportMetric(d.Seconds(), "strata-drift-s")
		b.ReportMetric(e.Seconds(), "strata-exact-plan-s")
		b.ReportMetric(k.Seconds(), "kubectl-diff-s")
		b.ReportMetric(k.Seconds()/p.Seconds(), "plan-speedup")
		b.ReportMetric(k.Seconds()/d.Seconds(), "drift-speedup")
		b.ReportMetric(k.Seconds()/e.Seconds(), "exact-plan-speedup")
		b.ReportMetric(planRSS, "plan-peak-RSS-MB")
		b.ReportMetric(driftRSS, "drift-peak-RSS-MB")
		b.Logf("1,010 unchanged objects, whole commands, median of %d: strata plan %s (%.1fx), without render cache %s (%.1fx), strata drift %s (%.1fx), "+
			"exact plan (a dry run per object, in process) %s (%.1fx), kubectl diff --server-side %s; runs: plan %v, plan without render cache %v, drift %v, exact %v, kubectl %v",
			len(plan), p.Round(time.Millisecond), k.Seconds()/p.Seconds(), pc.Round(time.Millisecond), k.Seconds()/pc.Seconds(),
			d.Round(time.Millisecond), k.Seconds()/d.Seconds(),
			e.Round(time.Millisecond), k.Seconds()/e.Seconds(),
			k.Round(time.Millisecond), rounded(plan), rounded(cold), rounded(drift), rounded(exact), rounded(diff))
		b.Logf("load after: %s", loadAvg())
	})
}

// buildStrata builds the strata binary of this package into a temporary
// directory, with the toolchain that runs the test.
func buildStrata(b *testing.B) string {
	b.Helper()
	exe := filepath.Join(b.TempDir(), "strata")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", exe, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// benchStack1010 writes a stack of one kustomization holding the 1,010
// objects of providers/kube/testdata/objects-1010.yaml, in namespaces of
// their own that are deleted after the benchmark. It returns the stack
// directory and the objects' file.
func benchStack1010(b *testing.B, c *testcluster.Cluster) (dir, file string) {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "providers", "kube", "testdata", "objects-1010.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	prefix := testcluster.UniqueName("cb")
	dir = filepath.Join(b.TempDir(), "cmdbench")
	writeFiles(b, dir, map[string]string{
		"main.hcl":                "kustomization \"bench\" {\n  path  = \"objs\"\n  prune = true\n}\n",
		"objs/kustomization.yaml": "resources: [objects.yaml]\n",
		"objs/objects.yaml":       strings.ReplaceAll(string(raw), "bench-", prefix+"-"),
	})
	b.Cleanup(func() {
		for i := range 10 {
			_ = c.KubectlCommand(b, "delete", "namespace", fmt.Sprintf("%s-%d", prefix, i), "--ignore-not-found", "--wait=false").Run()
		}
	})
	return dir, filepath.Join(dir, "objs", "objects.yaml")
}

// childRun is the outcome of one child process.
type childRun struct {
	code  int
	wall  time.Duration
	rssMB float64 // peak resident memory
	out   string
}

// runBinary runs exe with args and returns its exit code, wall time (from
// the start of the process to its end), peak RSS and output.
func runBinary(b *testing.B, exe string, args ...string) childRun {
	b.Helper()
	cmd := exec.Command(exe, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := childRun{wall: time.Since(start), out: out.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			b.Fatal(err)
		}
		r.code = ee.ExitCode()
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssMB = float64(ru.Maxrss) / 1024
	}
	return r
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(s)
}

// loadAvg returns the 1, 5 and 15 minute load averages and the cores.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return fmt.Sprintf("%s %s %s (1, 5, 15 min), %d cores", f[0], f[1], f[2], runtime.NumCPU())
}
