package config

import "github.com/strata-gitops/strata/internal/addrs"

// Kind is the kind of a graph block; see package internal/addrs.
type Kind = addrs.BlockKind

// Block kinds.
const (
	KindSource        = addrs.KindSource
	KindKustomization = addrs.KindKustomization
	KindRelease       = addrs.KindRelease
)

// Address identifies a graph block: source.git.NAME, source.helm.NAME,
// kustomization.NAME or release.NAME. The zero Address is "no block". It is
// addrs.Block, the one definition of block addresses, named here for the
// language.
type Address = addrs.Block

// ParseAddress parses a block address such as "release.strimzi" or
// "source.git.platform"; see addrs.ParseBlock.
func ParseAddress(s string) (Address, error) { return addrs.ParseBlock(s) }

// Address returns source.git.NAME.
func (g *GitSource) Address() Address {
	return Address{Kind: KindSource, Type: SourceGit, Name: g.Name}
}

// Address returns source.helm.NAME.
func (h *HelmSource) Address() Address {
	return Address{Kind: KindSource, Type: SourceHelm, Name: h.Name}
}

// Address returns source.oci.NAME.
func (o *OCISource) Address() Address {
	return Address{Kind: KindSource, Type: SourceOCI, Name: o.Name}
}

// BlockMeta returns the block's Meta.
func (o *OCISource) BlockMeta() *Meta { return &o.Meta }

// References returns the block's references.
func (o *OCISource) References() []Ref { return o.Refs }

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
	_ Block = (*OCISource)(nil)
	_ Block = (*Kustomization)(nil)
	_ Block = (*Release)(nil)
)
