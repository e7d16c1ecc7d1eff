package planner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// manyBlocks writes a stack of n kustomizations in namespace ns: block b0
// holds a ConfigMap, every other block a ConfigMap (named after the
// variable parity, so that a change of parity prunes one and creates
// another) and a Deployment; blocks depend on b0 and every fifth block on
// the one before it.
func manyBlocks(n int, ns string, minReady int) map[string]string {
	files := map[string]string{}
	var hcl strings.Builder
	hcl.WriteString(`variable "gen" {
  type    = string
  default = "0"
}
variable "parity" {
  type    = string
  default = "even"
}
`)
	for i := range n {
		name := fmt.Sprintf("b%d", i)
		deps := ""
		switch {
		case i%5 == 1 && i > 1:
			deps = fmt.Sprintf("  depends_on = [kustomization.b0, kustomization.b%d]\n", i-1)
		case i > 0:
			deps = "  depends_on = [kustomization.b0]\n"
		}
		fmt.Fprintf(&hcl, `kustomization %q {
  path       = %q
  wait       = true
  timeout    = "2m"
  substitute = { gen = var.gen, parity = var.parity }
%s}
`, name, name, deps)
		files[name+"/cm.yaml"] = fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s-${parity}
  namespace: %s
data:
  gen: "g${gen}"
`, name, ns)
		if i == 0 && minReady == 0 {
			continue
		}
		files[name+"/deploy.yaml"] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: %s
spec:
  replicas: 1
  minReadySeconds: %d
  selector: {matchLabels: {app: %s}}
  template:
    metadata:
      labels: {app: %s}
      annotations: {gen: "g${gen}"}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
`, name, ns, minReady, name, name)
	}
	files["main.hcl"] = hcl.String()
	return files
}

// TestKilledApplyConverges kills an apply of a 20-block stack with SIGKILL
// at 10 random moments. After each kill the apply is run again (after
// force-unlocking the lock the killed run left): it must succeed, the next
// plan must show no changes, and the state must list exactly the objects in
// the cluster that carry the stack's labels.
func TestKilledApplyConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (make test runs it): it kills 10 applies of a 20-block stack and takes minutes")
	}
	c := testcluster.Get(t)
	ns := c.Namespace(t, "crash")
	dir := writeStack(t, manyBlocks(20, ns, 0))
	stack := StackName(dir)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))

	// Time one full apply to know where to aim the kills.
	start := time.Now()
	applyStack(t, testOptions(c, dir))
	full := time.Since(start)
	t.Logf("a full apply of 20 blocks took %s", full)

	for i := 1; i <= 10; i++ {
		vars := []string{fmt.Sprintf("gen=%d", i), "parity=" + map[bool]string{true: "even", false: "odd"}[i%2 == 0]}
		cmd := exec.Command(os.Args[0], vars...)
		cmd.Env = append(os.Environ(), childEnv+"=1", "STRATA_PLANNER_TEST_DIR="+dir, "STRATA_PLANNER_TEST_KUBECONFIG="+c.Kubeconfig())
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(full + full/2)))
		time.Sleep(delay)
		_ = cmd.Process.Kill()
		err := cmd.Wait()
		t.Logf("kill %d after %s (child: %v)", i, delay.Round(time.Millisecond), err)

		// The killed run's lock stays: remove it as a user would.
		e, diags := Load(testOptions(c, dir, vars...))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		store, err := e.Store()
		if err != nil {
			t.Fatal(err)
		}
		if li, err := store.LockStatus(context.Background()); err != nil {
			t.Fatal(err)
		} else if li != nil {
			if err := store.ForceUnlock(context.Background(), li.ID); err != nil {
				t.Fatal(err)
			}
		}
		e.Close()

		applyStack(t, testOptions(c, dir, vars...))
		e2, p := planStack(t, testOptions(c, dir, vars...))
		if p.HasChanges() {
			t.Fatalf("kill %d: plan after the re-run has changes: %v %v", i, changed(p), p.Record)
		}
		got := stateObjects(t, e2)
		inCluster := labelled(t, c, stack, gvrConfigMap, gvrDeployment)
		if diff := cmp.Diff(inCluster, got); diff != "" {
			t.Fatalf("kill %d: state vs cluster (-cluster +state):\n%s\nchild output:\n%s", i, diff, out.String())
		}
		if len(got) != 39 {
			t.Fatalf("kill %d: state lists %d objects, want 39", i, len(got))
		}
	}
}

// TestParallelApply applies 10 independent blocks whose Deployments each
// need about 3 s to become available (minReadySeconds: 3): with parallelism
// 10 they take about as long as one block alone, not ten times as long.
func TestParallelApply(t *testing.T) {
	c := testcluster.Get(t)

	nsOne := c.Namespace(t, "par1")
	one := writeStack(t, map[string]string{
		"main.hcl":       "kustomization \"b1\" {\n  path = \"b1\"\n  wait = true\n}\n",
		"b1/deploy.yaml": manyBlocks(2, nsOne, 3)["b1/deploy.yaml"],
	})
	start := time.Now()
	applyStack(t, testOptions(c, one))
	single := time.Since(start)

	ns := c.Namespace(t, "par10")
	files := map[string]string{}
	var hcl strings.Builder
	for i := range 10 {
		name := fmt.Sprintf("b%d", i)
		fmt.Fprintf(&hcl, "kustomization %q {\n  path = %q\n  wait = true\n}\n", name, name)
		files[name+"/deploy.yaml"] = strings.ReplaceAll(manyBlocks(2, ns, 3)["b1/deploy.yaml"], "b1", name)
	}
	files["main.hcl"] = hcl.String()
	dir := writeStack(t, files)
	opts := testOptions(c, dir)
	opts.Parallelism = 10
	start = time.Now()
	res := applyStack(t, opts)
	ten := time.Since(start)
	t.Logf("one block: %s; ten independent blocks at parallelism 10: %s", single.Round(time.Millisecond), ten.Round(time.Millisecond))
	if res.Added != 10 {
		t.Errorf("added %d, want 10", res.Added)
	}
	if single < 3*time.Second {
		t.Errorf("one block took %s: the readiness delay did not work", single)
	}
	// Each block waits about 3 s for readiness: one after the other, ten
	// take ten times one block. Half of that leaves room for a loaded
	// machine and the race detector, and still fails a serial walk.
	if ten > 5*single {
		t.Errorf("ten blocks took %s, one took %s: not parallel", ten, single)
	}
}
