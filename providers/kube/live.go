package kube

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// prefetch lists the live objects of the block, one request per resource and
// namespace with at least two rendered objects. Objects it misses (not owned
// yet, or the list was refused) are read one by one later. With
// opts.Shared, each list is one of the whole stack, made once for all the
// blocks of the plan (see SharedReads), and the block takes its objects out
// of it (when the block is one of opts.Shared's); without, the list
// selects the block's objects.
func (m *Manager) prefetch(ctx context.Context, ts []*target, opts DiffOptions) *liveCache {
	type group struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	members := make(map[group][]key)
	for _, t := range ts {
		if t.mapping != nil {
			g := group{t.mapping.Resource, t.ref.Namespace}
			members[g] = append(members[g], keyOf(t.ref))
		}
	}
	var groups []group
	for g, keys := range members {
		if len(keys) >= 2 {
			groups = append(groups, g)
		}
	}
	lc := &liveCache{objs: make(map[key]*unstructured.Unstructured)}
	shared := opts.Shared.selector(opts.Stack, opts.Block)
	selector := LabelStack + "=" + opts.Stack + "," + LabelBlock + "=" + opts.Block
	_ = forEach(ctx, len(groups), m.opts.Concurrency, func(ctx context.Context, i int) error {
		g := groups[i]
		if shared != "" {
			l := opts.Shared.list(ctx, m, g.gvr, g.ns, shared)
			for _, k := range members[g] {
				if u := l.take(k); u != nil {
					lc.put(u)
				}
			}
			return nil
		}
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
