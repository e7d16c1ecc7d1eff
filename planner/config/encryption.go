package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty/function"
)

// Encryption is the `encryption` block of the strata block: the key that
// encrypts the state and saved plans at rest. Exactly one of Passphrase and
// AgeRecipients is set; AgeIdentity decrypts what was encrypted to
// AgeRecipients.
type Encryption struct {
	Meta
	// Passphrase encrypts with age's scrypt recipient.
	Passphrase Sensitive
	// AgeRecipients are age public keys ("age1...").
	AgeRecipients []string
	// AgeIdentity is the content of an age identity file (one or more
	// AGE-SECRET-KEY-1... lines), needed to read.
	AgeIdentity Sensitive
}

var encryptionBody = body[Encryption]{
	attrs: []attr[Encryption]{
		{name: "passphrase", decode: secret(func(e *Encryption) *Sensitive { return &e.Passphrase }, checkPassphrase)},
		{name: "age_recipients", decode: list(func(e *Encryption) *[]string { return &e.AgeRecipients }, checkAgeRecipients)},
		{name: "age_identity", decode: secret(func(e *Encryption) *Sensitive { return &e.AgeIdentity })},
	},
	check: checkEncryption,
}

// strataEncryption decodes the encryption block of the strata block, with
// a Meta of its own. The strata block is read before variables: its
// attributes may call env() and file(), nothing else.
func strataEncryption(d *decoder, bs hcl.Blocks, s *Strata) {
	if len(bs) == 0 {
		return
	}
	d.atMostOne(bs)
	l := d.l
	saved := l.ctx
	l.ctx = &hcl.EvalContext{Functions: map[string]function.Function{"env": l.funcs["env"], "file": l.funcs["file"]}}
	defer func() { l.ctx = saved }()
	enc := &Encryption{}
	s.Encryption = enc
	decodeBody(l.newDecoder(&enc.Meta, bs[0], nil), bs[0], &encryptionBody, enc)
}

// checkPassphrase refuses an empty passphrase.
func checkPassphrase(d *decoder, attrs hcl.Attributes, name string, v Sensitive) {
	if v.IsEmpty() {
		d.l.errf(attrs[name].Expr.Range(), "Empty passphrase", "The passphrase must not be empty.")
	}
}

// checkAgeRecipients refuses what is not an age public key.
func checkAgeRecipients(d *decoder, attrs hcl.Attributes, name string, rs []string) {
	for _, r := range rs {
		if !strings.HasPrefix(r, "age1") {
			d.l.errf(attrs[name].Expr.Range(), "Invalid age recipient",
				"%q is not an age recipient: use public keys like \"age1...\" (age-keygen -y prints one).", r)
		}
	}
}

// checkEncryption checks that the block sets one key, completely.
func checkEncryption(d *decoder, c *hcl.BodyContent, _ *Encryption) {
	_, pass := c.Attributes["passphrase"]
	_, recips := c.Attributes["age_recipients"]
	_, ident := c.Attributes["age_identity"]
	rng := d.block.DefRange
	switch {
	case pass && (recips || ident):
		d.l.errf(rng, "Conflicting encryption keys", "Set either passphrase, or age_recipients with age_identity, not both.")
	case !pass && !recips:
		d.l.errf(rng, "Missing encryption key", "Set passphrase (e.g. env(\"STRATA_PASSPHRASE\")), or age_recipients with age_identity.")
	case recips && !ident:
		d.l.errf(rng, "Missing age identity",
			"Reading the state needs the private key: set age_identity to the content of an age identity file, e.g. env(\"STRATA_AGE_IDENTITY\").")
	}
}
