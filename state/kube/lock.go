package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/strata-gitops/strata/state"
)

// The lock is a Lease. Its holder renews it in the background and counts
// it as held (state.Lease) only until LeaseDuration minus RenewMargin after
// the last renewal it sent, by its own clock. Others judge it expired the
// way client-go's leader election does: once they have seen its record
// unchanged for its duration, measured on their own clock. No clock is
// ever compared with another host's (RenewTime is informative only), so a
// skewed clock can neither take a live lock nor keep a dead one.

// observation is what a store last saw of a Lease held by another.
type observation struct {
	record string    // holder, renew time and resourceVersion
	at     time.Time // when it was first seen, by s.now
}

// lockInfo decodes the lock info of a lease; nil when nobody holds it.
func (s *Store) lockInfo(l *coordinationv1.Lease) *state.LockInfo {
	if l == nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return nil
	}
	info := &state.LockInfo{ID: *l.Spec.HolderIdentity}
	if a := l.Annotations[AnnotationLock]; a != "" {
		_ = json.Unmarshal([]byte(a), info) // an unreadable annotation still leaves the ID
		info.ID = *l.Spec.HolderIdentity
	}
	return info
}

// expired reports whether this store has seen the lease's record unchanged
// for the lease's duration. A record seen for the first time is not
// expired: a new observer waits a whole duration before it takes a lock
// over.
func (s *Store) expired(l *coordinationv1.Lease) bool {
	record := l.ResourceVersion
	if h := l.Spec.HolderIdentity; h != nil {
		record += "/" + *h
	}
	if r := l.Spec.RenewTime; r != nil {
		record += "/" + r.UTC().Format(time.RFC3339Nano)
	}
	duration := s.lease
	if d := l.Spec.LeaseDurationSeconds; d != nil {
		duration = time.Duration(*d) * time.Second
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen.record != record {
		s.seen = observation{record: record, at: now}
		return false
	}
	return now.Sub(s.seen.at) >= duration
}

func (s *Store) getLease(ctx context.Context) (*coordinationv1.Lease, error) {
	l, err := s.client.CoordinationV1().Leases(s.ns).Get(ctx, s.leaseName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the lock of %s: %w", s, err)
	}
	return l, nil
}

// holder returns the current lock holder for a write by lock id: the
// lease's holder while the lease is valid, or while it names id (an expired
// lease nobody took over still fences correctly).
func (s *Store) holder(ctx context.Context, id string) (*state.LockInfo, error) {
	l, err := s.getLease(ctx)
	if err != nil || l == nil {
		return nil, err
	}
	info := s.lockInfo(l)
	if info == nil || (info.ID != id && s.expired(l)) {
		return nil, nil
	}
	return info, nil
}

// LockStatus implements state.Store. A lease this store has seen unchanged
// for its duration counts as unlocked; any other holder is reported.
func (s *Store) LockStatus(ctx context.Context) (*state.LockInfo, error) {
	l, err := s.getLease(ctx)
	if err != nil || l == nil {
		return nil, err
	}
	info := s.lockInfo(l)
	if info == nil || s.expired(l) {
		return nil, nil
	}
	return info, nil
}

// abandonTimeout bounds the release of a lease that Lock took but cannot
// use.
const abandonTimeout = 3 * time.Second

// Lock implements state.Store. It takes the Lease when nobody holds it or
// this store has seen it unchanged for its duration, writes the new lock
// ID into the index as the fence, and renews the lease in the background
// until Unlock or Close.
func (s *Store) Lock(ctx context.Context, info state.LockInfo) (string, error) {
	if info.ID == "" {
		info.ID = state.NewLineage()
	}
	if info.Created.IsZero() {
		info.Created = s.now()
	}
	info.Created = info.Created.UTC().Truncate(time.Microsecond)
	ann, err := json.Marshal(info)
	if err != nil {
		return "", err
	}
	// The lease counts from before the request that takes it.
	held := state.NewTracker(info.ID, s.now, s.lease-s.margin)
	leases := s.client.CoordinationV1().Leases(s.ns)
	now := metav1.NewMicroTime(s.now())
	secs := int32((s.lease + time.Second - 1) / time.Second)
	for attempt := 0; ; attempt++ {
		l, err := s.getLease(ctx)
		if err != nil {
			return "", err
		}
		if l == nil {
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: s.leaseName(), Namespace: s.ns, Labels: s.labels("lock")}}
		} else if h := s.lockInfo(l); h != nil && !s.expired(l) {
			return "", fmt.Errorf("locking %s: %w", s, &state.LockedError{Holder: *h})
		}
		l.Spec.HolderIdentity = &info.ID
		l.Spec.LeaseDurationSeconds = &secs
		l.Spec.AcquireTime = &now
		l.Spec.RenewTime = &now
		if l.Annotations == nil {
			l.Annotations = map[string]string{}
		}
		l.Annotations[AnnotationLock] = string(ann)
		if l.ResourceVersion == "" {
			_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		} else {
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
		if err == nil {
			break
		}
		if (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && attempt < 3 {
			continue // someone else moved first: look again
		}
		return "", fmt.Errorf("locking %s: %w", s, err)
	}
	if err := s.setFence(ctx, info.ID); err != nil {
		// Best effort, and brief: the lease expires by itself, and an API
		// server that stopped answering (the usual cause, with an
		// interrupt) held an interrupted run here for the whole request
		// timeout.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonTimeout)
		defer cancel()
		if rerr := s.release(rctx, info.ID); rerr != nil {
			return "", fmt.Errorf("%w (the lock %s taken meanwhile was not released, and expires with its lease: %v)", err, info.ID, rerr)
		}
		return "", err
	}
	s.leases.Add(held)
	s.startRenewal(info.ID, held)
	if ix, err := s.getIndex(ctx); err == nil {
		s.deleteOrphans(context.WithoutCancel(ctx), ix)
	}
	return info.ID, nil
}

// Lease implements state.Store: the lease of lock id counts as held until
// LeaseDuration minus RenewMargin after the last renewal this store sent,
// and is lost at once when a renewal finds the Lease released, deleted or
// taken over, or a state write finds the fence moved.
func (s *Store) Lease(id string) state.Lease { return s.leases.Get(id) }

// setFence writes the lock ID into the index, so that writes under any
// earlier lock are refused from now on.
func (s *Store) setFence(ctx context.Context, id string) error {
	secrets := s.client.CoreV1().Secrets(s.ns)
	for attempt := 0; ; attempt++ {
		ix, err := s.getIndex(ctx)
		if err != nil {
			return err
		}
		ix.fence = id
		if ix.secret == nil {
			_, err = secrets.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: s.indexName(), Namespace: s.ns, Labels: s.labels(indexRole)},
				Type:       secretType,
				Data:       ix.data(),
			}, metav1.CreateOptions{})
		} else {
			sec := ix.secret.DeepCopy()
			sec.Data = ix.data()
			_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
		}
		if err == nil {
			return nil
		}
		if (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && attempt < 5 {
			continue
		}
		return fmt.Errorf("locking %s: writing the fence: %w", s, err)
	}
}

