package kube

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
)

// SharedScan holds the metadata lists that the scans of one drift check
// share (see ScanOptions.Shared): one list per identity, resource and
// namespace with the selector of the whole check, instead of one per block
// and the same. A check of 500 kustomizations of 100 objects in 100
// namespaces made 2,500 lists, one block after the other, each filtered by
// the API server over every object of its kind and namespace (a stack of
// many kustomizations in one namespace: as many times over as it has
// blocks), and waited for each block's lists in turn; shared, it makes
// 500, which PrefetchScan starts ahead of the blocks that need them. A
// scan finds an object there with its own selector (ScanOptions.Selector,
// matched here instead of by the API server) and takes it out, so that
// the lists are released as the blocks are checked; an object that the
// shared list holds and the scan's selector does not match (its block
// label was changed) is found by name without the get a scan of its own
// sends. It is safe for concurrent use. Create one per check: what it read
// is not read again.
type SharedScan struct {
	selector string
	sem      chan struct{} // bounds the lists under way that PrefetchScan started
	mu       sync.Mutex
	lists    map[sharedListKey]*scanList
}

// NewSharedScan returns an empty SharedScan whose lists select the objects
// that selector matches, at most concurrency lists at a time from
// PrefetchScan (16 if 0 or less). selector must match every object that a
// scan sharing it selects (its ScanOptions.Selector requires the same
// labels and more, e.g. the stack's label and the block's): an object the
// shared list misses counts as changed (not listed), which costs its block
// a closer check.
func NewSharedScan(selector string, concurrency int) *SharedScan {
	if concurrency <= 0 {
		concurrency = 16
	}
	return &SharedScan{selector: selector, sem: make(chan struct{}, concurrency), lists: map[sharedListKey]*scanList{}}
}

// scanList is the result of one shared metadata list.
type scanList struct {
	once sync.Once
	err  error
	mu   sync.Mutex
	objs map[string]*scanned // by name
}

// take returns the listed objects of names: those that sel matches are
// taken out of the list (listed), the others stay for a scan whose
// selector matches them (found by name only). A name the list does not
// hold is in neither.
func (l *scanList) take(names []string, sel labels.Selector) (listed, other map[string]*scanned) {
	listed, other = map[string]*scanned{}, map[string]*scanned{}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range names {
		o := l.objs[n]
		switch {
		case o == nil:
		case sel.Matches(labels.Set(o.labels)):
			listed[n] = o
			delete(l.objs, n)
		default:
			other[n] = o
		}
	}
	return listed, other
}

// list returns the shared list of resource gvr in namespace ns, as m,
// listing it on the first call.
func (s *SharedScan) list(ctx context.Context, m *Manager, mc metadata.Interface, gvr schema.GroupVersionResource, ns string) *scanList {
	k := sharedListKey{identity: m.identity(), gvr: gvr, ns: ns, selector: s.selector}
	l := entryOf(&s.mu, s.lists, k)
	l.once.Do(func() {
		items, err := listMetadata(ctx, scanResource(mc, gvr, ns), s.selector)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.err = err
		l.objs = items
	})
	return l
}

// started reports whether the list of k was asked for already, and marks
// it asked for.
func (s *SharedScan) started(k sharedListKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.lists[k]; ok {
		return true
	}
	s.lists[k] = &scanList{}
	return false
}

// PrefetchScan starts, in the background, the shared lists that the scans
// of refs (the objects that the state records for the blocks to check, in
// the order of the check) will read, as m: one per resource and namespace,
// in the order of refs, at most the SharedScan's concurrency at a time.
// The scans then find each list made or under way and wait for it. The
// lists read the same objects as the scans' own, only earlier: the check
// sees the cluster as it was at some moment during the check, as before.
// A ref whose kind is not served is left to the scan. A nil s starts
// nothing; cancelling ctx stops the lists not yet made.
func (m *Manager) PrefetchScan(ctx context.Context, s *SharedScan, refs []ObjectRef) {
	if s == nil || len(refs) == 0 {
		return
	}
	go func() {
		mc, err := metadata.NewForConfig(m.cfg)
		if err != nil {
			return // the scans find out
		}
		type group struct {
			gvk schema.GroupVersionKind
			ns  string
		}
		seen := map[group]bool{}
		for _, r := range refs {
			g := group{r.GroupVersionKind(), r.Namespace}
			if seen[g] {
				continue
			}
			seen[g] = true
			mp, err := m.Mapping(ctx, r.GroupVersionKind())
			if err != nil {
				continue
			}
			ns := r.Namespace
			if mp.Scope.Name() != meta.RESTScopeNameNamespace {
				ns = ""
			}
			k := sharedListKey{identity: m.identity(), gvr: mp.Resource, ns: ns, selector: s.selector}
			if s.started(k) {
				continue
			}
			select {
			case s.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-s.sem }()
				s.list(ctx, m, mc, mp.Resource, ns)
			}()
		}
	}()
}
