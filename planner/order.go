package planner

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
)

// stackGraph builds the dependency graph of the loaded stack; a cycle is an
// error that names every block of it.
func stackGraph(st *config.Stack) (*graph.Graph, error) {
	g, diags := graph.Build(st)
	if diags.HasErrors() {
		return nil, diagsError(diags)
	}
	return g, nil
}

// diagsError turns error diagnostics into one error.
func diagsError(diags hcl.Diagnostics) error {
	return fmt.Errorf("%s", diags.Errs()[0].Error())
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// planGraph builds the graph of a plan's blocks from their DependsOn
// ("runs after") lists.
func planGraph(nodes []string, deps map[string][]string) (*graph.Graph, error) {
	addrs := make([]config.Address, 0, len(nodes))
	in := map[string]bool{}
	for _, n := range nodes {
		a, err := config.ParseAddress(n)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
		in[n] = true
	}
	var edges []graph.Edge
	for _, n := range nodes {
		from, _ := config.ParseAddress(n)
		for _, d := range deps[n] {
			if !in[d] || d == n {
				continue
			}
			to, _ := config.ParseAddress(d)
			edges = append(edges, graph.Edge{From: from, To: to})
		}
	}
	return graph.New(addrs, edges), nil
}

// topoSort orders nodes so that each comes after its deps, ties by name.
func topoSort(nodes []string, deps map[string][]string) ([]string, error) {
	g, err := planGraph(nodes, deps)
	if err != nil {
		return nil, err
	}
	if c := g.Cycles(); len(c) > 0 {
		return nil, fmt.Errorf("dependency cycle between %v", c[0])
	}
	var out []string
	for _, a := range g.TopoOrder() {
		out = append(out, a.String())
	}
	return out, nil
}

// walk runs fn for every node once all of its deps have succeeded, at most
// par at a time (planner/graph's walker). A node whose dependency failed or
// was skipped, or that had not started when ctx ended, is not run: skip is
// called for it with the cause. walk returns the error of every node that
// failed.
func walk(ctx context.Context, nodes []string, deps map[string][]string, par int,
	fn func(ctx context.Context, node string) error, skip func(node, cause string)) (map[string]error, error) {
	g, err := planGraph(nodes, deps)
	if err != nil {
		return nil, err
	}
	res := g.Walk(ctx, graph.WalkOptions{Parallelism: par}, func(ctx context.Context, a config.Address) error {
		return fn(ctx, a.String())
	})
	failed := map[string]error{}
	for _, r := range res.Results {
		switch r.Status {
		case graph.StatusFailed:
			failed[r.Addr.String()] = r.Err
		case graph.StatusSkipped:
			cause := "a dependency"
			if se, ok := r.Err.(*graph.SkippedError); ok {
				cause = se.Because.String()
			}
			skip(r.Addr.String(), cause)
		case graph.StatusCanceled:
			skip(r.Addr.String(), "interrupted")
		}
	}
	return failed, nil
}
