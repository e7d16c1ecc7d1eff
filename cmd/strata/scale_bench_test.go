package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/planner"
	"github.com/strata-gitops/strata/providers/kube"
)

// scalePerBlock is how many objects each kustomization of a scale stack
// holds, and scalePerNamespace how many each namespace.
const (
	scalePerBlock     = 100
	scalePerNamespace = 500
)

// scaleSet is one copy of a scale stack: its directory (main.hcl and
// apps/kNNNN/objects.yaml, plain directories of manifests that strata
// renders as Flux does and that kubectl reads with -f apps -R) and the
// namespaces its objects live in (created by the benchmark).
type scaleSet struct {
	dir string
	nss []string
	n   int // objects
	c   *testcluster.Cluster
}

// apps is the directory of the set's manifests.
func (s *scaleSet) apps() string { return filepath.Join(s.dir, "apps") }

// newScaleSet creates the namespaces and writes, into a new directory in
// root (which must outlive the set), a stack of n objects (see grow).
func newScaleSet(b *testing.B, c *testcluster.Cluster, n int, root string) *scaleSet {
	b.Helper()
	s := &scaleSet{dir: filepath.Join(root, testcluster.UniqueName("scale")), c: c}
	s.grow(b, n)
	return s
}

// grow creates the namespaces the set lacks and writes its stack for n
// objects, in kustomizations of scalePerBlock objects, with wait = false
// (as kubectl apply, which does not wait either): half ConfigMaps, a fifth
// Services (headless), a fifth RBAC (Roles and RoleBindings) and a tenth
// Deployments of 0 replicas (few, so that the controllers' work on new
// Deployments does not dominate the run at 50,000 objects). The first
// objects are the same as those of a smaller set before: applied, only the
// new ones are created.
func (s *scaleSet) grow(b *testing.B, n int) {
	b.Helper()
	cs, err := s.c.Clientset()
	if err != nil {
		b.Fatal(err)
	}
	for len(s.nss) < (n+scalePerNamespace-1)/scalePerNamespace {
		name := testcluster.UniqueName("scale")
		if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			b.Fatalf("creating namespace %s: %v", name, err)
		}
		s.nss = append(s.nss, name)
	}
	files := map[string]string{}
	var hcl, y strings.Builder
	for i := 0; i < n; i++ {
		ns := s.nss[i/scalePerNamespace]
		blk := fmt.Sprintf("k%04d", i/scalePerBlock)
		if i%scalePerBlock == 0 {
			fmt.Fprintf(&hcl, "kustomization %q {\n  path = \"apps/%s\"\n  wait = false\n}\n", blk, blk)
		}
		scaleObject(&y, i, ns)
		if (i+1)%scalePerBlock == 0 || i == n-1 {
			files["apps/"+blk+"/objects.yaml"] = y.String()
			y.Reset()
		}
	}
	files["main.hcl"] = hcl.String()
	writeFiles(b, s.dir, files)
	s.n = n
}

