// Package graph builds the dependency graph of a stack and walks it.
//
// One node per source, kustomization and release; an edge from a block to
// every block it references (in an expression, as its source, or in
// depends_on). Build reports cycles as diagnostics that name every member
// with file:line. Walk visits the nodes with bounded parallelism,
// dependencies first (or dependents first for destroy); a failed node
// skips everything that depends on it while independent nodes keep going.
//
// Output is deterministic: nodes are ordered by address, so Dot and Mermaid
// render byte-identical text for the same stack.
package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/planner/config"
)

// Graph is an immutable dependency graph. Edges point from a block to the
// blocks it depends on.
type Graph struct {
	nodes []addrs.Block
	index map[addrs.Block]int
	// deps[i] are the nodes node i depends on; rdeps[i] the nodes that
	// depend on node i. Both sorted, without duplicates.
	deps, rdeps [][]int
	// explicit[[2]int{from, to}] is true when the edge comes only from
	// depends_on.
	explicit map[[2]int]bool
	ranges   map[addrs.Block]hcl.Range
}

// Edge is a dependency: From depends on To.
type Edge struct {
	From, To addrs.Block
	// Explicit is true when the edge comes only from depends_on.
	Explicit bool
}

// Build builds the graph of a loaded stack. References to undeclared blocks
// were reported by config.Load and are ignored here. A cycle is an error
// diagnostic naming each block of the cycle with file:line; the returned
// graph still holds every node and edge (walking it is the caller's
// mistake).
func Build(st *config.Stack) (*Graph, hcl.Diagnostics) {
	blocks := st.Blocks()
	g := &Graph{
		index:    make(map[addrs.Block]int, len(blocks)),
		explicit: map[[2]int]bool{},
		ranges:   make(map[addrs.Block]hcl.Range, len(blocks)),
	}
	for _, b := range blocks {
		a := b.Address()
		g.index[a] = len(g.nodes)
		g.nodes = append(g.nodes, a)
		g.ranges[a] = b.BlockMeta().DeclRange
	}
	g.deps = make([][]int, len(g.nodes))
	g.rdeps = make([][]int, len(g.nodes))
	implicit := map[[2]int]bool{}
	for i, b := range blocks {
		for _, r := range b.References() {
			j, ok := g.index[r.Addr]
			if !ok {
				continue
			}
			e := [2]int{i, j}
			if r.Explicit {
				if !implicit[e] {
					g.explicit[e] = true
				}
			} else {
				implicit[e] = true
				delete(g.explicit, e)
			}
			g.deps[i] = append(g.deps[i], j)
		}
	}
	g.finish()
	return g, g.cycleDiags()
}

// New builds a graph from nodes and edges (from depends on to); it is for
// callers that compute their own graph, such as tests and the destroy of
// blocks that left the stack. Edges to unknown nodes are ignored.
func New(nodes []addrs.Block, edges []Edge) *Graph {
	sorted := append([]addrs.Block(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Less(sorted[j]) })
	g := &Graph{index: map[addrs.Block]int{}, explicit: map[[2]int]bool{}, ranges: map[addrs.Block]hcl.Range{}}
	for _, a := range sorted {
		if _, dup := g.index[a]; dup {
			continue
		}
		g.index[a] = len(g.nodes)
		g.nodes = append(g.nodes, a)
	}
	g.deps = make([][]int, len(g.nodes))
	g.rdeps = make([][]int, len(g.nodes))
	for _, e := range edges {
		i, ok1 := g.index[e.From]
		j, ok2 := g.index[e.To]
		if ok1 && ok2 {
			g.deps[i] = append(g.deps[i], j)
			if e.Explicit {
				g.explicit[[2]int{i, j}] = true
			}
		}
	}
	g.finish()
	return g
}

// finish sorts and dedups deps and fills rdeps.
func (g *Graph) finish() {
	for i, d := range g.deps {
		g.deps[i] = sortUnique(d)
		for _, j := range g.deps[i] {
			g.rdeps[j] = append(g.rdeps[j], i)
		}
	}
	for i := range g.rdeps {
		g.rdeps[i] = sortUnique(g.rdeps[i])
	}
}

func sortUnique(s []int) []int {
	if len(s) < 2 {
		return s
	}
	sort.Ints(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.nodes) }

