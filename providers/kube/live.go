package kube

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// prefetch lists the live objects of the block, one request per resource and
// namespace with at least two rendered objects. Objects it misses (not owned
// yet, or the list was refused) are read one by one later.
func (m *Manager) prefetch(ctx context.Context, ts []*target, stack, block string) *liveCache {
	type group struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	count := make(map[group]int)
	for _, t := range ts {
		if t.mapping != nil {
			count[group{t.mapping.Resource, t.ref.Namespace}]++
		}
	}
	var groups []group
	for g, n := range count {
		if n >= 2 {
			groups = append(groups, g)
		}
	}
	lc := &liveCache{objs: make(map[key]*unstructured.Unstructured)}
	selector := LabelStack + "=" + stack + "," + LabelBlock + "=" + block
	_ = forEach(ctx, len(groups), m.opts.Concurrency, func(ctx context.Context, i int) error {
		g := groups[i]
		items, err := m.listObjects(ctx, g.gvr, g.ns, selector)
		if err != nil {
			return nil // fall back to single gets
		}
		for _, u := range items {
			lc.put(u)
		}
		return nil
	})
	return lc
}

// liveCache holds the live objects prefetch listed, by key. It is safe for
// concurrent use by the parallel dry runs.
type liveCache struct {
	mu   sync.Mutex
	objs map[key]*unstructured.Unstructured
}

func (c *liveCache) put(u *unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objs[keyOf(RefOf(u))] = u
}

func (c *liveCache) get(k key) *unstructured.Unstructured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.objs[k]
}
