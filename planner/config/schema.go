package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// body is the language of one block body whose values are decoded into a
// T: the attributes and nested blocks it accepts, each with the field it
// fills. The tables in blocks.go are the language of every settings
// block; the hcl.BodySchema a body is matched against is derived from
// them, so an attribute exists exactly when it has a table entry.
//
// Attributes are decoded in table order, then check runs, then the nested
// blocks are decoded in table order: an entry may use the fields that
// entries before it filled (a path checked against the source, a bare
// service account resolved against the namespace).
type body[T any] struct {
	attrs  []attr[T]
	blocks []nested[T]
	// check, when set, runs after the attributes: checks that involve
	// several of them.
	check func(d *decoder, c *hcl.BodyContent, t *T)
}

// attr is one attribute of a body: its name, whether it must be set, and
// how its value is decoded into the block's value. decode is called
// whether or not the attribute is set; the readers below do nothing for an
// attribute that is not.
type attr[T any] struct {
	name     string
	required bool
	decode   attrFunc[T]
}

// attrFunc decodes the attribute name of attrs into t.
type attrFunc[T any] func(d *decoder, attrs hcl.Attributes, name string, t *T)

// nested is one nested block type of a body. decode receives the blocks of
// that type, possibly none.
type nested[T any] struct {
	typ string
	// labels names the block's labels, if it has any.
	labels []string
	decode func(d *decoder, bs hcl.Blocks, t *T)
}

// schema is the hcl.BodySchema of the body.
func (s *body[T]) schema() *hcl.BodySchema {
	out := &hcl.BodySchema{}
	for _, a := range s.attrs {
		out.Attributes = append(out.Attributes, hcl.AttributeSchema{Name: a.name, Required: a.required})
	}
	for _, n := range s.blocks {
		out.Blocks = append(out.Blocks, hcl.BlockHeaderSchema{Type: n.typ, LabelNames: n.labels})
	}
	return out
}

// decodeBody matches the body of b against s and decodes what fits into t.
// It reports false when nothing could be read.
func decodeBody[T any](d *decoder, b *hcl.Block, s *body[T], t *T) bool {
	c := d.content(b.Body, s.schema())
	if c == nil {
		return false
	}
	for _, a := range s.attrs {
		a.decode(d, c.Attributes, a.name, t)
	}
	if s.check != nil {
		s.check(d, c, t)
	}
	for _, n := range s.blocks {
		n.decode(d, c.Blocks.OfType(n.typ), t)
	}
	return true
}

// single decodes a nested block that may appear at most once into the
// struct field returns (install, upgrade, remediation).
func single[T, N any](s *body[N], field func(*T) *N) func(*decoder, hcl.Blocks, *T) {
	return func(d *decoder, bs hcl.Blocks, t *T) {
		if len(bs) == 0 {
			return
		}
		d.atMostOne(bs)
		decodeBody(d.nested(bs[0].Type, bs[0]), bs[0], s, field(t))
	}
}

// optional decodes a nested block that may appear at most once into a new
// N that the pointer field returns is set to (auth, verify).
func optional[T, N any](s *body[N], field func(*T) **N) func(*decoder, hcl.Blocks, *T) {
	return func(d *decoder, bs hcl.Blocks, t *T) {
		if len(bs) == 0 {
			return
		}
		d.atMostOne(bs)
		n := new(N)
		*field(t) = n
		decodeBody(d.nested(bs[0].Type, bs[0]), bs[0], s, n)
	}
}

// repeated decodes every nested block of a type, in order, into the slice
// field returns (health_check, patch); their paths are "TYPE[i]".
func repeated[T, N any](s *body[N], field func(*T) *[]N) func(*decoder, hcl.Blocks, *T) {
	return func(d *decoder, bs hcl.Blocks, t *T) {
		for i, b := range bs {
			var n N
			decodeBody(d.nested(fmt.Sprintf("%s[%d]", b.Type, i), b), b, s, &n)
			*field(t) = append(*field(t), n)
		}
	}
}

// check validates the decoded value v of the attribute name of attrs,
// reporting what is wrong.
type check[V any] func(d *decoder, attrs hcl.Attributes, name string, v V)

// typed returns an attrFunc that reads the attribute with read into the
// field f returns and then runs checks on the value.
func typed[T, V any](f func(*T) *V, read func(*decoder, hcl.Attributes, string, *V) bool, checks []check[V]) attrFunc[T] {
	return func(d *decoder, attrs hcl.Attributes, name string, t *T) {
		dst := f(t)
		if !read(d, attrs, name, dst) {
			return
		}
		for _, c := range checks {
			c(d, attrs, name, *dst)
		}
	}
}

// text decodes a string attribute.
func text[T any](f func(*T) *string, checks ...check[string]) attrFunc[T] {
	return typed(f, (*decoder).str, checks)
}

// secret decodes a string attribute that is a secret.
func secret[T any](f func(*T) *Sensitive, checks ...check[Sensitive]) attrFunc[T] {
	return typed(f, (*decoder).secret, checks)
}

// flag decodes a bool attribute.
func flag[T any](f func(*T) *bool, checks ...check[bool]) attrFunc[T] {
	return typed(f, (*decoder).boolean, checks)
}

// count decodes a whole number of at least 0.
func count[T any](f func(*T) *int) attrFunc[T] {
	return typed(f, func(d *decoder, attrs hcl.Attributes, name string, dst *int) bool {
		return d.integer(attrs, name, 0, dst)
	}, nil)
}

// duration decodes a positive Go duration ("30s").
func duration[T any](f func(*T) *time.Duration) attrFunc[T] {
	return typed(f, (*decoder).duration, nil)
}

// list decodes a list of strings.
func list[T any](f func(*T) *[]string, checks ...check[[]string]) attrFunc[T] {
	return typed(f, (*decoder).strList, checks)
}

// dict decodes a map of strings.
func dict[T any](f func(*T) *map[string]string, checks ...check[map[string]string]) attrFunc[T] {
	return typed(f, (*decoder).strMap, checks)
}

// enum decodes a string that must be one of allowed.
func enum[T any](f func(*T) *string, allowed ...string) attrFunc[T] {
	return typed(f, func(d *decoder, attrs hcl.Attributes, name string, dst *string) bool {
		return d.oneOf(attrs, name, dst, allowed...)
	}, nil)
}

// onlyFalse is a check for a bool attribute whose only accepted value is
// false: true is refused with summary and detail.
func onlyFalse(summary, detail string) check[bool] {
	return func(d *decoder, attrs hcl.Attributes, name string, v bool) {
		if v {
			d.l.errf(attrs[name].Expr.Range(), summary, "%s", detail)
		}
	}
}
