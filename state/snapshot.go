package state

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/strata-gitops/strata/internal/addrs"
)

// NewLineage returns a random UUID (version 4) for a new state's lineage.
func NewLineage() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Normalize sorts the snapshot's slices by address (a block's intents
// too) and converts times to UTC.
func (s *Snapshot) Normalize() {
	for i := range s.Blocks {
		b := &s.Blocks[i]
		b.AppliedAt = b.AppliedAt.UTC()
		slices.SortFunc(b.Intents, func(x, y Intent) int { return strings.Compare(x.Address(b.Address), y.Address(b.Address)) })
		if len(b.Intents) == 0 {
			b.Intents = nil
		}
	}
	slices.SortFunc(s.Blocks, func(a, b Block) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(s.Objects, func(a, b Object) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(s.Releases, func(a, b Release) int { return strings.Compare(a.Address, b.Address) })
}

// Validate checks the snapshot's invariants: a supported version, sorted
// unique addresses, objects whose address matches their fields, and a
// lineage once the serial is not zero. It expects a normalized snapshot.
func (s *Snapshot) Validate() error {
	if s.Version > SchemaVersion {
		return fmt.Errorf("state schema version %d is newer than this strata supports (%d): upgrade strata", s.Version, SchemaVersion)
	}
	if s.Serial > 0 && s.Lineage == "" {
		return fmt.Errorf("state has serial %d but no lineage", s.Serial)
	}
	var errs []error
	for i, b := range s.Blocks {
		if b.Address == "" || strings.Contains(b.Address, "/") {
			errs = append(errs, fmt.Errorf("block %d: invalid address %q", i, b.Address))
		}
		for _, in := range b.Intents {
			if in.Kind == "" || in.Name == "" {
				errs = append(errs, fmt.Errorf("block %q: intent %q: kind and name must be set", b.Address, in.Address(b.Address)))
			}
		}
		if i > 0 && s.Blocks[i-1].Address >= b.Address {
			errs = append(errs, fmt.Errorf("block %q: duplicate or unsorted address", b.Address))
		}
	}
	for i, o := range s.Objects {
		if o.Kind == "" || o.Name == "" || o.Block == "" {
			errs = append(errs, fmt.Errorf("object %q: kind, name and block must be set", o.Address))
		} else if !o.Addr().IsAddress(o.Block, o.Address) {
			errs = append(errs, fmt.Errorf("object %q: address does not match its fields (want %q)", o.Address, o.Addr().Address(o.Block)))
		}
		if i > 0 && s.Objects[i-1].Address >= o.Address {
			errs = append(errs, fmt.Errorf("object %q: duplicate or unsorted address", o.Address))
		}
		if len(errs) > 10 {
			break
		}
	}
	for i, r := range s.Releases {
		if r.Address == "" || strings.Contains(r.Address, "/") {
			errs = append(errs, fmt.Errorf("release %d: invalid address %q", i, r.Address))
		}
		if i > 0 && s.Releases[i-1].Address >= r.Address {
			errs = append(errs, fmt.Errorf("release %q: duplicate or unsorted address", r.Address))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid state: %w", err)
	}
	return nil
}

// Clone returns a deep copy of the snapshot.
func (s *Snapshot) Clone() *Snapshot {
	c := *s
	c.Blocks = slices.Clone(s.Blocks)
	for i := range c.Blocks {
		c.Blocks[i].DependsOn = slices.Clone(c.Blocks[i].DependsOn)
		c.Blocks[i].Intents = slices.Clone(c.Blocks[i].Intents)
		c.Blocks[i].MovedFrom = slices.Clone(c.Blocks[i].MovedFrom)
	}
	c.Objects = slices.Clone(s.Objects)
	c.Releases = slices.Clone(s.Releases)
	return &c
}

// SameContent reports whether two normalized snapshots hold the same
// blocks, objects and releases, ignoring version, lineage and serial.
func SameContent(a, b *Snapshot) bool {
	return slices.EqualFunc(a.Blocks, b.Blocks, func(x, y Block) bool {
		return x.Address == y.Address && x.Kind == y.Kind && x.ConfigDigest == y.ConfigDigest &&
			x.Revision == y.Revision && x.AppliedAt.Equal(y.AppliedAt) && x.Status == y.Status &&
			slices.Equal(x.DependsOn, y.DependsOn) && slices.Equal(x.Intents, y.Intents) &&
			slices.Equal(x.MovedFrom, y.MovedFrom)
	}) && slices.Equal(a.Objects, b.Objects) && slices.Equal(a.Releases, b.Releases)
}

// Block returns the block with the given address.
func (s *Snapshot) Block(addr string) (Block, bool) {
	i, ok := slices.BinarySearchFunc(s.Blocks, addr, func(b Block, a string) int { return strings.Compare(b.Address, a) })
	if !ok {
		return Block{}, false
	}
	return s.Blocks[i], true
}

// PutBlock inserts or replaces a block, keeping the order.
func (s *Snapshot) PutBlock(b Block) {
	i, ok := slices.BinarySearchFunc(s.Blocks, b.Address, func(x Block, a string) int { return strings.Compare(x.Address, a) })
	if ok {
		s.Blocks[i] = b
		return
	}
	s.Blocks = slices.Insert(s.Blocks, i, b)
}

// Release returns the release of the block with the given address.
func (s *Snapshot) Release(addr string) (Release, bool) {
	i, ok := slices.BinarySearchFunc(s.Releases, addr, func(r Release, a string) int { return strings.Compare(r.Address, a) })
	if !ok {
		return Release{}, false
	}
	return s.Releases[i], true
}

// PutRelease inserts or replaces a release, keeping the order.
func (s *Snapshot) PutRelease(r Release) {
	i, ok := slices.BinarySearchFunc(s.Releases, r.Address, func(x Release, a string) int { return strings.Compare(x.Address, a) })
	if ok {
		s.Releases[i] = r
		return
	}
	s.Releases = slices.Insert(s.Releases, i, r)
}

// Object returns the object with the given address.
func (s *Snapshot) Object(addr string) (Object, bool) {
	i, ok := slices.BinarySearchFunc(s.Objects, addr, func(o Object, a string) int { return strings.Compare(o.Address, a) })
	if !ok {
		return Object{}, false
	}
	return s.Objects[i], true
}

// BlockObjects returns the objects owned by the block, in address order.
// The result aliases the snapshot's slice; copy it before changing s.
func (s *Snapshot) BlockObjects(block string) []Object {
	lo, hi := s.blockObjectRange(block)
	return s.Objects[lo:hi:hi]
}

func (s *Snapshot) blockObjectRange(block string) (lo, hi int) {
	prefix := block + "/"
	lo, _ = slices.BinarySearchFunc(s.Objects, prefix, func(o Object, a string) int { return strings.Compare(o.Address, a) })
	hi = lo
	for hi < len(s.Objects) && strings.HasPrefix(s.Objects[hi].Address, prefix) {
		hi++
	}
	return lo, hi
}

// SetBlockObjects replaces the objects of a block with objs, setting their
// Block and Address fields.
func (s *Snapshot) SetBlockObjects(block string, objs []Object) {
	objs = slices.Clone(objs)
	for i := range objs {
		objs[i].Block = block
		objs[i].Address = objs[i].Addr().Address(block)
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Address, b.Address) })
	lo, hi := s.blockObjectRange(block)
	s.Objects = slices.Replace(s.Objects, lo, hi, objs...)
}

// Remove forgets the block or object with the given address: a block is
// removed with its objects and its release. It returns the number of
// objects and releases removed, and false when nothing has the address.
func (s *Snapshot) Remove(addr string) (removed int, found bool) {
	if _, _, isObject := addrs.SplitObjectAddress(addr); isObject {
		i, ok := slices.BinarySearchFunc(s.Objects, addr, func(o Object, a string) int { return strings.Compare(o.Address, a) })
		if !ok {
			return 0, false
		}
		s.Objects = slices.Delete(s.Objects, i, i+1)
		return 1, true
	}
	if i, ok := slices.BinarySearchFunc(s.Blocks, addr, func(b Block, a string) int { return strings.Compare(b.Address, a) }); ok {
		s.Blocks = slices.Delete(s.Blocks, i, i+1)
		found = true
	}
	if i, ok := slices.BinarySearchFunc(s.Releases, addr, func(r Release, a string) int { return strings.Compare(r.Address, a) }); ok {
		s.Releases = slices.Delete(s.Releases, i, i+1)
		removed++
		found = true
	}
	lo, hi := s.blockObjectRange(addr)
	if hi > lo {
		s.Objects = slices.Delete(s.Objects, lo, hi)
		removed += hi - lo
		found = true
	}
	return removed, found
}

// Move renames a block (with its objects and release) or moves an object
// to another block. An object keeps its kind, namespace and name: only the
// block part of its address may change. A kustomization that receives
// objects records the old block address in MovedFrom, so that the next
// apply takes over the objects still labelled with it. It returns the
// number of objects and releases moved.
func (s *Snapshot) Move(from, to string) (int, error) {
	if from == to {
		return 0, fmt.Errorf("cannot move %q to itself", from)
	}
	_, fromRest, fromObj := addrs.SplitObjectAddress(from)
	toBlock, toRest, toObj := addrs.SplitObjectAddress(to)
	if fromObj != toObj {
		return 0, fmt.Errorf("cannot move %q to %q: both must be blocks or both objects", from, to)
	}
	if fromObj {
		if fromRest != toRest {
			return 0, fmt.Errorf("cannot move %q to %q: an object can move to another block but keeps its kind, namespace and name", from, to)
		}
		o, ok := s.Object(from)
		if !ok {
			return 0, fmt.Errorf("no object %q in state", from)
		}
		if _, ok := s.Object(to); ok {
			return 0, fmt.Errorf("cannot move to %q: it already exists in state", to)
		}
		if _, ok := s.Block(toBlock); !ok {
			return 0, fmt.Errorf("cannot move to %q: no block %q in state", to, toBlock)
		}
		s.Remove(from)
		o.Block = toBlock
		o.Address = to
		fromBlock, _, _ := addrs.SplitObjectAddress(from)
		s.addMovedFrom(toBlock, fromBlock)
		i, _ := slices.BinarySearchFunc(s.Objects, to, func(o Object, a string) int { return strings.Compare(o.Address, a) })
		s.Objects = slices.Insert(s.Objects, i, o)
		return 1, nil
	}
	b, ok := s.Block(from)
	if !ok {
		return 0, fmt.Errorf("no block %q in state", from)
	}
	if _, ok := s.Block(to); ok || len(s.BlockObjects(to)) > 0 {
		return 0, fmt.Errorf("cannot move to %q: it already exists in state", to)
	}
	if addrs.BlockType(from) != addrs.BlockType(to) {
		return 0, fmt.Errorf("cannot move %q to %q: a block keeps its type", from, to)
	}
	objs := slices.Clone(s.BlockObjects(from))
	rel, hasRel := s.Release(from)
	s.Remove(from)
	b.Address = to
	if b.Kind == "kustomization" && !slices.Contains(b.MovedFrom, from) {
		b.MovedFrom = append(slices.Clone(b.MovedFrom), from)
	}
	s.PutBlock(b)
	s.SetBlockObjects(to, objs)
	moved := len(objs)
	if hasRel {
		rel.Address = to
		s.PutRelease(rel)
		moved++
	}
	// Keep dependencies pointing at the block under its new name.
	for i := range s.Blocks {
		for j, d := range s.Blocks[i].DependsOn {
			if d == from {
				s.Blocks[i].DependsOn[j] = to
			}
		}
	}
	return moved, nil
}

// addMovedFrom records in kustomization block that it holds objects of
// block from.
func (s *Snapshot) addMovedFrom(block, from string) {
	i, ok := slices.BinarySearchFunc(s.Blocks, block, func(b Block, a string) int { return strings.Compare(b.Address, a) })
	if !ok || s.Blocks[i].Kind != "kustomization" || slices.Contains(s.Blocks[i].MovedFrom, from) {
		return
	}
	s.Blocks[i].MovedFrom = append(slices.Clone(s.Blocks[i].MovedFrom), from)
}
