package graph

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/strata-gitops/strata/internal/addrs"
)

func dotShape(a addrs.Block) string {
	switch a.Kind {
	case addrs.KindSource:
		return "cylinder"
	case addrs.KindRelease:
		return "component"
	}
	return "box"
}

// Dot writes the graph in Graphviz DOT. Edges point from a block to what
// it depends on; depends_on-only edges are dashed.
func (g *Graph) Dot(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "digraph strata {")
	fmt.Fprintln(bw, "  rankdir = \"RL\";")
	fmt.Fprintln(bw, "  node [fontname = \"sans-serif\"];")
	for _, a := range g.nodes {
		fmt.Fprintf(bw, "  %s [shape = %s];\n", strconv.Quote(a.String()), dotShape(a))
	}
	for _, e := range g.Edges() {
		style := ""
		if e.Explicit {
			style = " [style = dashed]"
		}
		fmt.Fprintf(bw, "  %s -> %s%s;\n", strconv.Quote(e.From.String()), strconv.Quote(e.To.String()), style)
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

// Mermaid writes the graph as a Mermaid flowchart. Edges point from a block
// to what it depends on; depends_on-only edges are dotted.
func (g *Graph) Mermaid(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "flowchart RL")
	for i, a := range g.nodes {
		open, close := "[", "]"
		switch a.Kind {
		case addrs.KindSource:
			open, close = "[(", ")]"
		case addrs.KindRelease:
			open, close = "[[", "]]"
		}
		fmt.Fprintf(bw, "  n%d%s\"%s\"%s\n", i, open, a, close)
	}
	for i, d := range g.deps {
		for _, j := range d {
			arrow := "-->"
			if g.explicit[[2]int{i, j}] {
				arrow = "-.->"
			}
			fmt.Fprintf(bw, "  n%d %s n%d\n", i, arrow, j)
		}
	}
	return bw.Flush()
}
