// Package git resolves and fetches Git sources with go-git.
//
// A Spec names a repository URL (https://, http://, ssh://, scp-style
// user@host:path, or file://), a reference (branch, tag, semver constraint
// over tags, exact commit, or a full ref name such as refs/pull/42/head),
// credentials, ignore rules and optional OpenPGP verification.
//
// Fetcher.Resolve lists the remote's refs (one round trip, no objects
// transferred) and returns the exact commit the reference points at: the
// planner uses it to tell whether a branch moved. Fetcher.Fetch resolves,
// then returns the artifact from the cache (providers/cache) when that
// commit was fetched before, and otherwise fetches it (shallow, depth 1,
// except for exact commits), verifies signatures, writes the tree without
// ignored files into the cache and returns it.
//
// Revisions follow Flux: "main@sha1:<hash>", "v1.2.0@sha1:<hash>",
// "refs/pull/42/head@sha1:<hash>", or "sha1:<hash>" for a bare commit.
//
// Semver constraints use hashicorp/go-version syntax, as everywhere in
// strata: "~> 1.2" means >= 1.2, < 2.0 (not Helm's ~1.2). The highest
// matching tag wins; pre-release tags match only constraints that name a
// pre-release of the same version, as go-version defines.
//
// Ignore rules follow Flux's source-controller: a default set (VCS
// metadata, CI configuration, common binary extensions) is always applied,
// then every .sourceignore file in the tree (scoped to its directory), then
// Spec.Ignore. All use .gitignore syntax, so "!*.png" re-includes what the
// defaults exclude.
//
// SSH host keys are always checked against known_hosts (Auth.KnownHosts or
// Options.KnownHostsFiles); an unknown host is an error, never trusted.
// Credentials never appear in errors: URLs are redacted and secret values
// are scrubbed from error text.
//
// A fetch holds the fetched objects in memory, about the size of the
// checked-out tree, before writing the tree to the cache. file:// URLs run
// the system git's git-upload-pack, as go-git does.
//
// Errors callers branch on wrap the sentinels ErrRefNotFound,
// ErrAuthentication, ErrHostKey, ErrVerification and ErrOffline.
package git
