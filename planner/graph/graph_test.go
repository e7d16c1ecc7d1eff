package graph_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/golden"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
)

func addr(s string) config.Address {
	a, err := config.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// build makes a graph from "from -> to" edge strings; "x" alone is a node.
func build(specs ...string) *graph.Graph {
	var nodes []config.Address
	var edges []graph.Edge
	for _, s := range specs {
		from, to, ok := strings.Cut(s, " -> ")
		nodes = append(nodes, addr(from))
		if ok {
			nodes = append(nodes, addr(to))
			edges = append(edges, graph.Edge{From: addr(from), To: addr(to)})
		}
	}
	return graph.New(nodes, edges)
}

func strs(as []config.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// genStack writes a stack of n blocks: a tenth Git sources, a tenth Helm
// sources, the rest kustomizations and releases in layers that depend on
// earlier ones.
func genStack(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	nsrc := max(1, n/10)
	fmt.Fprintf(&b, "variable \"env\" { default = \"prod\" }\nlocals { registry = \"quay.io\" }\n\n")
	for i := range nsrc {
		fmt.Fprintf(&b, "source \"git\" \"g%d\" {\n  url    = \"https://example.com/repo%d.git\"\n  branch = \"main\"\n}\n\n", i, i)
		fmt.Fprintf(&b, "source \"helm\" \"h%d\" {\n  url = \"https://charts.example.com/%d\"\n}\n\n", i, i)
	}
	rest := n - 2*nsrc
	for i := range rest {
		var deps []string
		if i >= 3 {
			deps = append(deps, fmt.Sprintf("kustomization.k%d", (i-3)/2*2))
		}
		if i >= 7 && i%2 == 1 {
			deps = append(deps, fmt.Sprintf("release.r%d", (i-7)|1))
		}
		if i%2 == 0 {
			fmt.Fprintf(&b, "kustomization \"k%d\" {\n  source     = source.git.g%d\n  path       = \"apps/%d\"\n  substitute = { env = var.env }\n  depends_on = [%s]\n}\n\n",
				i, i%nsrc, i, strings.Join(deps, ", "))
		} else {
			fmt.Fprintf(&b, "release \"r%d\" {\n  chart      = \"app\"\n  version    = \"~> 1.%d\"\n  source     = source.helm.h%d\n  values     = { image = \"${local.registry}/app%d\", replicas = %d }\n  depends_on = [%s]\n}\n\n",
				i, i%7, i%nsrc, i, i%5+1, strings.Join(deps, ", "))
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadGraph(t testing.TB, dir string) *graph.Graph {
	t.Helper()
	st, diags := config.Load(dir, config.LoadOptions{Version: "0.1.0"})
	if diags.HasErrors() {
		t.Fatalf("Load: %s", diags.Error())
	}
	g, diags := graph.Build(st)
	if diags.HasErrors() {
		t.Fatalf("Build: %s", diags.Error())
	}
	return g
}

func TestBuildFromStack(t *testing.T) {
	dir := t.TempDir()
	src := `
source "git" "app" { url = "https://example.com/app.git" }
kustomization "crds" { source = source.git.app }
kustomization "apps" {
  source     = source.git.app
  substitute = { owner = release.db.name }
  depends_on = [kustomization.crds, kustomization.crds]
}
release "db" {
  chart      = "postgres"
  source     = source.git.app
  depends_on = [kustomization.crds]
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	g := loadGraph(t, dir)
	var got []string
	for _, e := range g.Edges() {
		got = append(got, fmt.Sprintf("%s -> %s explicit=%v", e.From, e.To, e.Explicit))
	}
	want := []string{
		"kustomization.apps -> kustomization.crds explicit=true",
		"kustomization.apps -> release.db explicit=false",
		"kustomization.apps -> source.git.app explicit=false",
		"kustomization.crds -> source.git.app explicit=false",
		"release.db -> kustomization.crds explicit=true",
		"release.db -> source.git.app explicit=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"source.git.app", "kustomization.crds", "release.db", "kustomization.apps"}, strs(g.TopoOrder())); diff != "" {
		t.Errorf("TopoOrder (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"kustomization.apps", "kustomization.crds", "release.db"}, strs(g.Descendants(addr("kustomization.crds")))); diff != "" {
		t.Errorf("Descendants (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"kustomization.crds", "release.db", "source.git.app"}, strs(g.Ancestors(addr("release.db")))); diff != "" {
		t.Errorf("Ancestors (-want +got):\n%s", diff)
	}
}

func TestCycles(t *testing.T) {
	tests := map[string]struct {
		edges []string
		want  [][]string
	}{
		"none": {edges: []string{"release.a -> release.b"}},
		"self": {edges: []string{"release.a -> release.a", "release.b"}, want: [][]string{{"release.a"}}},
		"two":  {edges: []string{"release.b -> release.a", "release.a -> release.b"}, want: [][]string{{"release.a", "release.b"}}},
		"five in edge order": {
			edges: []string{"release.a -> release.c", "release.c -> release.e", "release.e -> release.b", "release.b -> release.d", "release.d -> release.a", "release.x -> release.a"},
			want:  [][]string{{"release.a", "release.c", "release.e", "release.b", "release.d"}},
		},
		"two separate": {
			edges: []string{"release.a -> release.b", "release.b -> release.a", "release.c -> release.d", "release.d -> release.c"},
			want:  [][]string{{"release.a", "release.b"}, {"release.c", "release.d"}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var got [][]string
			for _, c := range build(tt.edges...).Cycles() {
				got = append(got, strs(c))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Cycles (-want +got):\n%s", diff)
			}
		})
	}
}

// diamond: a <- b, a <- c, b,c <- d; e independent.
func diamond() *graph.Graph {
	return build(
		"release.b -> release.a", "release.c -> release.a",
		"release.d -> release.b", "release.d -> release.c", "release.e",
	)
}

func TestWalkOrder(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reverse=%v", reverse), func(t *testing.T) {
			g := diamond()
			var mu sync.Mutex
			done := map[config.Address]bool{}
			res := g.Walk(context.Background(), graph.WalkOptions{Parallelism: 3, Reverse: reverse}, func(ctx context.Context, a config.Address) error {
				waits := g.DependenciesOf(a)
				if reverse {
					waits = g.DependentsOf(a)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, w := range waits {
					if !done[w] {
						t.Errorf("%s visited before %s", a, w)
					}
				}
				done[a] = true
				return nil
			})
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			if len(done) != 5 {
				t.Errorf("visited %d nodes, want 5", len(done))
			}
		})
	}
}

func TestWalkFailureSkipsDependents(t *testing.T) {
	g := diamond()
	boom := errors.New("boom")
	var visited sync.Map
	res := g.Walk(context.Background(), graph.WalkOptions{Parallelism: 2}, func(ctx context.Context, a config.Address) error {
		visited.Store(a, true)
		if a == addr("release.b") {
			return boom
		}
		return nil
	})
	got := map[string]string{}
	for _, r := range res.Results {
		got[r.Addr.String()] = r.Status.String()
	}
	want := map[string]string{
		"release.a": "succeeded", "release.b": "failed", "release.c": "succeeded",
		"release.d": "skipped", "release.e": "succeeded",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if _, ok := visited.Load(addr("release.d")); ok {
		t.Error("release.d was visited although release.b failed")
	}
	d := res.Status(addr("release.d"))
	var se *graph.SkippedError
	if !errors.As(d.Err, &se) || se.Because != addr("release.b") {
		t.Errorf("release.d error = %v, want skipped because of release.b", d.Err)
	}
	if d.Err.Error() != "release.d skipped: dependency release.b failed" {
		t.Errorf("message = %q", d.Err)
	}
	if err := res.Err(); !errors.Is(err, boom) {
		t.Errorf("Err() = %v, want it to wrap boom", err)
	}
}

func TestWalkReverseFailureKeepsDependencies(t *testing.T) {
	g := diamond()
	res := g.Walk(context.Background(), graph.WalkOptions{Reverse: true}, func(ctx context.Context, a config.Address) error {
		if a == addr("release.c") {
			return errors.New("cannot uninstall")
		}
		return nil
	})
	if s := res.Status(addr("release.a")); s.Status != graph.StatusSkipped || s.Err.Error() != "release.a skipped: dependent release.c failed" {
		t.Errorf("release.a = %v %v, want skipped because its dependent failed", s.Status, s.Err)
	}
	if s := res.Status(addr("release.b")); s.Status != graph.StatusSucceeded {
		t.Errorf("release.b = %v, want succeeded", s.Status)
	}
}

func TestWalkBoundsParallelism(t *testing.T) {
	var specs []string
	for i := range 20 {
		specs = append(specs, fmt.Sprintf("release.n%d", i))
	}
	g := build(specs...)
	for _, par := range []int{1, 3} {
		var cur, peak atomic.Int32
		res := g.Walk(context.Background(), graph.WalkOptions{Parallelism: par}, func(ctx context.Context, a config.Address) error {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			cur.Add(-1)
			return nil
		})
		if res.Err() != nil {
			t.Fatal(res.Err())
		}
		if p := peak.Load(); p > int32(par) || (par > 1 && p < 2) {
			t.Errorf("parallelism %d: peak concurrency %d", par, p)
		}
	}
}

func TestWalkCancel(t *testing.T) {
	g := build("release.b -> release.a", "release.c -> release.b")
	ctx, cancel := context.WithCancel(context.Background())
	res := g.Walk(ctx, graph.WalkOptions{}, func(ctx context.Context, a config.Address) error {
		cancel()
		return nil
	})
	if s := res.Status(addr("release.c")); s.Status != graph.StatusCanceled || !errors.Is(s.Err, context.Canceled) {
		t.Errorf("release.c = %v %v, want canceled", s.Status, s.Err)
	}
	if !errors.Is(res.Err(), context.Canceled) {
		t.Errorf("Err() = %v", res.Err())
	}
}

func TestWalkRecoversPanic(t *testing.T) {
	g := build("release.b -> release.a")
	res := g.Walk(context.Background(), graph.WalkOptions{}, func(ctx context.Context, a config.Address) error {
		panic("bug")
	})
	if s := res.Status(addr("release.a")); s.Status != graph.StatusFailed || !strings.Contains(s.Err.Error(), "panic") {
		t.Errorf("release.a = %v %v", s.Status, s.Err)
	}
}

// TestDotIsStableAndRenders loads a generated 50-block stack twice, checks
// that DOT and Mermaid are byte-identical across runs and against the
// golden file, and renders the DOT with Graphviz.
func TestDotIsStableAndRenders(t *testing.T) {
	dir := genStack(t, 50)
	render := func() (dot, mermaid []byte) {
		g := loadGraph(t, dir)
		if g.Len() != 50 {
			t.Fatalf("graph has %d nodes, want 50", g.Len())
		}
		var d, m bytes.Buffer
		if err := g.Dot(&d); err != nil {
			t.Fatal(err)
		}
		if err := g.Mermaid(&m); err != nil {
			t.Fatal(err)
		}
		return d.Bytes(), m.Bytes()
	}
	d1, m1 := render()
	for range 5 {
		d2, m2 := render()
		if !bytes.Equal(d1, d2) || !bytes.Equal(m1, m2) {
			t.Fatal("graph output differs between runs")
		}
	}
	golden.Check(t, "testdata/stack50.dot", d1)
	golden.Check(t, "testdata/stack50.mmd", m1)

	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Fatalf("Graphviz dot is not installed, so the DOT output cannot be checked: install it (apt-get install graphviz)")
	}
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin = bytes.NewReader(d1)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v\n%s", err, stderr.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("<svg")) || !bytes.Contains(out.Bytes(), []byte("kustomization.k0")) {
		t.Errorf("dot output is not an SVG of the graph:\n%.300s", out.String())
	}
	t.Logf("dot rendered %d bytes of SVG", out.Len())
}

// BenchmarkLoadAndGraph2000 loads and graphs a generated stack of 2,000
// blocks.
func BenchmarkLoadAndGraph2000(b *testing.B) {
	dir := genStack(b, 2000)
	b.ResetTimer()
	for b.Loop() {
		g := loadGraph(b, dir)
		if g.Len() != 2000 {
			b.Fatalf("graph has %d nodes", g.Len())
		}
	}
}
