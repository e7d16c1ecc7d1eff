package planner

// This file holds the apply of one kustomization block: its change set
// rebuilt from the plan, the write (prunes included) through Kube, and
// what the state records of it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/state"
)

// changeSet rebuilds the provider change set of block b from the plan.
func (a *applier) changeSet(b *plan.Block) (*kube.ChangeSet, error) {
	desired := map[string]*unstructured.Unstructured{}
	for _, raw := range b.Objects {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(raw, &u.Object); err != nil {
			return nil, fmt.Errorf("saved object of %s: %w", b.Address, err)
		}
		desired[refKey(kube.RefOf(u))] = u
	}
	cs := &kube.ChangeSet{}
	for _, i := range a.changes[b.Address] {
		rc := &a.p.Changes[i]
		gv, err := schema.ParseGroupVersion(rc.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rc.Address, err)
		}
		c := kube.Change{
			Ref:                 kube.ObjectRef{Group: gv.Group, Version: gv.Version, Kind: rc.Kind, Namespace: rc.Namespace, Name: rc.Name},
			Reason:              rc.Reason,
			LiveResourceVersion: rc.LiveResourceVersion,
			LiveUID:             rc.LiveUID,
			LiveDigest:          rc.LiveDigest,
			Unowned:             rc.Unowned,
			AfterCRD:            rc.AfterCRD,
			SchemaOnly:          rc.SchemaOnly,
			AfterNamespace:      rc.AfterNamespace,
		}
		if rc.AdoptedFromFlux != "" {
			c.Flux = &kube.FluxOwner{}
		}
		switch {
		case rc.Actions.IsReplace():
			c.Action = kube.ActionReplace
		case rc.Actions.Is(plan.Create):
			c.Action = kube.ActionCreate
		case rc.Actions.Is(plan.Update):
			c.Action = kube.ActionUpdate
		case rc.Actions.Is(plan.Delete):
			c.Action = kube.ActionDelete
		case rc.Actions.Is(plan.Forget):
			c.Action = kube.ActionForget
		default:
			c.Action = kube.ActionNoop
		}
		if c.Action != kube.ActionDelete && c.Action != kube.ActionForget {
			c.Desired = desired[refKey(c.Ref)]
			if c.Desired == nil {
				return nil, fmt.Errorf("%s: the plan holds no object to apply", rc.Address)
			}
		}
		cs.Changes = append(cs.Changes, c)
	}
	return cs, nil
}

// objectEvents forwards the provider's object events as events of the
// block addr; done closes the channel and waits for the last event.
func (a *applier) objectEvents(addr string) (chan<- kube.Event, func()) {
	ch := make(chan kube.Event, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range ch {
			a.e.emit(Event{Type: ObjectEvent, Block: addr, Object: objectProgress(ev), Elapsed: ev.Elapsed})
		}
	})
	return ch, func() { close(ch); wg.Wait() }
}