// startRenewal renews the lease of lock id every RenewInterval (a quarter
// of that after a failure) until stopRenewal or the lock is lost, and
// watches the Lease meanwhile, so that a release (force-unlock), deletion
// or takeover is noticed at once rather than at the next renewal.
func (s *Store) startRenewal(id string, held *state.Tracker) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.renewal[id] = cancel
	s.mu.Unlock()
	s.wg.Go(func() { s.watchLease(ctx, id, held) })
	s.wg.Go(func() {
		wait := s.renew
		for {
			t := time.NewTimer(min(wait, held.Left()))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-held.Lost():
				t.Stop()
				return
			case <-t.C:
			}
			if held.Held() != nil {
				return // not renewed in time
			}
			rctx, rcancel := context.WithTimeout(ctx, max(held.Left(), time.Millisecond))
			err := s.renewOnce(rctx, id, held)
			rcancel()
			wait = s.renew
			if err != nil && ctx.Err() == nil {
				held.RenewFailed(err)
				if s.onRenewError != nil {
					s.onRenewError(id, err)
				}
				wait = max(s.renew/4, 10*time.Millisecond)
			}
		}
	})
}

// watchLease marks held lost as soon as a watch on the Lease shows it
// released, deleted or held by another lock. A watch that ends (the
// client's request timeout ends it) is started again at once, one that
// fails after a quarter of the renewal interval; the renewals find the
// same changes, later.
func (s *Store) watchLease(ctx context.Context, id string, held *state.Tracker) {
	sel := fields.OneTermEqualSelector("metadata.name", s.leaseName()).String()
	for ctx.Err() == nil && held.Held() == nil {
		started := time.Now()
		w, err := s.client.CoordinationV1().Leases(s.ns).Watch(ctx, metav1.ListOptions{FieldSelector: sel})
		if err == nil {
			for ev := range w.ResultChan() {
				switch l, _ := ev.Object.(*coordinationv1.Lease); {
				case ev.Type == watch.Deleted:
					held.Lose(fmt.Sprintf("was removed: the Lease %s/%s was deleted", s.ns, s.leaseName()))
				case l != nil && (ev.Type == watch.Added || ev.Type == watch.Modified):
					s.checkHolder(l, id, held)
				}
				if held.Held() != nil {
					break
				}
			}
			w.Stop()
		}
		if err == nil && time.Since(started) > time.Second {
			continue // it ran: start it again at once
		}
		select {
		case <-ctx.Done():
		case <-held.Lost():
		case <-time.After(max(s.renew/4, 10*time.Millisecond)):
		}
	}
}

