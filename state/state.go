package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-gitops/strata/internal/addrs"
)

// SchemaVersion is the version of the snapshot format this package writes.
// A store refuses to read a snapshot with a newer version.
const SchemaVersion = 1

// Block statuses recorded in Block.Status.
const (
	// StatusApplied means the block's last apply finished successfully.
	StatusApplied = "applied"
	// StatusFailed means the block's last apply started but failed (or was
	// interrupted); its objects are those known to be applied. A block whose
	// first apply is under way has this status too, until it is recorded.
	StatusFailed = "failed"
)

// Snapshot is the whole state at one serial. Its slices are kept sorted by
// address (Write and Normalize sort them); Address fields are unique within
// each slice.
type Snapshot struct {
	// Version is the schema version (SchemaVersion when written).
	Version int `json:"version"`
	// Lineage is a UUID set on the first write and never changed after; two
	// snapshots with different lineages belong to different states.
	Lineage string `json:"lineage"`
	// Serial is incremented by every write that changes something.
	Serial uint64 `json:"serial"`
	// Blocks are the applied blocks of the stack.
	Blocks []Block `json:"blocks"`
	// Objects are the Kubernetes objects applied by kustomizations.
	Objects []Object `json:"objects"`
	// Releases are the Helm releases installed by release blocks.
	Releases []Release `json:"releases"`
}

// Block is one applied block of the stack: a source, a kustomization or a
// release.
type Block struct {
	// Address is the block's address, e.g. "kustomization.platform_base".
	Address string `json:"address"`
	// Kind is the block type: "source.git", "source.helm", "source.oci",
	// "kustomization" or "release".
	Kind string `json:"kind"`
	// ConfigDigest is a digest of the block's configuration when applied.
	ConfigDigest string `json:"config_digest,omitempty"`
	// Revision is the resolved source revision (a commit, chart version or
	// artifact digest) the block was applied from.
	Revision string `json:"revision,omitempty"`
	// AppliedAt is when the block was last applied.
	AppliedAt time.Time `json:"applied_at"`
	// Status is StatusApplied or StatusFailed.
	Status string `json:"status"`
	// Intents are objects an apply of the block was about to create (or
	// write without having them in the state), written to the state before
	// the writes and cleared when the apply records its outcome. Intents
	// left behind mean an interrupted apply: the next plan checks them
	// against the cluster and prunes or records those that exist and carry
	// the stack's labels. Sorted by address.
	Intents []Intent `json:"intents,omitempty"`
	// MovedFrom lists the addresses the kustomization's objects were
	// applied under before a move (Snapshot.Move: a moved block or strata
	// state mv): their strata.dev/block labels may still name them. The
	// next apply of the block rewrites the labels and clears the list.
	MovedFrom []string `json:"moved_from,omitempty"`
	// DependsOn lists the addresses of the blocks this block depended on when
	// applied, so that prune and destroy can order deletions after the
	// configuration is gone.
	DependsOn []string `json:"depends_on,omitempty"`
}

// Object is one Kubernetes object applied by a block. The state records a
// digest of what was applied, never the content, so Secret values never
// reach it.
type Object struct {
	// Address is the object's address: Addr().Address(Block), e.g.
	// "kustomization.app/Deployment.apps/web/api" (see internal/addrs).
	Address string `json:"address"`
	// Block is the address of the owning block.
	Block     string `json:"block"`
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Digest is a digest ("sha256:...") of the applied manifest.
	Digest string `json:"digest"`
	// UID and ResourceVersion are the object's after the apply.
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resource_version,omitempty"`
	// FieldsHash is a hash of the set of fields strata owned right after
	// the apply (server-side apply field ownership; no values). A drift
	// check that finds the same set knows no applied field was changed.
	FieldsHash string `json:"fields_hash,omitempty"`
}