// applyKustomization applies the changes the plan holds for kustomization
// b as one change set, waits when the block says so, and records the
// outcome in the state; an unchanged block that failed before is waited
// for again.
func (a *applier) applyKustomization(ctx context.Context, b *plan.Block) (added, changed, destroyed int, err error) {
	var settings kustomizationSettings
	if len(b.Settings) > 0 {
		if err := json.Unmarshal(b.Settings, &settings); err != nil {
			return 0, 0, 0, fmt.Errorf("settings: %w", err)
		}
	}
	cs, err := a.changeSet(b)
	if err != nil {
		return 0, 0, 0, err
	}
	mgr, err := a.prov.Kube(settings.ServiceAccount)
	if err != nil {
		return 0, 0, 0, err
	}
	opts := kube.ApplyOptions{Stack: a.p.Stack, StackID: a.p.StackID, Block: b.Address, FormerBlocks: settings.FormerBlocks,
		Adopt: settings.Adopt, Force: settings.Force, IfUnchanged: a.saved,
		Wait: settings.Wait, HealthChecks: settings.HealthChecks}
	if settings.Timeout != "" {
		opts.Timeout, _ = time.ParseDuration(settings.Timeout)
	}
	a.mu.Lock()
	_, opts.Intents = previousObjects(a.snap, b.Address) // before this apply's own intents
	a.mu.Unlock()

	var res *kube.ApplyResult
	if cs.HasChanges() {
		if err := a.recordIntents(b, cs); err != nil {
			return 0, 0, 0, err
		}
		events, done := a.objectEvents(b.Address)
		res, err = mgr.Apply(ctx, cs, opts, events)
		done()
	}
	if res == nil {
		if a.upToDate(b, cs) {
			return 0, 0, 0, nil
		}
		res = &kube.ApplyResult{}
		// Nothing to write, but the last apply failed: wait again.
		var refs []kube.ObjectRef
		for _, c := range cs.Changes {
			if c.Action != kube.ActionDelete {
				refs = append(refs, c.Ref)
			}
		}
		if refs, conds := kube.WaitFor(settings.Wait, refs, settings.HealthChecks); len(refs) > 0 && !b.Remove {
			events, done := a.objectEvents(b.Address)
			err = mgr.Wait(ctx, refs, kube.WaitOptions{Timeout: opts.Timeout, Conditions: conds}, events)
			done()
		}
	}
	for _, o := range res.Objects {
		switch o.Action {
		case kube.ActionCreate:
			added++
		case kube.ActionUpdate:
			changed++
		case kube.ActionReplace:
			added++
			destroyed++
		case kube.ActionDelete:
			if o.Skipped == "" {
				destroyed++
			}
		}
	}
	if rerr := a.recordKustomization(b, cs, res, err); rerr != nil {
		return added, changed, destroyed, errors.Join(err, rerr)
	}
	return added, changed, destroyed, err
}

// recordKustomization writes the block and its objects to the state: the
// objects applied now, the unchanged ones, and, when the apply failed
// part-way, the ones it had before that were not deleted.
func (a *applier) recordKustomization(b *plan.Block, cs *kube.ChangeSet, res *kube.ApplyResult, applyErr error) error {
	return a.record(func(s *state.Snapshot) {
		objs := map[string]state.Object{}
		for _, o := range s.BlockObjects(b.Address) {
			objs[o.Address] = o
		}
		if applyErr == nil {
			// Everything planned is now true: start from the plan (the
			// objects written now are recorded from res below).
			written := make(map[string]bool, len(res.Objects))
			for _, ap := range res.Objects {
				written[ap.Ref.Address(b.Address)] = ap.Action != kube.ActionDelete
			}
			prev := objs
			objs = map[string]state.Object{}
			for _, c := range cs.Changes {
				if c.Action == kube.ActionDelete || c.Action == kube.ActionForget {
					continue // pruned, or kept in the cluster and no longer managed
				}
				addr := c.Ref.Address(b.Address)
				o, ok := prev[addr]
				if written[addr] {
					objs[addr] = o // replaced below
					continue
				}
				if !ok || c.Action == kube.ActionNoop && o.Digest != kube.Digest(c.Desired) {
					o = stateObject(b.Address, c.Ref)
					o.Digest = kube.Digest(c.Desired)
					o.UID, o.ResourceVersion = c.LiveUID, c.LiveResourceVersion
				}
				objs[addr] = o
			}
		}
		for _, ap := range res.Objects {
			addr := ap.Ref.Address(b.Address)
			if ap.Action == kube.ActionDelete {
				if ap.Skipped == "" || strings.Contains(ap.Skipped, "gone") || strings.Contains(ap.Skipped, "not found") {
					delete(objs, addr)
				} else if applyErr == nil {
					delete(objs, addr) // kept in the cluster on purpose, no longer strata's
				}
				continue
			}
			o := stateObject(b.Address, ap.Ref)
			o.Digest, o.UID, o.ResourceVersion = ap.Digest, ap.UID, ap.ResourceVersion
			o.FieldsHash = ap.FieldsHash
			objs[addr] = o
		}
		list := make([]state.Object, 0, len(objs))
		for _, o := range objs {
			list = append(list, o)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Address < list[j].Address })
		s.SetBlockObjects(b.Address, list)
		status := state.StatusApplied
		if applyErr != nil {
			status = state.StatusFailed
		}
		if b.Remove {
			if applyErr == nil {
				s.Remove(b.Address)
			}
			return
		}
		var intents []state.Intent
		var movedFrom []string
		if applyErr != nil {
			// Objects that may have been written and are not recorded
			// stay intents for the next plan, and objects may still carry
			// the labels of a former address.
			sb, _ := s.Block(b.Address)
			for _, in := range sb.Intents {
				if _, ok := objs[in.Address(b.Address)]; !ok {
					intents = append(intents, in)
				}
			}
			movedFrom = sb.MovedFrom
		}
		s.PutBlock(state.Block{Address: b.Address, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
			AppliedAt: a.e.opts.Now().UTC(), Status: status, DependsOn: b.DependsOn, Intents: intents, MovedFrom: movedFrom})
	})
}