// scaleObject writes object i of a scale set, in namespace ns.
func scaleObject(y *strings.Builder, i int, ns string) {
	switch i % 10 {
	case 0, 1, 2, 3, 4:
		fmt.Fprintf(y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s}\ndata: {key: value-%d, other: x}\n", i, ns, i)
	case 5, 6:
		fmt.Fprintf(y, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: %s}\nspec: {clusterIP: None, selector: {app: a%d}, ports: [{port: 80, targetPort: 8080}]}\n", i, ns, i)
	case 7:
		fmt.Fprintf(y, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-%d, namespace: %s}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get, list]}]\n", i, ns)
	case 8:
		fmt.Fprintf(y, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb-%d, namespace: %s}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-%d}\nsubjects: [{kind: ServiceAccount, name: default, namespace: %s}]\n", i, ns, i-1, ns)
	case 9:
		fmt.Fprintf(y, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep-%d, namespace: %s}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: a%d}}\n  template:\n    metadata: {labels: {app: a%d}}\n    spec: {containers: [{name: app, image: nginx:1.27, env: [{name: INDEX, value: \"%d\"}]}]}\n", i, ns, i, i, i)
	}
}

// delete deletes the set's namespaces and, with wait, waits until they are
// gone, so that the namespace controller's work does not overlap what is
// measured next (without: after the last measurement).
func (s *scaleSet) delete(b *testing.B, wait bool) {
	b.Helper()
	cs, err := s.c.Clientset()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	for _, ns := range s.nss {
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			b.Fatal(err)
		}
	}
	for _, ns := range s.nss {
		for wait {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if ctx.Err() != nil {
				b.Fatalf("namespace %s not deleted in time", ns)
			}
			time.Sleep(time.Second)
		}
	}
	s.nss = nil
}

// settle waits, untimed, until every Deployment of the set is Available
// (their controller has written their status), so that no tool diffs while
// the controllers are still busy with fresh objects.
func (s *scaleSet) settle(b *testing.B) {
	b.Helper()
	for _, ns := range s.nss {
		s.c.Kubectl(b, "wait", "-n", ns, "--for=condition=Available", "deployment", "--all", "--timeout=15m")
	}
}

// scaleSizes are the stack sizes of BenchmarkScale: $STRATA_BENCH_SIZES
// (comma-separated) or 1,000, 10,000 and 50,000.
func scaleSizes(b *testing.B) []int {
	return envInts(b, "STRATA_BENCH_SIZES", []int{1000, 10000, 50000}, 1)
}

// envInts reads a comma-separated list of numbers of at least least from
// the environment.
func envInts(b *testing.B, name string, def []int, least int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < least {
			b.Fatalf("$%s: %q is not a number of at least %d", name, f, least)
		}
		out = append(out, n)
	}
	return out
}

// componentCPU reads the CPU time the cluster's API server and etcd, and
// its controller manager, have used so far.
func componentCPU(b *testing.B, c *testcluster.Cluster) (server, controllers time.Duration) {
	b.Helper()
	server, err := c.ComponentCPU("kube-apiserver", "etcd")
	if err != nil {
		b.Fatal(err)
	}
	controllers, err = c.ComponentCPU("kube-controller-manager")
	if err != nil {
		b.Fatal(err)
	}
	return server, controllers
}

// envInt reads a number from the environment (0 or more).
func envInt(b *testing.B, name string, def int) int {
	return envInts(b, name, []int{def}, 0)[0]
}

// samples collects the runs of one figure.
type samples []time.Duration

// median returns the median in seconds.
func (s samples) median() float64 {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return c[len(c)/2].Seconds()
}

// rounded returns the runs rounded to milliseconds, for the logs.
func (s samples) rounded() []time.Duration { return rounded(s) }

