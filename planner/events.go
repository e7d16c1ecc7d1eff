package planner

import "time"

// EventType is the kind of an Event.
type EventType string

// The events of an apply.
const (
	// BlockStarted: a block began to apply.
	BlockStarted EventType = "block_started"
	// BlockDone: a block applied and was recorded in the state.
	BlockDone EventType = "block_done"
	// BlockFailed: a block failed (Err); what it applied is recorded.
	BlockFailed EventType = "block_failed"
	// BlockSkipped: a block did not run because a dependency failed
	// (Message says which).
	BlockSkipped EventType = "block_skipped"
	// ObjectEvent: progress inside a block (Object).
	ObjectEvent EventType = "object"
	// ReleaseEvent: progress of a Helm release (Message).
	ReleaseEvent EventType = "release"
	// LockRenewFailed: renewing the state lock failed (Err); it is
	// retried, and the lock stays held until its lease would run out.
	LockRenewFailed EventType = "lock_renew_failed"
	// LockLost: the state lock was lost (Err); the apply stops and makes
	// no further change to the cluster.
	LockLost EventType = "lock_lost"
)

// Event reports apply progress.
type Event struct {
	Type  EventType
	Block string
	// Object is set for ObjectEvent: an applied, deleted or waited-for
	// object.
	Object *ObjectProgress
	// Elapsed is the time since the block started.
	Elapsed time.Duration
	// Counts of a finished block.
	Added, Changed, Destroyed int
	Err                       error
	Message                   string
}
