package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Kind is the kind of a graph block.
type Kind string

// Block kinds.
const (
	KindSource        Kind = "source"
	KindKustomization Kind = "kustomization"
	KindRelease       Kind = "release"
)

// Address identifies a graph block: source.git.NAME, source.helm.NAME,
// kustomization.NAME or release.NAME. The zero Address is "no block".
type Address struct {
	Kind Kind
	// Type is the source type ("git", "helm"); "" for other kinds.
	Type string
	Name string
}

// String returns the address as users write it.
func (a Address) String() string {
	switch {
	case a.Kind == "":
		return ""
	case a.Kind == KindSource:
		return string(a.Kind) + "." + a.Type + "." + a.Name
	default:
		return string(a.Kind) + "." + a.Name
	}
}

// IsZero reports whether a is the zero Address.
func (a Address) IsZero() bool { return a == Address{} }

// Less orders addresses by their string form.
func (a Address) Less(b Address) bool { return a.String() < b.String() }

// MarshalText encodes the address as its string form.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses an address.
func (a *Address) UnmarshalText(b []byte) error {
	p, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// ParseAddress parses a block address such as "release.strimzi" or
// "source.git.platform".
func ParseAddress(s string) (Address, error) {
	parts := strings.Split(s, ".")
	bad := func() (Address, error) {
		return Address{}, fmt.Errorf("invalid block address %q: want source.git.NAME, source.helm.NAME, kustomization.NAME or release.NAME", s)
	}
	for _, p := range parts {
		if !hclsyntax.ValidIdentifier(p) {
			return bad()
		}
	}
	switch {
	case len(parts) == 3 && parts[0] == "source" && (parts[1] == SourceGit || parts[1] == SourceHelm):
		return Address{Kind: KindSource, Type: parts[1], Name: parts[2]}, nil
	case len(parts) == 2 && parts[0] == string(KindKustomization):
		return Address{Kind: KindKustomization, Name: parts[1]}, nil
	case len(parts) == 2 && parts[0] == string(KindRelease):
		return Address{Kind: KindRelease, Name: parts[1]}, nil
	}
	return bad()
}

// Address returns source.git.NAME.
func (g *GitSource) Address() Address {
	return Address{Kind: KindSource, Type: SourceGit, Name: g.Name}
}

// Address returns source.helm.NAME.
func (h *HelmSource) Address() Address {
	return Address{Kind: KindSource, Type: SourceHelm, Name: h.Name}
}

// Address returns kustomization.NAME.
func (k *Kustomization) Address() Address { return Address{Kind: KindKustomization, Name: k.Name} }

// Address returns release.NAME (the block name, not the Helm release name).
func (r *Release) Address() Address { return Address{Kind: KindRelease, Name: r.BlockName} }

// Address returns "notification.NAME". Notifications are not graph blocks.
func (n *Notification) Address() string { return "notification." + n.Name }

// BlockMeta returns the block's Meta.
func (g *GitSource) BlockMeta() *Meta { return &g.Meta }

// BlockMeta returns the block's Meta.
func (h *HelmSource) BlockMeta() *Meta { return &h.Meta }

// BlockMeta returns the block's Meta.
func (k *Kustomization) BlockMeta() *Meta { return &k.Meta }

// BlockMeta returns the block's Meta.
func (r *Release) BlockMeta() *Meta { return &r.Meta }

// References returns the block's references.
func (g *GitSource) References() []Ref { return g.Refs }

// References returns the block's references.
func (h *HelmSource) References() []Ref { return h.Refs }

// References returns the block's references: expression references, the
// source and depends_on.
func (k *Kustomization) References() []Ref { return k.Refs }

// References returns the block's references: expression references, the
// source and depends_on.
func (r *Release) References() []Ref { return r.Refs }

var (
	_ Block = (*GitSource)(nil)
	_ Block = (*HelmSource)(nil)
	_ Block = (*Kustomization)(nil)
	_ Block = (*Release)(nil)
)