// BenchmarkScale measures strata on stacks of 1,000, 10,000 and 50,000
// objects (STRATA_BENCH_SIZES) in kustomizations of 100 objects each (plain
// directories of manifests: half ConfigMaps, a fifth headless Services, a
// fifth Roles and RoleBindings, a tenth Deployments of 0 replicas), 500
// objects per namespace. For each size, in this order:
//
//   - apply, at the sizes of STRATA_BENCH_APPLY_SIZES (default 10,000): in
//     each round a new copy of the set (new namespaces) applied by `strata
//     apply --auto-approve` (plan and apply, the whole command, a child
//     process: its peak RSS), and another by the harness-built `kubectl
//     apply --server-side -f apps -R`, the two taking turns at going
//     first; speedup-vs-kubectl-apply is kubectl's time over strata's.
//     Beside the times, CPU seconds: strata's process (strata-apply-cpu-s)
//     and the cluster's API server and etcd during each tool's run
//     (strata-apply-server-cpu-s, kubectl-apply-server-cpu-s; read from
//     /proc, so anything else the cluster serves meanwhile counts too),
//     with the controller manager's logged.
//     kubectl's copy, and strata's from the second round on, are deleted
//     (untimed, waiting until they are gone) before the next run; strata's
//     first copy is the set the plan and drift rows measure. At the other
//     sizes that set is applied by strata apply, untimed (its time logged):
//     the set of the size before grown (its first objects are the same;
//     only the new ones are created), or a new one.
//   - plan: after the set settled (every Deployment Available, untimed)
//     and the cluster is quiet (see below), `strata plan --detailed-exitcode` of the unchanged set (exit 0
//     required), the whole command as a child process: process start, stack
//     load, client setup, render, state read, LISTs, comparison; its wall
//     and CPU time, the CPU time the API server and etcd spent meanwhile
//     (strata-plan-server-cpu-s, from /proc), and its peak resident
//     memory (the child's own VmHWM;
//     the child is this test binary running strata's main, which starts
//     with some 10 MB more than bin/strata). Up to
//     STRATA_BENCH_KUBECTL_MAX objects (default 10,000), beside it, in
//     turns: the exact diff, a server-side dry run for every object (the
//     command has no flag for it: the planner's Plan in this process with
//     kube.Options.ExactDiff and a new client, its setup timed:
//     strata-exact-plan-s), and `kubectl diff --server-side -f apps -R` over
//     the same files (exit 0 required), as a user runs it.
//     speedup-vs-kubectl-diff is kubectl's time over strata plan's,
//     exact-speedup-vs-kubectl-diff kubectl's over the exact plan's.
//     Neither kubectl nor the exact diff runs at 50,000 objects by default.
//   - drift: once the cluster is quiet again, `strata drift` of the
//     unchanged set (exit 0 required), a child process, with its CPU time,
//     the API server's and etcd's (strata-drift-server-cpu-s), and its
//     peak memory.
//
// Before the plan rows and again before the drift rows, untimed and the
// same at every size, the benchmark waits until the cluster is quiet: the
// API server, etcd and the controller manager together using less than
// 15% of a core over 5 seconds (read from /proc; at most 3 minutes, the
// wait and the last reading logged). Without it the rows of the larger
// sizes were timed while the controllers still worked through the
// objects just created (ReplicaSets, EndpointSlices, status) and the API
// server through the requests of the rounds before, which the smaller
// sizes never waited for: not like with like. For the same reason it
// waits again, untimed, before each timed run of those rows (strata's,
// the exact diff's and kubectl's alike; the waits logged per row): at
// 10,000 objects each of strata's plans followed the dry runs of 10,000
// objects that the exact diff or kubectl had just sent, and the runs of
// 50,000 objects followed each other (6.75, 5.63 and 4.77 s in one run,
// each faster than the one before).
//
// Each figure is the median of the -benchtime runs (3x for the record; the
// runs column says how many), the single runs are logged; the setup runs
// once (b.Loop). Run:
//
//	STRATA_TEST_CLUSTER=... go test ./cmd/strata -run '^$' -bench Scale -benchtime 3x
func BenchmarkScale(b *testing.B) {
	c := testcluster.Get(b)
	b.Log(c.BenchVersions(b))
	kubectlMax := envInt(b, "STRATA_BENCH_KUBECTL_MAX", 10000)
	applySizes := envInts(b, "STRATA_BENCH_APPLY_SIZES", []int{10000}, 1)
	root := b.TempDir() // the sets' files, kept until the last size is done
	var prev *scaleSet
	for _, n := range scaleSizes(b) {
		cur := prev // benchScale owns it: deletes it, or grows it into its set
		prev = nil
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			prev = benchScale(b, c, n, cur, root, n <= kubectlMax, slices.Contains(applySizes, n))
		})
	}
	if prev != nil {
		testcluster.BenchProgress("Scale: deleting the last set (not waiting)")
		prev.delete(b, false)
	}
}

