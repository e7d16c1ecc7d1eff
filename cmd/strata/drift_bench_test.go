package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner"
)

// benchObjects writes a stack of n objects in blocks kustomizations, into
// namespaces of the cluster: half ConfigMaps, a quarter Services and a
// quarter Deployments (0 replicas, so that no pods load the shared
// cluster), 500 per namespace (returned: object i is in namespace i/500).
func benchObjects(b *testing.B, c *testcluster.Cluster, n, blocks int) (string, []string) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), testcluster.UniqueName("bench"))
	files := map[string]string{}
	var hcl strings.Builder
	var y strings.Builder
	var ns string
	var nss []string
	per := n / blocks
	for i := 0; i < n; i++ {
		if i%500 == 0 {
			ns = c.Namespace(b, "dbench")
			nss = append(nss, ns)
		}
		if i%per == 0 {
			blk := fmt.Sprintf("objs%d", i/per)
			fmt.Fprintf(&hcl, "kustomization %q {\n  path = %q\n}\n", blk, blk)
			files[blk+"/kustomization.yaml"] = "resources: [objects.yaml]\n"
		}
		switch i % 4 {
		case 0, 1:
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s}\ndata: {key: value-%d, other: x}\n", i, ns, i)
		case 2:
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: %s}\nspec: {clusterIP: None, selector: {app: a%d}, ports: [{port: 80, targetPort: 8080}]}\n", i, ns, i)
		case 3:
			fmt.Fprintf(&y, `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep-%d, namespace: %s}
spec:
  replicas: 0
  selector: {matchLabels: {app: a%d}}
  template:
    metadata: {labels: {app: a%d}}
    spec: {containers: [{name: app, image: nginx:1.27, ports: [{containerPort: 8080}], env: [{name: N, value: "%d"}]}]}
`, i, ns, i, i, i)
		}
		if (i+1)%per == 0 {
			files[fmt.Sprintf("objs%d/objects.yaml", i/per)] = y.String()
			y.Reset()
		}
	}
	files["main.hcl"] = hcl.String()
	writeFiles(b, dir, files)
	return dir, nss
}

// runChild runs strata as a child process and returns its exit code, wall
// time, peak resident memory (MB: the child's own, see cliPeakRSSEnv) and
// output; runChildCPU also returns its CPU time (user and system), which a
// loaded machine changes less than the wall time.
func runChild(b testing.TB, args ...string) (int, time.Duration, float64, string) {
	code, d, _, rss, out := runChildCPU(b, args...)
	return code, d, rss, out
}

func runChildCPU(b testing.TB, args ...string) (int, time.Duration, time.Duration, float64, string) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	rssFile := filepath.Join(b.TempDir(), "peak-rss")
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), cliChildEnv+"=1", cliPeakRSSEnv+"="+rssFile)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			b.Fatal(err)
		}
		code = ee.ExitCode()
	}
	rss, err := readPeakRSS(rssFile)
	if err != nil {
		b.Fatal(err)
	}
	return code, d, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rss, string(out)
}

// readPeakRSS reads the peak resident memory a child wrote to file (see
// cliPeakRSSEnv), in MB.
func readPeakRSS(file string) (float64, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("peak RSS of the child: %w", err)
	}
	kb, ok := strings.CutSuffix(strings.TrimSpace(string(raw)), " kB")
	n, err := strconv.ParseFloat(strings.TrimSpace(kb), 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("peak RSS of the child: %q is not a number of kB", raw)
	}
	return n / 1024, nil
}

// BenchmarkDrift5000 checks a stack of 5,000 applied objects in one
// kustomization for drift with strata drift (a child process, for its
// peak RSS): cold (no baseline file, as in a fresh CronJob pod), warm, and
// with 50 objects edited in the cluster (drift-50-edited: their block is
// read from the render cache the apply filled and they get a dry run
// each; drift-50-edited-cold: without that cache, as in a fresh CronJob
// pod, so the block is rendered again). Each figure is the median of the
// -benchtime runs (3 for the record; the runs column says how many), the
// single runs are logged; the apply before them runs once, untimed. Run:
//
//	STRATA_TEST_CLUSTER=... go test ./cmd/strata -run '^$' -bench Drift5000 -benchtime 3x
func BenchmarkDrift5000(b *testing.B) {
	c := testcluster.Get(b)
	dir, nss := benchObjects(b, c, 5000, 1)
	kc := "--kubeconfig=" + c.Kubeconfig()
	start := time.Now()
	testcluster.BenchProgress("Drift5000: applying 5,000 objects (untimed)")
	if code, _, rss, out := runChild(b, "apply", "--auto-approve", kc, dir); code != 0 {
		b.Fatalf("apply: exit %d\n%s", code, tail(out))
	} else {
		b.Logf("apply of 5,000 objects in one kustomization: %s, peak RSS %.0f MB (untimed)", time.Since(start).Round(time.Millisecond), rss)
	}
	bench := func(name string, want int, args ...string) {
		b.Run(name, func(b *testing.B) {
			var peak float64
			var walls, cpus []time.Duration
			for b.Loop() {
				testcluster.BenchProgress("Drift5000: %s, round %d", name, len(walls)+1)
				switch name {
				case "drift-cold":
					_ = os.Remove(filepath.Join(dir, planner.BaselineFile))
				case "drift-50-edited-cold":
					_ = os.RemoveAll(filepath.Join(dir, planner.RenderCacheDir))
				}
				code, d, c, rss, out := runChildCPU(b, args...)
				if code != want {
					b.Fatalf("%s: exit %d, want %d\n%s", name, code, want, tail(out))
				}
				walls, cpus = append(walls, d), append(cpus, c)
				peak = max(peak, rss)
			}
			// Medians: one run slowed by another job does not move them.
			b.ReportMetric(float64(len(walls)), "runs")
			b.ReportMetric(medianSeconds(walls), "s/check")
			b.ReportMetric(medianSeconds(cpus), "cpu-s/check")
			b.ReportMetric(peak, "peak-RSS-MB")
			b.Logf("5,000 objects, %s: runs %v (CPU %v), peak RSS %.0f MB", name, rounded(walls), rounded(cpus), peak)
		})
	}
	// Cold: no baseline file; objects changed since the apply (Deployments:
	// their controller annotates them) are cleared by the field set hash
	// the state recorded at apply time.
	bench("drift-cold", 0, "drift", kc, dir)
	bench("drift", 0, "drift", kc, dir)
	// Drift in 50 objects: those need a dry run each. (In the bench's own
	// namespaces: the cluster is shared, other benchmarks have cm-N too.)
	for i := 0; i < 50; i++ {
		if out, err := c.KubectlCommand(b, "-n", nss[i*4/500], "patch", "configmap", fmt.Sprint("cm-", i*4),
			"--type=merge", "-p", `{"data":{"key":"edited"}}`).CombinedOutput(); err != nil {
			b.Fatalf("kubectl patch: %v\n%s", err, out)
		}
	}
	bench("drift-50-edited", 2, "drift", kc, dir)
	// The same without the render cache the apply filled (a fresh CronJob
	// pod): the block is rendered again.
	bench("drift-50-edited-cold", 2, "drift", kc, dir)
}

// medianSeconds returns the median of ds in seconds.
func medianSeconds(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2].Seconds()
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}
