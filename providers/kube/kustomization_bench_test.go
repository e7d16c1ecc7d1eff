package kube_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/providers/kustomize"
)

// writeKustomization writes one kustomization of n objects (two in five
// ConfigMaps, then Services, Deployments of 0 replicas and Roles) in the
// namespaces nss, and returns its directory. edited objects (ConfigMaps
// 0, 5, 10, ...) get another value.
func writeKustomization(b testing.TB, dir string, n int, nss []string, edited int) {
	b.Helper()
	var y strings.Builder
	for i := 0; i < n; i++ {
		ns := nss[i%len(nss)]
		switch i % 5 {
		case 0, 1:
			v := fmt.Sprint("value-", i)
			if i%5 == 0 && i/5 < edited {
				v = "edited"
			}
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s}\ndata: {key: %s, other: x}\n", i, ns, v)
		case 2:
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: %s}\nspec: {clusterIP: None, selector: {app: a%d}, ports: [{port: 80, targetPort: 8080}]}\n", i, ns, i)
		case 3:
			fmt.Fprintf(&y, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep-%d, namespace: %s}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: a%d}}\n  template:\n    metadata: {labels: {app: a%d}}\n    spec: {containers: [{name: app, image: nginx:1.27}]}\n", i, ns, i, i)
		case 4:
			fmt.Fprintf(&y, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-%d, namespace: %s}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]\n", i, ns)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for name, data := range map[string]string{"kustomization.yaml": "resources: [objects.yaml]\n", "objects.yaml": y.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOneKustomization5000 measures, side by side in one run, a plan
