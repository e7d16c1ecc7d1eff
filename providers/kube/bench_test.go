package kube_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
)

// BenchmarkVersusKubectl measures, side by side in one run on the same
// cluster, strata and kubectl on testdata/objects-1010.yaml (10 namespaces,
// 500 ConfigMaps, 250 Deployments, 250 Services):
//
//   - apply of a new set: `kubectl apply --server-side` against Diff+Apply
//     (a plan and its apply, what `strata apply` does) and Apply alone;
//   - diff of the unchanged set: `kubectl diff --server-side` against Diff
//     (and Diff with ExactDiff: a dry run for every object), each after the
//     set has settled (every object Current), so that neither tool diffs
//     while the controllers are still busy with the fresh objects.
//
// strata's client setup (a new Manager: its discovery of the API) is timed
// in every figure, as kubectl's is in its process. Each tool gets its own
// copy of the set (namespaces renamed), deleted before the other runs: the
// cluster's Service IP range holds one copy only. One iteration takes about
// a minute; the setup before b.Loop runs once whatever -benchtime says.
// Each figure is the median of the runs (-benchtime 3x for the record).
func BenchmarkVersusKubectl(b *testing.B) {
	c := testcluster.Get(b)
	c.KubectlPath(b) // build it before the clock runs
	raw, err := os.ReadFile(filepath.Join("testdata", "objects-1010.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// m settles and deletes the sets, untimed.
	m, err := kube.NewManager(c.RESTConfig(), kube.Options{})
	if err != nil {
		b.Fatal(err)
	}
	manager := func(opts kube.Options) *kube.Manager {
		m, err := kube.NewManager(c.RESTConfig(), opts)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	var kApply, kDiff, sPlanApply, sApply, sDiff, sExact []time.Duration
	for b.Loop() {
		// kubectl.
		kset := renameNamespaces(raw, testcluster.UniqueName("bk"))
		file := filepath.Join(b.TempDir(), "objects.yaml")
		if err := os.WriteFile(file, kset, 0o644); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		runKubectl(b, c, 0, "apply", "--server-side", "-f", file)
		kApply = append(kApply, time.Since(start))
		settle(b, m, decode(b, kset))
		start = time.Now()
		runKubectl(b, c, 0, "diff", "--server-side", "-f", file)
		kDiff = append(kDiff, time.Since(start))
		deleteNamespaces(b, m, decode(b, kset))

		// strata.
		objs := decode(b, renameNamespaces(raw, testcluster.UniqueName("bs")))
		opts := kube.DiffOptions{Stack: "bench", Block: "kustomization.bench"}
		start = time.Now()
		sm := manager(kube.Options{})
		cs, err := sm.Diff(ctx, objs, opts)
		if err != nil {
			b.Fatal(err)
		}
		planned := time.Since(start)
		if n := cs.Count(kube.ActionCreate); n != len(objs) {
			b.Fatalf("%d creates, want %d", n, len(objs))
		}
		start = time.Now()
		if _, err := sm.Apply(ctx, cs, kube.ApplyOptions{Stack: opts.Stack, Block: opts.Block}, nil); err != nil {
			b.Fatal(err)
		}
		sApply = append(sApply, time.Since(start))
		sPlanApply = append(sPlanApply, planned+sApply[len(sApply)-1])
		settle(b, m, objs)
		start = time.Now()
		cs, err = manager(kube.Options{}).Diff(ctx, objs, opts)
		if err != nil {
			b.Fatal(err)
		}
		sDiff = append(sDiff, time.Since(start))
		if cs.HasChanges() {
			b.Fatalf("diff of the unchanged set has changes")
		}
		start = time.Now()
		cs, err = manager(kube.Options{ExactDiff: true}).Diff(ctx, objs, opts)
		if err != nil {
			b.Fatal(err)
		}
		sExact = append(sExact, time.Since(start))
		if cs.HasChanges() {
			b.Fatalf("exact diff of the unchanged set has changes")
		}
		deleteNamespaces(b, m, objs)
	}
	ka, kd, spa, sa, sd, se := median(kApply), median(kDiff), median(sPlanApply), median(sApply), median(sDiff), median(sExact)
	b.ReportMetric(ka, "kubectl-apply-s")
	b.ReportMetric(spa, "strata-plan+apply-s")
	b.ReportMetric(sa, "strata-apply-s")
	b.ReportMetric(kd, "kubectl-diff-s")
	b.ReportMetric(sd, "strata-diff-s")
	b.ReportMetric(se, "strata-exact-diff-s")
	b.ReportMetric(ka/spa, "apply-speedup")
	b.ReportMetric(kd/sd, "diff-speedup")
	b.ReportMetric(kd/se, "exact-diff-speedup")
	b.Logf("1,010 objects, median of %d: apply new set: kubectl %.2fs, strata plan+apply %.2fs (apply alone %.2fs): %.1fx; "+
		"diff unchanged: kubectl %.2fs, strata %.2fs: %.1fx (ExactDiff, a dry run per object: %.2fs, %.1fx)",
		len(kApply), ka, spa, sa, ka/spa, kd, sd, kd/sd, se, kd/se)
}

var benchNamespace = regexp.MustCompile(`\bbench-(\d+)\b`)

func renameNamespaces(raw []byte, prefix string) []byte {
	return benchNamespace.ReplaceAll(raw, []byte(prefix+"-$1"))
}

func decode(b *testing.B, raw []byte) []*unstructured.Unstructured {
	b.Helper()
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err != nil {
			if err == io.EOF {
				return out
			}
			b.Fatal(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// runKubectl runs the harness's kubectl and fails unless it exits with want
// (kubectl diff exits 1 when it finds differences).
func runKubectl(b *testing.B, c *testcluster.Cluster, want int, args ...string) {
	b.Helper()
	cmd := c.KubectlCommand(b, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.Fatal(err)
	}
	if code != want {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		b.Fatalf("kubectl %v: exit %d, want %d:\n%s", args[0], code, want, tail)
	}
}

// deleteNamespaces deletes the set's namespaces and waits until they are
// gone, so that their Services give their IPs back.
func deleteNamespaces(b *testing.B, m *kube.Manager, objs []*unstructured.Unstructured) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nsr := m.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	var names []string
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			names = append(names, o.GetName())
			if err := nsr.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				b.Fatal(err)
			}
		}
	}
	for _, n := range names {
		for {
			_, err := nsr.Get(ctx, n, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if ctx.Err() != nil {
				b.Fatal(fmt.Errorf("namespace %s not deleted in time", n))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// settle waits, untimed, until every object of the set is Current.
func settle(b *testing.B, m *kube.Manager, objs []*unstructured.Unstructured) {
	b.Helper()
	refs := make([]kube.ObjectRef, len(objs))
	for i, o := range objs {
		refs[i] = kube.RefOf(o)
	}
	if err := m.Wait(context.Background(), refs, kube.WaitOptions{Timeout: 10 * time.Minute, Interval: 2 * time.Second}, nil); err != nil {
		b.Fatal(err)
	}
}

// roundAll returns ds rounded to milliseconds, for the logs.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