// Nodes returns every node sorted by address.
func (g *Graph) Nodes() []addrs.Block { return append([]addrs.Block(nil), g.nodes...) }

// Has reports whether a is a node.
func (g *Graph) Has(a addrs.Block) bool { _, ok := g.index[a]; return ok }

// Edges returns every edge, sorted by From then To.
func (g *Graph) Edges() []Edge {
	var out []Edge
	for i, d := range g.deps {
		for _, j := range d {
			out = append(out, Edge{From: g.nodes[i], To: g.nodes[j], Explicit: g.explicit[[2]int{i, j}]})
		}
	}
	return out
}

func (g *Graph) blocks(idx []int) []addrs.Block {
	out := make([]addrs.Block, len(idx))
	for k, i := range idx {
		out[k] = g.nodes[i]
	}
	return out
}

// DependenciesOf returns the nodes a depends on directly.
func (g *Graph) DependenciesOf(a addrs.Block) []addrs.Block {
	i, ok := g.index[a]
	if !ok {
		return nil
	}
	return g.blocks(g.deps[i])
}

// DependentsOf returns the nodes that depend on a directly.
func (g *Graph) DependentsOf(a addrs.Block) []addrs.Block {
	i, ok := g.index[a]
	if !ok {
		return nil
	}
	return g.blocks(g.rdeps[i])
}

// Ancestors returns the given nodes and everything they depend on,
// transitively, sorted by address: what -target must also apply.
func (g *Graph) Ancestors(nodes ...addrs.Block) []addrs.Block {
	return g.closure(nodes, g.deps)
}

// Descendants returns the given nodes and everything that depends on them,
// transitively, sorted by address: what a destroy of them must also
// destroy.
func (g *Graph) Descendants(nodes ...addrs.Block) []addrs.Block {
	return g.closure(nodes, g.rdeps)
}

