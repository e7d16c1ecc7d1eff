// Package gitserver runs real Git servers in-process for tests: smart HTTP
// through the system git's http-backend (net/http/cgi) with optional basic
// auth and TLS, and SSH (golang.org/x/crypto/ssh) running git-upload-pack
// with public-key auth and a host key the test can put in known_hosts.
//
// Repositories are built with go-git (commits, optionally OpenPGP-signed,
// branches, lightweight and annotated tags, arbitrary refs such as
// refs/pull/42/head). Every HTTP request is recorded so tests can assert
// how much a client downloaded.
//
// It needs the git binary on PATH (git-http-backend, git-upload-pack).
package gitserver
