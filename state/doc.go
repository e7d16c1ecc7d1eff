// Package state is strata's memory: what it applied, where, when and by whom.
//
// A Snapshot is the whole state at one serial: the blocks of the stack that
// were applied (sources, kustomizations, releases), every Kubernetes object
// strata applied (never its content, only a digest of it, so Secret values
// never reach the state), and every Helm release. A Store keeps the current
// snapshot, a lock, and a history of the operations that changed it. Blocks,
// objects and releases are keyed by their addresses, which package
// internal/addrs formats and parses ("kustomization.app",
// "kustomization.app/Deployment.apps/web/api").
//
// Backends live in subpackages: state/bolt (the default, a bbolt file
// beside the stack) and state/kube (Secrets and a Lease in a namespace, for
// teams whose CI jobs share one state). Every backend passes the conformance
// suite in state/statetest.
//
// # Writing
//
// Writes are optimistic and fenced. A caller reads a snapshot, changes it and
// writes it back with the ID of the lock it holds. The store refuses the
// write when another writer holds the lock, when the lock ID is not the
// current holder's, or when the snapshot's serial is older than the stored
// one (someone wrote in between). When the content differs from the stored
// snapshot the store increments the serial; on success it sets the caller's
// snapshot Lineage and Serial to the stored values, so a caller can keep
// writing the same snapshot one finished block at a time:
//
//	id, err := state.LockWait(ctx, store, state.NewLockInfo("apply"), timeout, clock)
//	defer store.Unlock(ctx, id)
//	snap, err := store.Read(ctx)
//	for each finished block {
//		snap.PutBlock(...); snap.PutObjects(...)
//		err = store.Write(ctx, snap, state.WriteOptions{LockID: id})
//	}
//	err = store.Write(ctx, snap, state.WriteOptions{LockID: id, History: &entry})
//
// # Locking
//
// Lock never waits: when another run holds the lock it returns a
// *LockedError describing the holder (ID, operation, user@host, since when),
// which matches ErrLocked with errors.Is. LockWait retries until a timeout.
// Readers never take the lock and never see a half-written snapshot.
//
// A holder asks Store.Lease whether it still holds its lock before each
// change it makes outside the state: a Lease answers without I/O from what
// the store last learnt (a Tracker), and its Lost channel closes when the
// lock is lost, so that a run stops at once.
package state
