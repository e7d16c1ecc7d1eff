package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func (o WaitOptions) withDefaults() WaitOptions {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10 * time.Second
	}
	return o
}

// Wait polls the objects until every one is Current by kstatus' rules. It
// fails fast, with a *WaitError, as soon as one is Failed, and after
// opts.Timeout with a *WaitError listing every object not Current and why.
// It sends EventReady when an object becomes Current and, every
// opts.ProgressEvery, an EventWaiting listing the objects still pending with
// the time elapsed. Duplicate references are waited for once.
func (m *Manager) Wait(ctx context.Context, refs []ObjectRef, opts WaitOptions, events chan<- Event) error {
	opts = opts.withDefaults()
	start := time.Now()
	seen := make(map[key]bool, len(refs))
	var pending []ObjectRef
	for _, r := range refs {
		if !seen[keyOf(r)] {
			seen[keyOf(r)] = true
			pending = append(pending, r)
		}
	}
	sort.Slice(pending, func(i, j int) bool { return lessRef(pending[i], pending[j]) })
	conds := make(map[key]string, len(opts.Conditions))
	for r, c := range opts.Conditions {
		conds[keyOf(r)] = c
	}
	deadline := time.NewTimer(opts.Timeout)
	defer deadline.Stop()
	lastProgress := start
	var last []ObjectStatus
	for len(pending) > 0 {
		statuses := make([]ObjectStatus, len(pending))
		err := forEach(ctx, len(pending), m.opts.Concurrency, func(ctx context.Context, i int) error {
			s, err := m.status(ctx, pending[i], conds[keyOf(pending[i])])
			statuses[i] = s
			return err
		})
		if err != nil {
			return err
		}
		var still, failed []ObjectStatus
		var next []ObjectRef
		for i, s := range statuses {
			switch s.Status {
			case string(status.CurrentStatus):
				emit(ctx, events, Event{Type: EventReady, Ref: s.Ref, Elapsed: time.Since(start)})
			case string(status.FailedStatus):
				emit(ctx, events, Event{Type: EventNotReady, Ref: s.Ref, Message: s.Message, Elapsed: time.Since(start)})
				failed = append(failed, s)
				still = append(still, s)
				next = append(next, pending[i])
			default:
				still = append(still, s)
				next = append(next, pending[i])
			}
		}
		if len(failed) > 0 {
			return &WaitError{NotReady: failed}
		}
		pending, last = next, still
		if len(pending) == 0 {
			break
		}
		if time.Since(lastProgress) >= opts.ProgressEvery {
			lastProgress = time.Now()
			emit(ctx, events, Event{Type: EventWaiting, Pending: still, Elapsed: time.Since(start)})
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return &WaitError{Timeout: true, NotReady: last}
		case <-time.After(opts.Interval):
		}
	}
	return nil
}

// status reads one object and computes its kstatus, or, when cond is set,
// whether that condition is True (see conditionStatus).
func (m *Manager) status(ctx context.Context, r ObjectRef, cond string) (ObjectStatus, error) {
	s := ObjectStatus{Ref: r}
	ri, _, err := m.resource(ctx, r)
	if err != nil {
		return s, &ObjectError{Ref: r, Op: "wait", Err: err}
	}
	u, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.Status, s.Message = string(status.NotFoundStatus), "not found"
		return s, nil
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return s, err
		}
		return s, &ObjectError{Ref: r, Op: "wait", Err: err}
	}
	res, err := status.Compute(u)
	if err != nil {
		s.Status, s.Message = string(status.UnknownStatus), err.Error()
		return s, nil
	}
	s.Status, s.Message = string(res.Status), res.Message
	if cond != "" && res.Status != status.FailedStatus && res.Status != status.TerminatingStatus {
		s.Status, s.Message = conditionStatus(u, cond)
	}
	return s, nil
}

// conditionStatus is Current when u's status.conditions holds cond with
// status "True", observed for u's current generation (status.observedGeneration
// and the condition's observedGeneration, where set, equal
// metadata.generation); InProgress otherwise, with what is missing.
func conditionStatus(u *unstructured.Unstructured, cond string) (string, string) {
	gen := u.GetGeneration()
	if og, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); ok && gen != 0 && og != gen {
		return string(status.InProgressStatus), fmt.Sprintf("generation %d not observed yet, status is of %d", gen, og)
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		c, ok := c.(map[string]any)
		if !ok || c["type"] != cond {
			continue
		}
		if og, ok := c["observedGeneration"].(int64); ok && gen != 0 && og != gen {
			return string(status.InProgressStatus), fmt.Sprintf("%s of generation %d, not %d yet", cond, og, gen)
		}
		st, _ := c["status"].(string)
		if st == "True" {
			return string(status.CurrentStatus), cond + " is True"
		}
		msg := fmt.Sprintf("%s is %s", cond, st)
		if r, _ := c["reason"].(string); r != "" {
			msg += ": " + r
		}
		if m, _ := c["message"].(string); m != "" {
			msg += ": " + m
		}
		return string(status.InProgressStatus), msg
	}
	return string(status.InProgressStatus), "no " + cond + " condition yet"
}
