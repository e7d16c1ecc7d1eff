package addrs

import (
	"fmt"
	"strings"
)

// Object is the object part of an object address:
// Kind[.group][/namespace]/name. Namespace is empty for cluster-scoped
// objects, Group for the core group. It is comparable.
type Object struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// GroupOf returns the group of an apiVersion: "apps" for "apps/v1", "" for
// the core group's "v1".
func GroupOf(apiVersion string) string {
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// KindGroup returns the type of the object as addresses write it: "Kind" for
// the core group, "Kind.group" otherwise.
func (o Object) KindGroup() string {
	if o.Group == "" {
		return o.Kind
	}
	return o.Kind + "." + o.Group
}

// String returns the object part of an address, e.g.
// "Deployment.apps/web/api" or "Namespace/web".
func (o Object) String() string {
	var b strings.Builder
	b.Grow(len(o.Kind) + len(o.Group) + len(o.Namespace) + len(o.Name) + 3)
	o.write(&b)
	return b.String()
}

// Address returns the full address of the object inside block, e.g.
// "kustomization.app/Deployment.apps/web/api".
func (o Object) Address(block string) string {
	var b strings.Builder
	b.Grow(len(block) + len(o.Kind) + len(o.Group) + len(o.Namespace) + len(o.Name) + 4)
	b.WriteString(block)
	b.WriteByte('/')
	o.write(&b)
	return b.String()
}

// IsAddress reports whether addr is the address of the object inside
// block (Address(block) == addr), without building the address.
func (o Object) IsAddress(block, addr string) bool {
	rest, ok := cutPrefix(addr, block, '/')
	if !ok {
		return false
	}
	if o.Group == "" {
		rest, ok = cutPrefix(rest, o.Kind, '/')
	} else if rest, ok = cutPrefix(rest, o.Kind, '.'); ok {
		rest, ok = cutPrefix(rest, o.Group, '/')
	}
	if ok && o.Namespace != "" {
		rest, ok = cutPrefix(rest, o.Namespace, '/')
	}
	return ok && rest == o.Name
}

// cutPrefix returns s without the prefix p followed by sep, and whether s
// starts with both.
func cutPrefix(s, p string, sep byte) (string, bool) {
	if len(s) <= len(p) || s[len(p)] != sep || s[:len(p)] != p {
		return s, false
	}
	return s[len(p)+1:], true
}

func (o Object) write(b *strings.Builder) {
	b.WriteString(o.Kind)
	if o.Group != "" {
		b.WriteByte('.')
		b.WriteString(o.Group)
	}
	b.WriteByte('/')
	if o.Namespace != "" {
		b.WriteString(o.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(o.Name)
}

// ParseObject parses the object part of an address (see Object.String).
func ParseObject(s string) (Object, error) {
	bad := func() (Object, error) {
		return Object{}, fmt.Errorf("object address %q: want Kind[.group][/namespace]/name", s)
	}
	parts := strings.Split(s, "/")
	var o Object
	switch len(parts) {
	case 2:
		o.Name = parts[1]
	case 3:
		o.Namespace, o.Name = parts[1], parts[2]
	default:
		return bad()
	}
	o.Kind, o.Group, _ = strings.Cut(parts[0], ".")
	if o.Kind == "" || o.Name == "" {
		return bad()
	}
	return o, nil
}

// SplitObjectAddress splits an object address into its block address and
// its object part ("Kind.group/namespace/name"); ok is false for a block
// address. It does not check either part.
func SplitObjectAddress(addr string) (block, object string, ok bool) {
	return strings.Cut(addr, "/")
}

// ParseObjectAddress parses a full object address into its block address,
// not checked, and its object part.
func ParseObjectAddress(addr string) (block string, o Object, err error) {
	block, rest, ok := SplitObjectAddress(addr)
	if ok && block != "" {
		if o, err := ParseObject(rest); err == nil {
			return block, o, nil
		}
	}
	return "", Object{}, fmt.Errorf("object address %q: want BLOCK/Kind[.group][/namespace]/name", addr)
}
