package kube

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// deleteSegments deletes the segment Secrets of the index entries, best
// effort: a leftover is garbage that deleteOrphans removes later.
func (s *Store) deleteSegments(ctx context.Context, entries []string) {
	_ = parallel(len(entries), func(i int) error {
		_ = s.client.CoreV1().Secrets(s.ns).Delete(ctx, s.segmentName(entries[i]), metav1.DeleteOptions{})
		return nil
	})
}

// orphanAge is how old a chunk of an unused set must be before a writer
// deletes it: sets left behind by writers that crashed before their flip.
// Younger ones may belong to a write still under way.
const orphanAge = 10 * time.Minute

// deleteOrphans deletes old chunks of sets other than current. It lists
// metadata only, so it costs little however large the state; without a
// metadata client (Options.Config unset) it does nothing.
func (s *Store) deleteOrphans(ctx context.Context, current index) {
	if s.meta == nil {
		return
	}
	list, err := s.meta.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(s.ns).List(ctx, metav1.ListOptions{
		LabelSelector: LabelState + "=" + s.name + "," + LabelRole + "=" + chunkRole,
	})
	if err != nil {
		return // best effort
	}
	for _, m := range list.Items {
		if !s.references(current, m.Name, m.Labels[LabelSet]) && s.now().Sub(m.CreationTimestamp.Time) > orphanAge {
			_ = s.client.CoreV1().Secrets(s.ns).Delete(ctx, m.Name, metav1.DeleteOptions{})
		}
	}
}

func (s *Store) deleteSet(ctx context.Context, set string, n int) {
	_ = parallel(n, func(i int) error {
		// Best effort: a leftover chunk is garbage, never read.
		_ = s.client.CoreV1().Secrets(s.ns).Delete(ctx, s.chunkName(set, i), metav1.DeleteOptions{})
		return nil
	})
}
