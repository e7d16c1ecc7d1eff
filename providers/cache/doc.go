// Package cache is strata's on-disk artifact cache, shared by the source
// providers (providers/git, providers/helmrepo).
//
// The cache lives under .strata/cache unless configured otherwise. It keeps
// two kinds of things:
//
//   - Entries: immutable directory trees keyed by a string the provider
//     derives from an exact revision or digest (a Git commit plus the ignore
//     rules, a chart digest). An entry is built in a private temporary
//     directory and published by an atomic rename, so a reader never sees a
//     half-written entry and two processes filling the same key at once both
//     succeed, one of them discarding its copy.
//   - Files: small mutable blobs, such as a Helm repository's index.yaml with
//     its ETag, replaced atomically with write-then-rename.
//
// The cache is bounded: after each Put, entries least recently used are
// removed until the total size is under Options.MaxBytes, never touching an
// entry used within Options.MinAge (so a concurrent run does not lose the
// artifacts it is using). Pruning holds an exclusive flock on the cache's
// lock file while it picks entries and moves them out of the way (and is
// skipped when another process prunes); Get holds a shared one while it
// looks an entry up and marks it used, so a lookup and a prune never
// interleave.
//
// With Options.Secret, the cache trusts only what it wrote: entries and
// files carry an HMAC under the secret (over an entry's metadata and a
// digest of its content), and anything else counts as absent. No path in
// the cache is followed through a symbolic link.
//
// A Cache is safe for concurrent use by multiple goroutines and processes.
package cache