// recordIntents writes to the state, before the apply of block b, the
// objects it is about to write that the state does not list, so that an
// apply killed before recording them leaves a trace: the next plan prunes
// those no longer rendered and records the others (see previousObjects).
// A block applied for the first time is recorded with StatusFailed until
// the apply records its outcome.
func (a *applier) recordIntents(b *plan.Block, cs *kube.ChangeSet) error {
	a.mu.Lock()
	sb, known := a.snap.Block(b.Address)
	have := map[string]bool{}
	for _, in := range sb.Intents {
		have[in.Address(b.Address)] = true
	}
	var add []state.Intent
	for _, c := range cs.Changes {
		switch c.Action {
		case kube.ActionNoop, kube.ActionDelete, kube.ActionForget:
			continue
		}
		addr := c.Ref.Address(b.Address)
		if _, ok := a.snap.Object(addr); ok || have[addr] {
			continue
		}
		have[addr] = true
		add = append(add, state.Intent{Group: c.Ref.Group, Version: c.Ref.Version, Kind: c.Ref.Kind, Namespace: c.Ref.Namespace, Name: c.Ref.Name})
	}
	a.mu.Unlock()
	if len(add) == 0 {
		return nil
	}
	return a.record(func(s *state.Snapshot) {
		if !known {
			sb = state.Block{Address: b.Address, Kind: b.Kind, ConfigDigest: b.ConfigDigest, Revision: b.Revision,
				AppliedAt: a.e.opts.Now().UTC(), Status: state.StatusFailed, DependsOn: b.DependsOn}
		}
		sb.Intents = append(slices.Clone(sb.Intents), add...)
		s.PutBlock(sb)
	})
}

// upToDate reports whether the state already records block b exactly as
// the plan leaves it, so that an unchanged block costs no state write.
func (a *applier) upToDate(b *plan.Block, cs *kube.ChangeSet) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	sb, ok := a.snap.Block(b.Address)
	if !ok || sb.Status != state.StatusApplied || sb.ConfigDigest != b.ConfigDigest || sb.Revision != b.Revision {
		return false
	}
	if len(sb.Intents) > 0 || len(sb.MovedFrom) > 0 {
		return false
	}
	have := a.snap.BlockObjects(b.Address)
	n := 0
	for _, c := range cs.Changes {
		if c.Action == kube.ActionDelete || c.Action == kube.ActionForget {
			return false
		}
		o, ok := a.snap.Object(c.Ref.Address(b.Address))
		if !ok || o.Digest != kube.Digest(c.Desired) {
			return false
		}
		n++
	}
	return n == len(have)
}

func stateObject(block string, r kube.ObjectRef) state.Object {
	return state.Object{Block: block, Group: r.Group, Version: r.Version, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
		Address: r.Address(block)}
}