// benchScale measures one size (see BenchmarkScale) and returns the set it
// measured, for the next size. prev is the set of the size before: grown
// into this size's set (strata apply creates the new objects only) unless
// this size measures apply, which creates sets of its own; else deleted.
func benchScale(b *testing.B, c *testcluster.Cluster, n int, prev *scaleSet, root string, withKubectl, withApply bool) (kept *scaleSet) {
	kc := "--kubeconfig=" + c.Kubeconfig()
	var set *scaleSet
	defer func() {
		if b.Failed() {
			for _, s := range []*scaleSet{prev, set} {
				if s != nil {
					s.delete(b, false)
				}
			}
			kept = nil
		}
	}()
	if prev != nil && (withApply || prev.n >= n) {
		testcluster.BenchProgress("Scale: %d objects: deleting the set of %d objects", n, prev.n)
		prev.delete(b, true)
		prev = nil
	}
	switch {
	case withApply:
		b.Run("apply", func(b *testing.B) { set = benchScaleApply(b, c, n, root) })
		if set == nil {
			b.Fatalf("%d objects: no set to plan: the apply failed", n)
		}
	default:
		from := 0
		if set, prev = prev, nil; set != nil {
			from = set.n
			set.grow(b, n)
		} else {
			set = newScaleSet(b, c, n, root)
		}
		testcluster.BenchProgress("Scale: %d objects: applying the set (untimed; %d objects there before)", n, from)
		start := time.Now()
		code, _, rss, out := runChild(b, "apply", "--auto-approve", kc, set.dir)
		if code != 0 {
			b.Fatalf("apply: exit %d\n%s", code, tail(out))
		}
		b.Logf("%d objects in %d kustomizations: set up by strata apply in %s (peak RSS %.0f MB; %d of the objects applied before), untimed",
			n, (n+scalePerBlock-1)/scalePerBlock, time.Since(start).Round(time.Millisecond), rss, from)
	}
	testcluster.BenchProgress("Scale: %d objects: settling", n)
	b.Logf("%d objects: settled (every Deployment Available) in %s, untimed", n, settleTime(b, set))
	quiet(b, c, n, "plan")
	b.Run("plan", func(b *testing.B) { benchScalePlan(b, c, set, n, withKubectl) })
	quiet(b, c, n, "drift")
	b.Run("drift", func(b *testing.B) { benchScaleDrift(b, c, set, n, kc) })
	return set
}

// Waiting for a quiet cluster (see quiet): the cluster's components (the
// API server, etcd and the controller manager together) count as quiet
// once they used less than quietShare of one core over quietWindow, and
// quiet gives up after quietMax.
const (
	quietWindow = 5 * time.Second
	quietShare  = 0.15
	quietMax    = 3 * time.Minute
)

// quiet waits, untimed, until the cluster's components are quiet, so that
// the rows of every size are timed on a cluster that has finished with
// what came before (the controllers' work on the new objects of the
// apply, the requests of the rounds before) instead of one that is still
// busy with it, which the rows of the larger sizes would pay for. It logs
// how long it waited and what the components used in the last window; a
// cluster that does not get quiet in quietMax (one shared with other
// runs) is logged as such and measured as it is.
func quiet(b *testing.B, c *testcluster.Cluster, n int, before string) {
	b.Helper()
	testcluster.BenchProgress("Scale: %d objects: waiting for a quiet cluster before %s", n, before)
	w := waitQuiet(b, c)
	if w.ok {
		b.Logf("%d objects: cluster quiet before %s after %s (API server, etcd and controller manager: %.0f%% of a core over %s), untimed",
			n, before, w.waited, 100*w.share, quietWindow)
		return
	}
	b.Logf("%d objects: cluster not quiet before %s after %s (API server, etcd and controller manager: %.0f%% of a core over %s): measured as it is",
		n, before, w.waited, 100*w.share, quietWindow)
}

