package kube

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SharedReads holds the reads that the diffs of one plan share (see
// DiffOptions.Shared): the live objects of the plan's blocks, listed once
// per resource and namespace for all of them instead of once per block
// (a stack of 100 kustomizations in one namespace made 100 lists of each
// kind, each filtered by the API server over every object of that kind
// and namespace), and the cluster's admission configuration, read once
// instead of once per block. Each block takes its own objects out of the
// lists, so that what they hold is released as the blocks are diffed. It
// is safe for concurrent use. Create one per plan: what it read is not
// read again.
type SharedReads struct {
	blocks    map[string]bool
	inBlocks  string // the label selector's requirement on LabelBlock, "" for any block
	mu        sync.Mutex
	lists     map[sharedListKey]*sharedList
	admission map[string]*sharedAdmission
}

// NewSharedReads returns an empty SharedReads for the diffs of blocks (the
// values of LabelBlock): its lists select the objects of those blocks only
// (a plan of some of a stack's blocks lists no other block's objects), and
// the diff of any other block lists its own. Without blocks, the lists
// select all the stack's objects, for the diff of any block.
func NewSharedReads(blocks ...string) *SharedReads {
	s := &SharedReads{blocks: map[string]bool{}, lists: map[sharedListKey]*sharedList{}, admission: map[string]*sharedAdmission{}}
	for _, b := range blocks {
		s.blocks[b] = true
	}
	if len(s.blocks) > 0 {
		names := slices.Sorted(maps.Keys(s.blocks))
		s.inBlocks = "," + LabelBlock + " in (" + strings.Join(names, ",") + ")"
	}
	return s
}

// stackSelector returns the label selector of the shared lists of
// stack's objects.
func (s *SharedReads) stackSelector(stack string) string {
	return LabelStack + "=" + stack + s.inBlocks
}

// selector returns the label selector of the shared lists that the diff
// of block takes its objects from, or "" when block has none (not one of
// s's blocks, or a nil s).
func (s *SharedReads) selector(stack, block string) string {
	if s == nil || len(s.blocks) > 0 && !s.blocks[block] {
		return ""
	}
	return s.stackSelector(stack)
}

// sharedListKey identifies one list: the identity that made it (the
// cluster and the impersonated user: what one service account may read
// is never handed to another), the resource, the namespace and the label
// selector.
type sharedListKey struct {
	identity string
	gvr      schema.GroupVersionResource
	ns       string
	selector string
}

// sharedList is the result of one list, from which the blocks take their
// objects.
type sharedList struct {
	once sync.Once
	err  error
	mu   sync.Mutex
	objs map[key]*unstructured.Unstructured
}

// take removes and returns the listed object of k (nil when the list did
// not hold it, or another block took it already).
func (l *sharedList) take(k key) *unstructured.Unstructured {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.objs[k]
	delete(l.objs, k)
	return u
}

// entryOf returns the entry of k in m, which mu guards, adding a new one
// on the first call: the one place where the shared reads of a plan or a
// check (lists, admission configuration, namespaces) are made once for
// all who ask for them; the caller fills the entry once (its sync.Once).
func entryOf[K comparable, T any](mu *sync.Mutex, m map[K]*T, k K) *T {
	mu.Lock()
	defer mu.Unlock()
	e := m[k]
	if e == nil {
		e = new(T)
		m[k] = e
	}
	return e
}

// identity names who m reads as: the cluster and the impersonated user.
func (m *Manager) identity() string {
	return m.cfg.Host + "\x00" + m.cfg.Impersonate.UserName
}

// list returns the shared list of resource gvr in namespace ns matching
// selector, as m, listing it on the first call.
func (s *SharedReads) list(ctx context.Context, m *Manager, gvr schema.GroupVersionResource, ns, selector string) *sharedList {
	k := sharedListKey{identity: m.identity(), gvr: gvr, ns: ns, selector: selector}
	l := entryOf(&s.mu, s.lists, k)
	l.once.Do(func() {
		items, err := m.listObjects(ctx, gvr, ns, selector)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.err = err
		l.objs = make(map[key]*unstructured.Unstructured, len(items))
		for _, u := range items {
			l.objs[keyOf(RefOf(u))] = u
		}
	})
	return l
}

// sharedAdmission is the admission configuration read once.
type sharedAdmission struct {
	once  sync.Once
	scope *admissionScope
}

// admissionScope returns m.admissionScope, read once per cluster and
// shared (it is read as the manager's own identity, whichever service
// account the manager impersonates). A nil s reads it anew.
func (s *SharedReads) admissionScope(ctx context.Context, m *Manager) *admissionScope {
	if s == nil {
		return m.admissionScope(ctx)
	}
	a := entryOf(&s.mu, s.admission, m.cfg.Host)
	a.once.Do(func() { a.scope = m.admissionScope(ctx) })
	return a.scope
}

// StartPrefetch starts, in the background, the shared lists that the
// diffs of a block will take their objects from if its rendered objects
// are of the kinds and namespaces of refs (the objects the state records
// for the block): one per resource and namespace with two objects or
// more, as Diff's prefetch makes them, discovery included. A plan calls it
// before it renders the block, so that the render and the lists overlap
// instead of following each other (a no-change plan waited for both).
// Diff then finds each list made or under way (SharedReads lists each
// once) and waits for it; a list no diff needs is never waited for. The
// lists read the same objects as Diff's own, only earlier: what Diff
// compares is the cluster as it was at some moment during the plan, as
// before. A nil s starts nothing.
func (m *Manager) StartPrefetch(ctx context.Context, s *SharedReads, refs []ObjectRef, stack string) {
	if s == nil {
		return
	}
	count := make(map[schema.GroupVersionKind]map[string]int)
	for _, r := range refs {
		gvk := r.GroupVersionKind()
		if count[gvk] == nil {
			count[gvk] = map[string]int{}
		}
		count[gvk][r.Namespace]++
	}
	selector := s.stackSelector(stack)
	go func() {
		for gvk, byNS := range count {
			mp, err := m.Mapping(ctx, gvk)
			if err != nil {
				continue // Diff finds out
			}
			for ns, n := range byNS {
				if n >= 2 {
					go s.list(ctx, m, mp.Resource, ns, selector)
				}
			}
		}
	}()
}
