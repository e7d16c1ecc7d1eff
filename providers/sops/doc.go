// Package sops decrypts SOPS-encrypted documents in memory, with age
// identities and OpenPGP private keys that the caller hands over: the
// stack's decryption blocks, never a keyring or key file that the machine
// happens to have.
//
// The file formats, the data key recovery and the integrity check (the
// MAC) are SOPS's own (github.com/getsops/sops/v3 and its stores); this
// package only supplies a key service that knows the given keys, as
// Flux's kustomize-controller does. Nothing decrypted is written to disk.
package sops
