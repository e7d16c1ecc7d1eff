package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

var movedSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "from", Required: true}, {Name: "to", Required: true}}}

// decodeMoved decodes the moved blocks: from must name a block that is no
// longer in the stack, to one that is, of the same type; a block moves once.
func (l *loader) decodeMoved(bs []*hcl.Block) {
	seen := map[Address]hcl.Range{}
	for _, b := range bs {
		c, diags := b.Body.Content(movedSchema)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		from, ok1 := l.movedAddress(c.Attributes["from"])
		to, ok2 := l.movedAddress(c.Attributes["to"])
		if !ok1 || !ok2 {
			continue
		}
		fromRange, toRange := c.Attributes["from"].Expr.Range(), c.Attributes["to"].Expr.Range()
		_, fromDeclared := l.blocks[from]
		_, toDeclared := l.blocks[to]
		prev, dup := seen[from]
		switch {
		case from.Kind != to.Kind || from.Type != to.Type:
			l.errf(toRange, "Invalid moved block", "A block keeps its type when it moves: %s cannot become %s.", from, to)
		case fromDeclared:
			l.errf(fromRange, "Invalid moved block",
				"%s is still in the stack. from names the block's old address, which the stack no longer declares.", from)
		case !toDeclared:
			l.unknownBlock(to, toRange, func(a Address) bool { return a.Kind == to.Kind && a.Type == to.Type })
		case dup:
			l.errf(fromRange, "Duplicate moved block", "%s already moves at %s:%d; a block can move to one address only.",
				from, prev.Filename, prev.Start.Line)
		default:
			seen[from] = b.DefRange
			l.st.Moved = append(l.st.Moved, Moved{From: from, To: to, DeclRange: b.DefRange})
		}
	}
}

// movedAddress reads a block address written as a reference.
func (l *loader) movedAddress(a *hcl.Attribute) (Address, bool) {
	tr, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() {
		l.errf(a.Expr.Range(), "Invalid moved block",
			"%s must be a block address without quotes, like kustomization.web.", a.Name)
		return Address{}, false
	}
	switch tr.RootName() {
	case "source", "kustomization", "release":
	default:
		l.errf(a.Expr.Range(), "Invalid moved block", "%s must be the address of a source, kustomization or release, not %s.",
			a.Name, fmt.Sprintf("%q", tr.RootName()))
		return Address{}, false
	}
	addr, _, ok := l.traversalAddress(tr)
	return addr, ok
}