// checkHolder marks held lost when the lease l is not lock id's; it
// reports whether it is.
func (s *Store) checkHolder(l *coordinationv1.Lease, id string, held *state.Tracker) bool {
	info := s.lockInfo(l)
	switch {
	case l == nil:
		held.Lose(fmt.Sprintf("was removed: the Lease %s/%s was deleted", s.ns, s.leaseName()))
	case info == nil:
		held.Lose("was released by another process (force-unlock)")
	case info.ID != id:
		held.Lose(fmt.Sprintf("was taken over by lock %s of %s (operation %q)", info.ID, info.Who, info.Operation))
	default:
		return true
	}
	return false
}

// renewOnce moves the lease's renew time forward. It marks held lost when
// the lease is no longer id's, and returns the error of a failed renewal.
func (s *Store) renewOnce(ctx context.Context, id string, held *state.Tracker) error {
	sent := s.now()
	l, err := s.getLease(ctx)
	if err != nil {
		return err
	}
	if !s.checkHolder(l, id, held) {
		return nil
	}
	now := metav1.NewMicroTime(sent)
	l.Spec.RenewTime = &now
	if _, err := s.client.CoordinationV1().Leases(s.ns).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renewing the lock of %s: %w", s, err)
	}
	held.Renewed(sent)
	return nil
}

func (s *Store) stopRenewal(id string) {
	s.mu.Lock()
	stop := s.renewal[id]
	delete(s.renewal, id)
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Unlock implements state.Store.
func (s *Store) Unlock(ctx context.Context, id string) error {
	if err := s.release(ctx, id); err != nil {
		return fmt.Errorf("unlocking %s: %w", s, err)
	}
	return nil
}

// ForceUnlock implements state.Store.
func (s *Store) ForceUnlock(ctx context.Context, id string) error {
	if err := s.release(ctx, id); err != nil {
		return fmt.Errorf("force-unlocking %s: %w", s, err)
	}
	return nil
}

// release clears the lease when it names id.
func (s *Store) release(ctx context.Context, id string) error {
	s.stopRenewal(id)
	s.leases.Lose(id, "was released")
	for attempt := 0; ; attempt++ {
		l, err := s.getLease(ctx)
		if err != nil {
			return err
		}
		held := s.lockInfo(l)
		switch {
		case held == nil:
			return state.ErrNotLocked
		case held.ID != id && s.expired(l):
			return state.ErrNotLocked
		case held.ID != id:
			return fmt.Errorf("lock ID %s, current lock %s held by %s: %w", id, held.ID, held.Who, state.ErrLockMismatch)
		}
		l.Spec.HolderIdentity = nil
		l.Spec.RenewTime = nil
		l.Spec.AcquireTime = nil
		delete(l.Annotations, AnnotationLock)
		_, err = s.client.CoordinationV1().Leases(s.ns).Update(ctx, l, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == 3 {
			return err
		}
	}
}