// quietWait is what one wait for a quiet cluster took: how long, the
// components' share of a core in the last window, and whether it was
// below quietShare (else the wait gave up after quietMax).
type quietWait struct {
	waited time.Duration
	share  float64
	ok     bool
}

func (w quietWait) String() string {
	if !w.ok {
		return fmt.Sprintf("not quiet after %s (%.0f%%)", w.waited, 100*w.share)
	}
	return w.waited.String()
}

// waitQuiet waits, untimed, until the cluster's API server, etcd and
// controller manager together used less than quietShare of a core over
// quietWindow, or quietMax passed.
func waitQuiet(b *testing.B, c *testcluster.Cluster) quietWait {
	b.Helper()
	start := time.Now()
	for {
		a0, c0 := componentCPU(b, c)
		time.Sleep(quietWindow)
		a1, c1 := componentCPU(b, c)
		w := quietWait{waited: time.Since(start).Round(time.Second), share: (a1 - a0 + c1 - c0).Seconds() / quietWindow.Seconds()}
		if w.ok = w.share < quietShare; w.ok || w.waited >= quietMax {
			return w
		}
	}
}

// quietRuns waits for a quiet cluster before each timed run of a row (see
// BenchmarkScale) and keeps the waits, for the row's log.
type quietRuns struct {
	b     *testing.B
	c     *testcluster.Cluster
	waits []quietWait
}

// before waits for a quiet cluster before the next run.
func (q *quietRuns) before() { q.waits = append(q.waits, waitQuiet(q.b, q.c)) }

// log logs the waits of the row.
func (q *quietRuns) log(n int, row string) {
	q.b.Logf("%d objects, %s: before each run, cluster quiet after %v (untimed)", n, row, q.waits)
}

func settleTime(b *testing.B, s *scaleSet) time.Duration {
	start := time.Now()
	s.settle(b)
	return time.Since(start).Round(time.Millisecond)
}

// benchScalePlan measures the no-change plan of set (see BenchmarkScale).
func benchScalePlan(b *testing.B, c *testcluster.Cluster, set *scaleSet, n int, compare bool) {
	kc := "--kubeconfig=" + c.Kubeconfig()
	var plan, planCPU, planServer, exact, kdiff samples
	var peak float64
	q := quietRuns{b: b, c: c}
	tools := []func(){func() {
		q.before()
		a0, _ := componentCPU(b, c)
		code, d, cpu, rss, out := runChildCPU(b, "plan", "--lock=false", "--detailed-exitcode", kc, set.dir)
		a1, _ := componentCPU(b, c)
		if code != 0 {
			b.Fatalf("plan of the unchanged set: exit %d, want 0\n%s", code, tail(out))
		}
		plan, planCPU, planServer = append(plan, d), append(planCPU, cpu), append(planServer, a1-a0)
		peak = max(peak, rss)
	}}
	if compare {
		tools = append(tools,
			func() {
				q.before()
				exact = append(exact, planInProcess(b, c, set.dir, true))
			},
			func() {
				q.before()
				t0 := time.Now()
				kubectlDiff(b, c, set)
				kdiff = append(kdiff, time.Since(t0))
			})
	}
	round := 0
	for b.Loop() {
		testcluster.BenchProgress("Scale: %d objects: plan, round %d", n, round+1)
		for _, run := range rotate(tools, round) {
			run()
		}
		round++
	}
	b.ReportMetric(float64(len(plan)), "runs")
	b.ReportMetric(plan.median(), "strata-plan-s")
	b.ReportMetric(planCPU.median(), "strata-plan-cpu-s")
	b.ReportMetric(planServer.median(), "strata-plan-server-cpu-s")
	b.ReportMetric(peak, "strata-plan-peak-RSS-MB")
	msg := fmt.Sprintf("%d objects, no-change plan, median of %d: strata plan %.2fs (CPU %.2fs, peak RSS %.0f MB)",
		n, len(plan), plan.median(), planCPU.median(), peak)
	if compare {
		b.ReportMetric(exact.median(), "strata-exact-plan-s")
		b.ReportMetric(kdiff.median(), "kubectl-diff-s")
		b.ReportMetric(kdiff.median()/plan.median(), "speedup-vs-kubectl-diff")
		b.ReportMetric(kdiff.median()/exact.median(), "exact-speedup-vs-kubectl-diff")
		msg += fmt.Sprintf("; exact plan (a dry run per object, in process) %.2fs; kubectl diff --server-side %.2fs: strata %.1fx faster, exact %.1fx",
			exact.median(), kdiff.median(), kdiff.median()/plan.median(), kdiff.median()/exact.median())
	}
	b.Log(msg)
	runs := fmt.Sprintf("%d objects, plan runs: strata plan %v (CPU %v; API server and etcd CPU %v)", n, plan.rounded(), planCPU.rounded(), planServer.rounded())
	if compare {
		runs += fmt.Sprintf(", exact %v, kubectl diff %v", exact.rounded(), kdiff.rounded())
	}
	b.Log(runs)
	q.log(n, "plan")
}

