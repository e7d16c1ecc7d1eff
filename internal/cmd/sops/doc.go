// Package sops provides the real sops and age-keygen commands to tests,
// so that they encrypt their fixtures as users do: the commands
// github.com/getsops/sops/v3/cmd/sops and filippo.io/age/cmd/age-keygen,
// declared as tools of this module (go.mod's `tool` directive) at the
// versions strata decrypts with, built once per machine and version next
// to the test cluster's binaries.
package sops