func (g *Graph) closure(nodes []addrs.Block, adj [][]int) []addrs.Block {
	seen := make([]bool, len(g.nodes))
	var stack []int
	for _, a := range nodes {
		if i, ok := g.index[a]; ok && !seen[i] {
			seen[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range adj[i] {
			if !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	var out []addrs.Block
	for i, s := range seen {
		if s {
			out = append(out, g.nodes[i])
		}
	}
	return out
}

// Subgraph returns the graph induced by the nodes in keep.
func (g *Graph) Subgraph(keep []addrs.Block) *Graph {
	in := map[addrs.Block]bool{}
	for _, a := range keep {
		if g.Has(a) {
			in[a] = true
		}
	}
	var nodes []addrs.Block
	for a := range in {
		nodes = append(nodes, a)
	}
	var edges []Edge
	for _, e := range g.Edges() {
		if in[e.From] && in[e.To] {
			edges = append(edges, e)
		}
	}
	sub := New(nodes, edges)
	for a := range in {
		if r, ok := g.ranges[a]; ok {
			sub.ranges[a] = r
		}
	}
	return sub
}

// TopoOrder returns the nodes dependencies first; among nodes that are
// ready at the same time, by address. Nodes on a cycle are left out.
func (g *Graph) TopoOrder() []addrs.Block {
	indeg := make([]int, len(g.nodes))
	for i := range g.nodes {
		indeg[i] = len(g.deps[i])
	}
	ready := &intHeap{}
	for i, d := range indeg {
		if d == 0 {
			ready.push(i)
		}
	}
	out := make([]addrs.Block, 0, len(g.nodes))
	for ready.len() > 0 {
		i := ready.pop()
		out = append(out, g.nodes[i])
		for _, j := range g.rdeps[i] {
			indeg[j]--
			if indeg[j] == 0 {
				ready.push(j)
			}
		}
	}
	return out
}

// Cycles returns every dependency cycle (strongly connected component with
// more than one node, or a node that depends on itself), each in the order
// of its edges starting at its smallest address; cycles sorted by their
// first node.
func (g *Graph) Cycles() [][]addrs.Block {
	var out [][]addrs.Block
	for _, scc := range g.sccs() {
		if len(scc) == 1 && !g.dependsOn(scc[0], scc[0]) {
			continue
		}
		out = append(out, g.blocks(g.cycleOrder(scc)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].Less(out[j][0]) })
	return out
}

func (g *Graph) dependsOn(i, j int) bool {
	k := sort.SearchInts(g.deps[i], j)
	return k < len(g.deps[i]) && g.deps[i][k] == j
}

// sccs is Tarjan's algorithm, iterative so that deep graphs do not grow
// the stack.
func (g *Graph) sccs() [][]int {
	n := len(g.nodes)
	index := make([]int, n)
	low := make([]int, n)
	on := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var out [][]int
	var st []int
	next := 0
	type frame struct{ v, e int }
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		st = append(st, root)
		on[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.e < len(g.deps[v]) {
				w := g.deps[v][f.e]
				f.e++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					st = append(st, w)
					on[w] = true
					call = append(call, frame{w, 0})
				} else if on[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := st[len(st)-1]
					st = st[:len(st)-1]
					on[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				sort.Ints(comp)
				out = append(out, comp)
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
		}
	}
	return out
}

// cycleOrder orders the members of a strongly connected component along a
// path of edges from the smallest member: a simple cycle through as many
// members as a greedy walk finds, then the rest by address.
func (g *Graph) cycleOrder(scc []int) []int {
	in := map[int]bool{}
	for _, v := range scc {
		in[v] = true
	}
	start := scc[0]
	order := []int{start}
	seen := map[int]bool{start: true}
	// Greedy: follow the smallest unvisited member whose path can still
	// return to start; fall back to the shortest path home.
	cur := start
	for {
		nextV := -1
		for _, w := range g.deps[cur] {
			if in[w] && !seen[w] && g.reaches(w, start, in, seen) {
				nextV = w
				break
			}
		}
		if nextV < 0 {
			break
		}
		order = append(order, nextV)
		seen[nextV] = true
		cur = nextV
	}
	for _, v := range scc {
		if !seen[v] {
			order = append(order, v)
		}
	}
	return order
}

// reaches reports whether start is reachable from v inside the component,
// avoiding visited nodes.
func (g *Graph) reaches(v, start int, in, visited map[int]bool) bool {
	seen := map[int]bool{v: true}
	stack := []int{v}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, w := range g.deps[x] {
			if w == start {
				return true
			}
			if in[w] && !visited[w] && !seen[w] {
				seen[w] = true
				stack = append(stack, w)
			}
		}
	}
	return false
}

func (g *Graph) where(a addrs.Block) string {
	r, ok := g.ranges[a]
	if !ok || r.Filename == "" {
		return a.String()
	}
	return fmt.Sprintf("%s (%s:%d)", a, r.Filename, r.Start.Line)
}

func (g *Graph) cycleDiags() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, c := range g.Cycles() {
		var detail string
		if len(c) == 1 {
			detail = fmt.Sprintf("%s depends on itself. Remove the reference to itself.", g.where(c[0]))
		} else {
			lines := make([]string, 0, len(c)+1)
			for _, a := range c {
				lines = append(lines, "  "+g.where(a))
			}
			lines = append(lines, "  "+c[0].String())
			detail = fmt.Sprintf("These %d blocks depend on each other, each on the next:\n%s\nRemove one of the references or depends_on entries to break the cycle.",
				len(c), strings.Join(lines, "\n"))
		}
		r := g.ranges[c[0]]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Dependency cycle",
			Detail:   detail,
			Subject:  r.Ptr(),
		})
	}
	return diags
}

// intHeap is a min-heap of node indexes (addresses are sorted, so the
// smallest index is the smallest address).
type intHeap struct{ s []int }

func (h *intHeap) len() int { return len(h.s) }

func (h *intHeap) push(v int) {
	h.s = append(h.s, v)
	i := len(h.s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.s[p] <= h.s[i] {
			break
		}
		h.s[p], h.s[i] = h.s[i], h.s[p]
		i = p
	}
}

func (h *intHeap) pop() int {
	top := h.s[0]
	last := len(h.s) - 1
	h.s[0] = h.s[last]
	h.s = h.s[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.s) && h.s[l] < h.s[m] {
			m = l
		}
		if r < len(h.s) && h.s[r] < h.s[m] {
			m = r
		}
		if m == i {
			break
		}
		h.s[i], h.s[m] = h.s[m], h.s[i]
		i = m
	}
	return top
}
