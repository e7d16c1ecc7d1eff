package kube

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/state"
)

// Write implements state.Store.
func (s *Store) Write(ctx context.Context, snap *state.Snapshot, opts state.WriteOptions) error {
	snap.Normalize()
	snap.Version = state.SchemaVersion
	if err := snap.Validate(); err != nil {
		return err
	}
	ix, stored, err := s.readShared(ctx, true)
	if err != nil {
		return err
	}
	held, err := s.holder(ctx, opts.LockID)
	if err != nil {
		return err
	}
	if err := state.CheckLock(held, opts.LockID); err != nil {
		return s.writeRefused(opts.LockID, fmt.Errorf("writing %s: %w", s, err))
	}
	if opts.LockID != "" && ix.fence != opts.LockID {
		return s.writeRefused(opts.LockID, fmt.Errorf("writing %s: lock %s was superseded by lock %s: %w", s, opts.LockID, ix.fence, state.ErrLockLost))
	}
	lineage, serial, changed, err := state.CheckWrite(ix.lineage, ix.serial, state.SameContent(stored.Snapshot, snap), snap, opts.Force)
	if err != nil {
		return fmt.Errorf("writing %s: %w", s, err)
	}
	if !changed && opts.History == nil {
		return nil
	}
	// stored may be the store's cache: the write builds a new payload.
	p := &payload{Snapshot: stored.Snapshot, History: slices.Clip(stored.History)}
	if changed {
		p.Snapshot = snap
	}
	if opts.History != nil {
		e := *opts.History
		e.Serial = serial
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		e.Time = e.Time.UTC()
		p.History = append(p.History, e)
	}
	enc, err := s.writeEncryption(ix)
	if err != nil {
		return err
	}
	set, memo, err := s.writePayload(ctx, ix, p, lineage, serial, enc)
	if err != nil {
		return s.writeRefused(opts.LockID, err)
	}
	snap.Lineage, snap.Serial = lineage, serial
	s.rememberWrite(set, p, memo, enc)
	return nil
}

// rememberWrite caches p as the payload of set, which the write of memo
// and the cipher enc just created, and keeps memo, bound to the cached
// copy of p's objects, for the next write.
func (s *Store) rememberWrite(set string, p *payload, memo *segmentMemo, enc *segmentCipher) {
	c := s.remember(set, p)
	memo.bind(c.Snapshot.Objects, set, enc.wrappedKey())
	s.mu.Lock()
	s.memo = memo
	s.mu.Unlock()
}

// writeRefused marks lock id lost when err says that it is, and returns
// err.
func (s *Store) writeRefused(id string, err error) error {
	if id != "" && errors.Is(err, state.ErrLockLost) {
		s.leases.Lose(id, "is no longer the lock of the state: a state write under it was refused")
	}
	return err
}

// writePayload stores p as segments, creating only those the current
// index does not name already, flips the index to them and returns the
// new set ID (a digest of the segment list) and the memo of what it wrote
// (see segmentMemo), to be bound to p's objects.
func (s *Store) writePayload(ctx context.Context, ix index, p *payload, lineage string, serial uint64, enc *segmentCipher) (string, *segmentMemo, error) {
	s.mu.Lock()
	cache, memo := s.segCache, s.memo
	s.mu.Unlock()
	if !memo.valid(ix, enc.wrappedKey()) {
		memo = nil
	}
	segs, written, err := encodeSegmentsAfter(p, s.chunkSize, cache, enc.seal(), memo)
	if err != nil {
		return "", nil, fmt.Errorf("encoding %s: %w", s, err)
	}
	// An index entry is "ID-WRITE": the content ID, and the write that
	// created the Secret. Segments the current index names are kept; new
	// content gets Secrets named after this write, which no other index
	// can name, so that deleting the segments an index no longer names
	// can never hit a segment another index names.
	have := map[string]string{}
	if ix.encoding == payloadEncodingSegments {
		for _, e := range ix.segments {
			have[segmentContent(e)] = e
		}
	}
	write := randomSet()
	ids := make([]string, len(segs))
	var todo []segment
	var todoNames []string
	for i, sg := range segs {
		if e, ok := have[sg.id]; ok {
			ids[i] = e
			continue
		}
		ids[i] = sg.id + "-" + write
		have[sg.id] = ids[i]
		todo = append(todo, sg)
		todoNames = append(todoNames, ids[i])
	}
	list := strings.Join(ids, ",")
	sum := sha256.Sum256([]byte(list))
	next := index{secret: ix.secret, lineage: lineage, serial: serial, set: hex.EncodeToString(sum[:8]), encoding: payloadEncodingSegments,
		chunks: len(ids), digest: hex.EncodeToString(sum[:]), segments: ids, fence: ix.fence}
	if enc != nil {
		next.encryption = enc.wrapped
	}
	secrets := s.client.CoreV1().Secrets(s.ns)
	err = parallel(len(todo), func(i int) error {
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.segmentName(todoNames[i]), Namespace: s.ns, Labels: s.labels(chunkRole)},
			Type:       secretType,
			Data:       map[string][]byte{"chunk": todo[i].data},
		}
		sec.Labels[LabelSet] = write
		_, err := secrets.Create(ctx, sec, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		s.deleteSegments(context.WithoutCancel(ctx), todoNames)
		return "", nil, fmt.Errorf("writing %s: %w", s, err)
	}

	// The flip: one update with the resourceVersion read above.
	if ix.secret == nil {
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.indexName(), Namespace: s.ns, Labels: s.labels(indexRole)},
			Type:       secretType,
			Data:       next.data(),
		}, metav1.CreateOptions{})
	} else {
		sec := ix.secret.DeepCopy()
		sec.Data = next.data()
		_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
	}
	if err != nil {
		// Other errors may hide a flip that happened: then the new
		// segments are named, and deleteOrphans judges them later.
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			s.deleteSegments(context.WithoutCancel(ctx), todoNames)
			now, gerr := s.getIndex(ctx)
			if gerr == nil && now.fence != ix.fence {
				return "", nil, fmt.Errorf("writing %s: lock %s was superseded by lock %s while writing: %w", s, ix.fence, now.fence, state.ErrLockLost)
			}
			return "", nil, fmt.Errorf("writing %s: another writer changed the state while writing: %w", s, state.ErrStaleSerial)
		}
		return "", nil, fmt.Errorf("writing %s: %w", s, err)
	}
	// What the old index named and the new one does not is garbage now.
	dctx := context.WithoutCancel(ctx)
	switch {
	case ix.encoding == payloadEncodingSegments:
		var old []string
		for _, e := range ix.segments {
			if !slices.Contains(ids, e) {
				old = append(old, e)
			}
		}
		s.deleteSegments(dctx, old)
	case ix.set != "":
		s.deleteSet(dctx, ix.set, ix.chunks)
	}
	s.rememberSegments(segs)
	s.setRecords(enc)
	return next.set, written, nil
}

func randomSet() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