// Addr returns the object part of the object's address.
func (o Object) Addr() addrs.Object {
	return addrs.Object{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Intent is an object a block's apply is about to write; see Block.Intents.
type Intent struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Addr returns the object part of the intent's address.
func (i Intent) Addr() addrs.Object {
	return addrs.Object{Group: i.Group, Kind: i.Kind, Namespace: i.Namespace, Name: i.Name}
}

// Address returns the object's address inside the block, e.g.
// "kustomization.app/ConfigMap/web/settings".
func (i Intent) Address(block string) string { return i.Addr().Address(block) }

// Release is one Helm release installed by a release block.
type Release struct {
	// Address is the address of the release block, e.g. "release.kafka".
	Address   string `json:"address"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Chart     string `json:"chart"`
	Version   string `json:"version"`
	// ValuesDigest is a digest of the computed values, never the values.
	ValuesDigest string `json:"values_digest,omitempty"`
	// Revision is the Helm release revision.
	Revision int    `json:"revision"`
	Status   string `json:"status"`
	// ServiceAccount ("namespace/name") and Uninstall are the block's
	// settings when it was applied: uninstalling the release after its block
	// left the stack uses them.
	ServiceAccount string            `json:"service_account,omitempty"`
	Uninstall      *ReleaseUninstall `json:"uninstall,omitempty"`
}

// ReleaseUninstall holds the uninstall settings of a release block.
type ReleaseUninstall struct {
	KeepHistory  bool          `json:"keep_history,omitempty"`
	DisableHooks bool          `json:"disable_hooks,omitempty"`
	Timeout      time.Duration `json:"timeout,omitempty"`
}

// HistoryEntry records one apply, destroy or state edit.
type HistoryEntry struct {
	// Serial is the snapshot serial after the operation.
	Serial uint64 `json:"serial"`
	// Time is when the operation finished.
	Time time.Time `json:"time"`
	// Operation is e.g. "apply", "destroy", "state rm", "state mv",
	// "state push".
	Operation string `json:"operation"`
	// Who is user@host.
	Who string `json:"who"`
	// Added, Changed and Removed count the objects and releases created,
	// updated and deleted (or forgotten, for state edits).
	Added   int `json:"added"`
	Changed int `json:"changed"`
	Removed int `json:"removed"`
	// Detail is a short human description, e.g. "a -> b" for a move.
	Detail string `json:"detail,omitempty"`
}

// LockInfo describes a lock holder.
type LockInfo struct {
	// ID identifies the lock; Lock generates it when empty.
	ID string `json:"id"`
	// Operation is what the holder is doing, e.g. "apply".
	Operation string `json:"operation"`
	// Who is user@host.
	Who string `json:"who"`
	// Created is when the lock was taken.
	Created time.Time `json:"created"`
	// Version is the strata version of the holder, if known.
	Version string `json:"version,omitempty"`
}

// WriteOptions controls one Store.Write.
type WriteOptions struct {
	// LockID is the ID of the lock the caller holds. Empty writes without a
	// lock, which fails when anyone holds it.
	LockID string
	// History, when set, is appended to the history in the same transaction.
	// Its Serial is set to the resulting serial, and a zero Time to now.
	History *HistoryEntry
	// Force skips the lineage and serial checks (state push --force). The
	// stored serial is then the larger of snap.Serial and the stored serial
	// plus one, so serials never go back.
	Force bool
}

// Store keeps the current snapshot, a lock and a history. Implementations
// are safe for use by one goroutine at a time and by many processes at once.
type Store interface {
	// Read returns the current snapshot, sorted. Before the first write it
	// returns an empty snapshot with serial 0 and no lineage. Read never
	// takes the lock and never returns a half-written snapshot.
	Read(ctx context.Context) (*Snapshot, error)

	// Write replaces the current snapshot with snap in one transaction: a
	// crash leaves the old or the new snapshot, nothing in between. It
	// sorts and validates snap first. Unless opts.Force, it fails with
	// ErrLineageMismatch when snap belongs to another lineage and with
	// ErrStaleSerial when snap.Serial is older than the stored serial. A
	// snapshot with the stored serial and different content is stored with
	// the serial incremented; one with a newer serial is stored as is (a
	// push). On success snap.Version, snap.Lineage and snap.Serial are set to
	// the stored values. Write fails with a *LockedError when another lock
	// is held and with ErrLockLost when opts.LockID is not the current lock.
	Write(ctx context.Context, snap *Snapshot, opts WriteOptions) error

	// History returns the history, oldest first.
	History(ctx context.Context) ([]HistoryEntry, error)

	// Lock takes the lock without waiting and returns its ID. When another
	// holder has it, Lock returns a *LockedError describing the holder.
	Lock(ctx context.Context, info LockInfo) (string, error)

	// Unlock releases the lock with the given ID; it fails with
	// ErrLockMismatch when the lock is held under another ID and with
	// ErrNotLocked when no lock is held.
	Unlock(ctx context.Context, id string) error

	// ForceUnlock removes the lock with the given ID whoever holds it; it
	// fails like Unlock when the current lock has another ID or none.
	ForceUnlock(ctx context.Context, id string) error

	// LockStatus returns the current holder, or nil when unlocked.
	LockStatus(ctx context.Context) (*LockInfo, error)

	// Lease returns the lease of the lock id that this store took with
	// Lock: held until this store releases it or learns that it is lost
	// (the kubernetes backend: its Lease was not renewed in time, was
	// released, deleted or taken over). The lease of an id this store did
	// not take is lost.
	Lease(id string) Lease

	// Close releases the store's resources (renewal goroutines, files). It
	// does not release a held lock.
	Close() error
}

var (
	// ErrLocked matches a *LockedError.
	ErrLocked = errors.New("state is locked")
	// ErrNotLocked is returned when unlocking a state nobody locked.
	ErrNotLocked = errors.New("state is not locked")
	// ErrLockMismatch is returned when unlocking with a wrong lock ID.
	ErrLockMismatch = errors.New("lock ID does not match the current lock")
	// ErrLockLost is returned by Write when the caller's lock is no longer
	// the current lock: it expired and another run took it, or it was
	// force-unlocked. The write is refused so that it cannot overwrite a
	// newer state.
	ErrLockLost = errors.New("lock is no longer held")
	// ErrStaleSerial is returned by Write when the snapshot is older than
	// the stored one.
	ErrStaleSerial = errors.New("state serial is older than the stored serial")
	// ErrLineageMismatch is returned by Write when the snapshot belongs to
	// another state.
	ErrLineageMismatch = errors.New("state lineage does not match")
)

// LockedError reports that another holder has the lock.
type LockedError struct {
	// Holder describes the current lock.
	Holder LockInfo
}

// Error implements error.
func (e *LockedError) Error() string {
	return fmt.Sprintf("state is locked by %s (operation %q, lock ID %s, since %s)",
		e.Holder.Who, e.Holder.Operation, e.Holder.ID, e.Holder.Created.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLocked) true for a *LockedError.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// EncryptionMigrator is a Store whose records can be re-encrypted in
// place: MigrateEncryption rewrites every record and history entry
// encrypted with the store's configured key (encrypt) or in plaintext
// (!encrypt), keeping lineage, serial and history. The caller holds the
// lock lockID.
type EncryptionMigrator interface {
	MigrateEncryption(ctx context.Context, lockID string, encrypt bool) error
}
