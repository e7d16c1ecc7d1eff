package config

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
	// AgeIdentityFiles are paths of age identity files, relative to the
	// stack directory unless absolute; "~/" is the home directory.
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
		{name: "age_identity_files", decode: list(func(d *Decryption) *[]string { return &d.AgeIdentityFiles })},
		{name: "pgp_private_key", decode: secret(func(d *Decryption) *Sensitive { return &d.PGPPrivateKey })},
		{name: "pgp_private_key_files", decode: list(func(d *Decryption) *[]string { return &d.PGPPrivateKeyFiles })},
	},
}
