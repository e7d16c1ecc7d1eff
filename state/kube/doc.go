// Package kube is the kubernetes state backend, for teams whose CI jobs
// share one state: the state lives in Secrets in a namespace and a
// coordination.k8s.io Lease is the lock.
//
// # Layout
//
// For a state named NAME in namespace NS:
//
//   - Secret NS/strata-state-NAME is the index: schema version, lineage,
//     serial, the payload encoding, the IDs of the current segments, and
//     the fence (the ID of the last lock taken).
//   - Secrets NS/strata-state-NAME-s-ID-WRITE hold the state in segments
//     of at most Options.ChunkSize bytes, each gzip-compressed on its own:
//     the header (blocks, releases, history), then the objects of runs of
//     consecutive blocks. ID is a digest of the segment's content and WRITE
//     names the write that created it. Where runs end depends only on the
//     blocks in them, so a write that changes one block creates the
//     segments of that block and the header only, and keeps the others;
//     segments are never overwritten, only created and, once the index no
//     longer names them, deleted. (States written by earlier versions, one
//     chunk set NS/strata-state-NAME-SET-I of the whole payload, are read
//     and replaced by segments on the next write.)
//   - Lease NS/strata-lock-NAME is the lock: holderIdentity is the lock ID,
//     the holder's LockInfo is an annotation.
//
// # Files
//
// The Store's code is split by verb, as fluxcd/pkg/ssa splits its manager:
// store.go (Options, Open, Close), index.go (the index Secret), read.go
// (Read, History and the payload cache), write.go (Write and the flip of
// the index), gc.go (deleting segments and chunk sets no index names),
// lock.go (Lock, Unlock and the Lease's renewal), codec.go (the
// payload's encodings) and memo.go (what the store last wrote, so that a
// write encodes only the blocks that changed since).
//
// # Consistency
//
// A write creates the segments the index does not name yet and then flips
// the index to the new list with an update that carries the index's
// resourceVersion, so the flip fails when anything changed the index since
// the writer read it. A reader reads the index, then the segments it
// names, and checks each against its ID; when a segment was deleted in
// between (a newer write replaced it) it starts again. A reader therefore never
// sees parts of two versions.
//
// # Locking and fencing
//
// The lock is a Lease with a duration, renewed in the background by the
// process that holds it (lock.go). Expiry is judged as client-go's leader
// election judges it: another process considers the lock expired once it
// has seen the Lease's record unchanged for its duration, measured on its
// own clock, so no clock is ever compared with another host's. The holder
// counts its lock as held (Store.Lease) only until LeaseDuration minus
// RenewMargin after the last renewal it sent, and learns at once, through a
// watch on the Lease, when it was released, deleted or taken over. Failed
// renewals are retried and reported (Options.OnRenewError).
//
// Taking the lock writes the new lock ID into the index (the fence). A
// write is accepted only when the index still carries the writer's lock ID
// and the index is unchanged since it was read, so a writer whose lease
// expired and was taken over by another run can no longer overwrite the
// newer state, even if it wakes up in the middle of a write.
//
// # Permissions
//
// The identity running strata needs, in the state's namespace: secrets get,
// list, create, update and delete; leases (coordination.k8s.io) get, list,
// watch, create and update (without list and watch a holder learns that its
// lock was taken at its next renewal). Read-only commands (state list, show, pull, history) need
// secrets get and leases get only.
package kube