// planInProcess plans the stack in dir with the planner in this process,
// with a new client (created inside the timed region) that diffs fast or
// exactly, and fails unless the plan has no change.
func planInProcess(b *testing.B, c *testcluster.Cluster, dir string, exact bool) time.Duration {
	b.Helper()
	start := time.Now()
	m, err := kube.NewManager(c.RESTConfig(), kube.Options{ExactDiff: exact})
	if err != nil {
		b.Fatal(err)
	}
	eng, diags := planner.Load(planner.Options{Dir: dir, Kubeconfig: c.Kubeconfig(),
		Providers: &planner.Providers{Kube: func(string) (planner.Kube, error) { return m, nil }}})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	defer eng.Close()
	p, err := eng.Plan(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if p.HasErrors() || p.HasChanges() {
		b.Fatalf("in-process plan (exact %v) of the unchanged set: errors %v, changes %v", exact, p.Errors, p.Summary())
	}
	return d
}

// kubectlDiff runs `kubectl diff --server-side -f apps -R` on the set and
// fails unless it finds no difference.
func kubectlDiff(b *testing.B, c *testcluster.Cluster, set *scaleSet) {
	b.Helper()
	out, err := c.KubectlCommand(b, "diff", "--server-side", "-f", set.apps(), "-R").CombinedOutput()
	if err != nil {
		b.Fatalf("kubectl diff of the unchanged set: %v\n%s", err, tail(string(out)))
	}
}

// benchScaleDrift measures `strata drift` of the unchanged set.
func benchScaleDrift(b *testing.B, c *testcluster.Cluster, set *scaleSet, n int, kc string) {
	var drift, cpu, server samples
	var peak float64
	q := quietRuns{b: b, c: c}
	round := 0
	for b.Loop() {
		round++
		testcluster.BenchProgress("Scale: %d objects: drift, round %d", n, round)
		q.before()
		a0, _ := componentCPU(b, c)
		code, d, ccpu, rss, out := runChildCPU(b, "drift", kc, set.dir)
		a1, _ := componentCPU(b, c)
		if code != 0 {
			b.Fatalf("drift of the unchanged set: exit %d, want 0\n%s", code, tail(out))
		}
		drift, cpu, server = append(drift, d), append(cpu, ccpu), append(server, a1-a0)
		peak = max(peak, rss)
	}
	b.ReportMetric(float64(len(drift)), "runs")
	b.ReportMetric(drift.median(), "strata-drift-s")
	b.ReportMetric(cpu.median(), "strata-drift-cpu-s")
	b.ReportMetric(server.median(), "strata-drift-server-cpu-s")
	b.ReportMetric(peak, "strata-drift-peak-RSS-MB")
	b.Logf("%d objects, drift runs: %v (CPU %v; API server and etcd CPU %v), peak RSS %.0f MB", n, drift.rounded(), cpu.rounded(), server.rounded(), peak)
	q.log(n, "drift")
}

// benchScaleApply measures the apply of new copies of the set by each tool
// (see BenchmarkScale) and returns strata's first copy, applied and kept.
func benchScaleApply(b *testing.B, c *testcluster.Cluster, n int, root string) *scaleSet {
	kc := "--kubeconfig=" + c.Kubeconfig()
	var sApply, kApply, sCPU, sServer, kServer, sCtrl, kCtrl samples
	var peak float64
	var kept *scaleSet
	// server measures what the API server and etcd, and the controller
	// manager, spent while fn ran.
	server := func(fn func()) (time.Duration, time.Duration) {
		a0, c0 := componentCPU(b, c)
		fn()
		a1, c1 := componentCPU(b, c)
		return a1 - a0, c1 - c0
	}
	defer func() {
		if b.Failed() && kept != nil {
			kept.delete(b, false)
		}
	}()
	tools := []func(){
		func() {
			set := newScaleSet(b, c, n, root)
			var code int
			var d, cpu time.Duration
			var rss float64
			var out string
			api, ctrl := server(func() { code, d, cpu, rss, out = runChildCPU(b, "apply", "--auto-approve", kc, set.dir) })
			if code != 0 {
				set.delete(b, false)
				b.Fatalf("strata apply: exit %d\n%s", code, tail(out))
			}
			sApply, peak = append(sApply, d), max(peak, rss)
			sCPU, sServer, sCtrl = append(sCPU, cpu), append(sServer, api), append(sCtrl, ctrl)
			if kept == nil {
				kept = set
				return
			}
			set.delete(b, true)
		},
		func() {
			set := newScaleSet(b, c, n, root)
			t0 := time.Now()
			var out []byte
			var err error
			api, ctrl := server(func() {
				out, err = c.KubectlCommand(b, "apply", "--server-side", "-f", set.apps(), "-R").CombinedOutput()
			})
			kApply = append(kApply, time.Since(t0))
			kServer, kCtrl = append(kServer, api), append(kCtrl, ctrl)
			set.delete(b, err == nil)
			if err != nil {
				b.Fatalf("kubectl apply: %v\n%s", err, tail(string(out)))
			}
		},
	}
	round := 0
	for b.Loop() {
		testcluster.BenchProgress("Scale: %d objects: apply, round %d", n, round+1)
		for _, run := range rotate(tools, round) {
			run()
		}
		round++
	}
	b.ReportMetric(float64(len(sApply)), "runs")
	b.ReportMetric(sApply.median(), "strata-apply-s")
	b.ReportMetric(peak, "strata-apply-peak-RSS-MB")
	b.ReportMetric(kApply.median(), "kubectl-apply-s")
	b.ReportMetric(kApply.median()/sApply.median(), "speedup-vs-kubectl-apply")
	b.ReportMetric(sCPU.median(), "strata-apply-cpu-s")
	b.ReportMetric(sServer.median(), "strata-apply-server-cpu-s")
	b.ReportMetric(kServer.median(), "kubectl-apply-server-cpu-s")
	b.Logf("%d objects, CPU seconds during each apply, median of %d: strata's process %.1f, the API server and etcd %.1f (kubectl's run: %.1f), the controller manager %.1f (kubectl's run: %.1f); runs: strata %v, API server and etcd %v (kubectl's run: %v)",
		n, len(sApply), sCPU.median(), sServer.median(), kServer.median(), sCtrl.median(), kCtrl.median(), sCPU.rounded(), sServer.rounded(), kServer.rounded())
	b.Logf("%d objects, apply of a new set, median of %d: strata apply %.2fs (peak RSS %.0f MB); kubectl apply --server-side %.2fs: strata %.1fx faster; runs: strata %v, kubectl %v",
		n, len(sApply), sApply.median(), peak, kApply.median(), kApply.median()/sApply.median(), sApply.rounded(), kApply.rounded())
	return kept
}
