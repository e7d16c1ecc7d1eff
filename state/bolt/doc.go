// Package bolt is strata's default state backend: a bbolt database file,
// .strata/state.db beside the stack unless configured otherwise.
//
// The file is created 0600 in a 0700 directory. Every write is one bbolt
// transaction, so a process killed at any moment leaves the old or the new
// state. The database holds the schema version, lineage and serial in a meta
// bucket, one key per block, object and release (so an unchanged object
// costs no write), the history, and the strata lock.
//
// The strata lock is data inside the database, not bbolt's file lock: each
// operation opens the file, runs one short transaction and closes it again,
// so a running apply holds bbolt's file lock only while it writes a
// snapshot, and read-only commands wait at most for that one transaction.
// The lock records the holder's process, so a lock left behind by a run
// that crashed on this machine is replaced by the next Lock; a lock taken on
// another machine stays until it is released or force-unlocked, and its
// holder is shown in every error it causes.
package bolt
