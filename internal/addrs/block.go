package addrs

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// BlockKind is the kind of a graph block: the first part of its address.
type BlockKind string

// Block kinds.
const (
	KindSource        BlockKind = "source"
	KindKustomization BlockKind = "kustomization"
	KindRelease       BlockKind = "release"
)

// Source types: the second part of a source block's address.
const (
	SourceGit  = "git"
	SourceHelm = "helm"
	SourceOCI  = "oci"
)

// Block identifies a graph block: source.git.NAME, source.helm.NAME,
// source.oci.NAME,
// kustomization.NAME or release.NAME. The zero Block is "no block". It is
// comparable and can be used as a map key.
type Block struct {
	Kind BlockKind
	// Type is the source type (SourceGit, SourceHelm, SourceOCI); "" for
	// other kinds.
	Type string
	Name string
}

// String returns the address as users write it.
func (a Block) String() string {
	switch {
	case a.Kind == "":
		return ""
	case a.Kind == KindSource:
		return string(a.Kind) + "." + a.Type + "." + a.Name
	default:
		return string(a.Kind) + "." + a.Name
	}
}

// IsZero reports whether a is the zero Block.
func (a Block) IsZero() bool { return a == Block{} }

// Less orders addresses by their string form.
func (a Block) Less(b Block) bool { return a.String() < b.String() }

// MarshalText encodes the address as its string form.
func (a Block) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses an address with ParseBlock.
func (a *Block) UnmarshalText(b []byte) error {
	p, err := ParseBlock(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// ParseBlock parses a block address such as "release.strimzi" or
// "source.git.platform". Every part must be an HCL identifier.
func ParseBlock(s string) (Block, error) {
	parts := strings.Split(s, ".")
	bad := func() (Block, error) {
		return Block{}, fmt.Errorf("invalid block address %q: want source.git.NAME, source.helm.NAME, source.oci.NAME, kustomization.NAME or release.NAME", s)
	}
	for _, p := range parts {
		if !hclsyntax.ValidIdentifier(p) {
			return bad()
		}
	}
	switch {
	case len(parts) == 3 && parts[0] == string(KindSource) && (parts[1] == SourceGit || parts[1] == SourceHelm || parts[1] == SourceOCI):
		return Block{Kind: KindSource, Type: parts[1], Name: parts[2]}, nil
	case len(parts) == 2 && parts[0] == string(KindKustomization):
		return Block{Kind: KindKustomization, Name: parts[1]}, nil
	case len(parts) == 2 && parts[0] == string(KindRelease):
		return Block{Kind: KindRelease, Name: parts[1]}, nil
	}
	return bad()
}

// BlockType returns the type part of a block address, everything before its
// last dot: "source.git" for "source.git.platform", "kustomization" for
// "kustomization.app", "" when there is no dot. Unlike ParseBlock it accepts
// any string, such as an address read from an old state.
func BlockType(addr string) string {
	if i := strings.LastIndexByte(addr, '.'); i >= 0 {
		return addr[:i]
	}
	return ""
}
