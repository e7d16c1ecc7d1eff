package planner

import (
	"fmt"
	"time"

	"github.com/strata-gitops/strata/providers/kube"
)

// ObjectEventType is the kind of an ObjectProgress.
type ObjectEventType string

// The kinds of object progress.
const (
	// ObjectApplied: an object was created, updated or replaced (Action).
	ObjectApplied ObjectEventType = "applied"
	// ObjectDeleted: an object was pruned.
	ObjectDeleted ObjectEventType = "deleted"
	// ObjectSkipped: a delete was skipped (Message says why).
	ObjectSkipped ObjectEventType = "skipped"
	// ObjectFailed: a write failed (Err).
	ObjectFailed ObjectEventType = "failed"
	// ObjectStage: a stage finished (Message names it).
	ObjectStage ObjectEventType = "stage"
	// ObjectWaiting: still waiting for objects (Pending).
	ObjectWaiting ObjectEventType = "waiting"
	// ObjectReady: an object became ready.
	ObjectReady ObjectEventType = "ready"
	// ObjectNotReady: an object failed to become ready (Message).
	ObjectNotReady ObjectEventType = "notready"
)

// ObjectProgress is the progress of one Kubernetes object inside a block:
// the planner's own copy of what the provider reported, so that callers
// need not import the provider.
type ObjectProgress struct {
	Type ObjectEventType
	// Ref names the object: "Deployment.apps/ns/web".
	Ref string
	// Action is what was done: create, update, replace or delete.
	Action  string
	Message string
	Err     error
	// Elapsed is the time since the operation started.
	Elapsed time.Duration
	// Pending lists the objects still not ready (ObjectWaiting), with why.
	Pending []PendingObject
}

// PendingObject is an object that is not ready yet, with its status.
type PendingObject struct {
	Ref     string
	Status  string // kstatus: InProgress, Current, Failed, NotFound, Unknown…
	Message string
}

// String renders "Deployment.apps/ns/web (InProgress: 0 of 1 ready)".
func (p PendingObject) String() string {
	if p.Message == "" {
		return fmt.Sprintf("%s (%s)", p.Ref, p.Status)
	}
	return fmt.Sprintf("%s (%s: %s)", p.Ref, p.Status, p.Message)
}

// objectProgress copies a provider event into the planner's type.
func objectProgress(ev kube.Event) *ObjectProgress {
	o := &ObjectProgress{Type: ObjectEventType(ev.Type), Ref: ev.Ref.String(), Action: string(ev.Action),
		Message: ev.Message, Err: ev.Err, Elapsed: ev.Elapsed}
	for _, s := range ev.Pending {
		o.Pending = append(o.Pending, PendingObject{Ref: s.Ref.String(), Status: s.Status, Message: s.Message})
	}
	return o
}