// of one kustomization of 5,000 objects (in 10 namespaces) applied before:
// `kubectl diff --server-side --force-conflicts -k` (the objects' fields
// are strata's: without --force-conflicts kubectl's dry run of an edited
// field conflicts with strata's field manager and kubectl fails) against
// strata's render and Diff (client
// setup included: a new Manager each time), the same with the render
// cache filled by an earlier plan of the same files (strata-cached-plan-s:
// a second plan of a commit), and the same with ExactDiff (a dry run for
// every object); with no change and with 10 objects edited in the files.
// The four take turns at going first, round by round. Each figure is the
// median of the -benchtime runs (3 for the record; the runs column says
// how many; b.Loop: the setup runs once), the single runs are logged.
// Both tools' versions are logged.
// kubectl diffs one object after the other: on a loaded machine its diff of
// 5,000 objects takes many minutes; STRATA_BENCH_PEER=0 leaves it out (the
// figures then have no peer, and say so).
//
//	STRATA_TEST_CLUSTER=... go test ./providers/kube -run '^$' -bench OneKustomization5000 -benchtime 3x
func BenchmarkOneKustomization5000(b *testing.B) {
	c := testcluster.Get(b)
	b.Log(c.BenchVersions(b))
	const n = 5000
	peer := os.Getenv("STRATA_BENCH_PEER") != "0"
	if !peer {
		b.Log("kubectl left out (STRATA_BENCH_PEER=0): strata figures only")
	}
	var nss []string
	for i := 0; i < 10; i++ {
		nss = append(nss, c.Namespace(b, "bk5k"))
	}
	dir := filepath.Join(b.TempDir(), "app")
	writeKustomization(b, dir, n, nss, 0)
	ctx := context.Background()
	opts := kube.DiffOptions{Stack: "bench", Block: "kustomization.app"}

	// The render cache of a repeated plan (planner keeps one per stack).
	cache := kustomize.NewCache(b.TempDir(), []byte("bench secret, 32 bytes long....."))
	plan := func(exact bool, cache *kustomize.Cache) *kube.ChangeSet {
		m, err := kube.NewManager(c.RESTConfig(), kube.Options{ExactDiff: exact})
		if err != nil {
			b.Fatal(err)
		}
		objs, err := kustomize.Build(ctx, kustomize.Options{Root: dir, Cache: cache, CacheSlot: "kustomization.app"})
		if err != nil {
			b.Fatal(err)
		}
		cs, err := m.Diff(ctx, objs, opts)
		if err != nil {
			b.Fatal(err)
		}
		return cs
	}
	start := time.Now()
	testcluster.BenchProgress("OneKustomization5000: plan and apply of %d objects (untimed)", n)
	cs := plan(false, nil)
	m, err := kube.NewManager(c.RESTConfig(), kube.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: opts.Stack, Block: opts.Block}, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("plan and apply of %d objects: %s", n, time.Since(start).Round(time.Millisecond))

	for _, edited := range []int{0, 10} {
		// A sub-benchmark, so that the set is applied once only.
		b.Run(fmt.Sprintf("edited=%d", edited), func(b *testing.B) {
			writeKustomization(b, dir, n, nss, edited)
			wantKubectl := 0
			if edited > 0 {
				wantKubectl = 1
			}
			plan(false, cache) // a first plan of these files fills the cache
			var kd, sd, sc, se []time.Duration
			var fast, cached, exact *kube.ChangeSet
			timed := func(into *[]time.Duration, f func()) func() {
				return func() {
					t0 := time.Now()
					f()
					*into = append(*into, time.Since(t0))
				}
			}
			// The tools take turns at going first, round by round.
			tools := []func(){
				timed(&sd, func() { fast = plan(false, nil) }),
				timed(&sc, func() { cached = plan(false, cache) }),
				timed(&se, func() { exact = plan(true, nil) }),
			}
			if peer {
				tools = append(tools, timed(&kd, func() { runKubectl(b, c, wantKubectl, "diff", "--server-side", "--force-conflicts", "-k", dir) }))
			}
			round := 0
			for b.Loop() {
				testcluster.BenchProgress("OneKustomization5000: %d edited, round %d", edited, round+1)
				for _, run := range tools[round%len(tools):] {
					run()
				}
				for _, run := range tools[:round%len(tools)] {
					run()
				}
				round++
				f, cf, e := changed(fast), changed(cached), changed(exact)
				if f != e || cf != e || strings.Count(f, "\n") != edited {
					b.Fatalf("%d edited: fast diff changes:\n%s\nwith the render cache:\n%s\nexact diff changes:\n%s", edited, f, cf, e)
				}
			}
			b.ReportMetric(float64(len(sd)), "runs")
			b.Logf("%d edited, runs: kubectl %v, strata %v, render cached %v, exact %v", edited, roundAll(kd), roundAll(sd), roundAll(sc), roundAll(se))
			if peer {
				b.ReportMetric(median(kd), "kubectl-diff-s")
				b.ReportMetric(median(kd)/median(sd), "speedup")
				b.ReportMetric(median(kd)/median(sc), "cached-speedup")
				b.ReportMetric(median(kd)/median(se), "exact-speedup")
			}
			b.ReportMetric(median(sd), "strata-plan-s")
			b.ReportMetric(median(sc), "strata-cached-plan-s")
			b.ReportMetric(median(se), "strata-exact-plan-s")
			if !peer {
				b.Logf("%d objects in one kustomization, %d edited, median of %d: strata %.2fs, render cached %.2fs, exact %.2fs (kubectl left out)",
					n, edited, len(sd), median(sd), median(sc), median(se))
				return
			}
			b.Logf("%d objects in one kustomization, %d edited, median of %d: kubectl diff --server-side --force-conflicts -k %.2fs, strata %.2fs (%.1fx), "+
				"render cached %.2fs (%.1fx), exact %.2fs (%.1fx)",
				n, edited, len(sd), median(kd), median(sd), median(kd)/median(sd), median(sc), median(kd)/median(sc), median(se), median(kd)/median(se))
		})
	}
}

// changed lists the changes of cs, one "action ref" a line, sorted.
func changed(cs *kube.ChangeSet) string {
	var l []string
	for _, ch := range cs.Changes {
		if ch.Action != kube.ActionNoop {
			l = append(l, fmt.Sprint(ch.Action, " ", ch.Ref)+"\n")
		}
	}
	sort.Strings(l)
	return strings.Join(l, "")
}

// median returns the median of ds in seconds.
func median(ds []time.Duration) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2].Seconds()
}
