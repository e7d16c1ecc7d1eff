package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-gitops/strata/internal/confine"
)

// DecryptionSOPS is the one decryption provider: SOPS.
const DecryptionSOPS = "sops"

// Decryption is a `decryption` block of a kustomization or a release: how
// to decrypt the SOPS-encrypted files the block reads (manifests and
// kustomize generator files of a kustomization, values files of a
// release). The keys do not change what is applied, so they are not part
// of the block's digest.
type Decryption struct {
	// Provider is DecryptionSOPS.
	Provider string
	// AgeIdentity is the content of an age identity file: one or more
	// AGE-SECRET-KEY-1... lines.
	AgeIdentity Sensitive `digest:"-"`
	// AgeIdentityFiles are paths of age identity files inside the stack
	// directory, relative to it (an identity file elsewhere is named by
	// SOPS_AGE_KEY_FILE).
	AgeIdentityFiles []string `digest:"-"`
	// PGPPrivateKey is one or more OpenPGP private keys (armored), without
	// a passphrase.
	PGPPrivateKey Sensitive `digest:"-"`
	// PGPPrivateKeyFiles are paths of OpenPGP private key files, like
	// AgeIdentityFiles.
	PGPPrivateKeyFiles []string `digest:"-"`
}

// decryptionBody is the table of a decryption block.
var decryptionBody = body[Decryption]{
	attrs: []attr[Decryption]{
		{name: "provider", required: true, decode: enum(func(d *Decryption) *string { return &d.Provider }, DecryptionSOPS)},
		{name: "age_identity", decode: secret(func(d *Decryption) *Sensitive { return &d.AgeIdentity })},
		{name: "age_identity_files", decode: list(func(d *Decryption) *[]string { return &d.AgeIdentityFiles }, checkKeyFiles)},
		{name: "pgp_private_key", decode: secret(func(d *Decryption) *Sensitive { return &d.PGPPrivateKey })},
		{name: "pgp_private_key_files", decode: list(func(d *Decryption) *[]string { return &d.PGPPrivateKeyFiles }, checkKeyFiles)},
	},
}

// checkKeyFiles refuses a key file that is not inside the stack directory:
// an absolute path, one starting with "~", "..", or a symbolic link that
// leads out. A stack reads no file of the machine, keys included (a pull
// request could name any file as a key); a key kept elsewhere comes from
// the environment. A file that does not exist yet is accepted: a job may
// write it before the plan.
func checkKeyFiles(d *decoder, attrs hcl.Attributes, name string, files []string) {
	for _, f := range files {
		err := keyFileOutside(d.l.dir, f)
		if err == nil {
			continue
		}
		d.l.errf(attrs[name].Expr.Range(), "Path outside the stack directory",
			"Key file %s. A stack reads key files only inside its directory; give a key kept elsewhere through the environment: SOPS_AGE_KEY_FILE names an age identity file anywhere, and a sensitive variable set with STRATA_VAR_name=\"$(cat FILE)\" can hold an age identity (age_identity) or an OpenPGP key (pgp_private_key).", err)
	}
}

// keyFileOutside returns an error when the key file name, relative to the
// stack directory dir, is or leads outside it; nil when it is inside or
// does not exist.
func keyFileOutside(dir, name string) error {
	if strings.HasPrefix(name, "~") {
		return fmt.Errorf("%q starts with \"~\", the home directory, which is outside the stack directory", name)
	}
	_, err := confine.Resolve(dir, name)
	if errors.Is(err, confine.ErrOutside) {
		return outsideError{err}
	}
	return nil
}
