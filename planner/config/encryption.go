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

// decodeEncryption decodes the encryption blocks of the strata block. Its
// attributes may call env() and file(), nothing else.
func (l *loader) decodeEncryption(blocks hcl.Blocks) {
	bs := blocks.OfType("encryption")
	if len(bs) == 0 {
		return
	}
	if len(bs) > 1 {
		l.errf(bs[1].DefRange, "Duplicate encryption block", "A stack has one encryption block; remove all but one.")
	}
	b := bs[0]
	// The strata block is read before variables: the key may come from
	// env() and file() only.
	saved := l.ctx
	l.ctx = &hcl.EvalContext{Functions: map[string]function.Function{"env": l.funcs["env"], "file": l.funcs["file"]}}
	defer func() { l.ctx = saved }()
	enc := &Encryption{}
	d := l.newDecoder(&enc.Meta, b, nil)
	c := d.content(b.Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "passphrase"}, {Name: "age_recipients"}, {Name: "age_identity"},
	}})
	l.st.Strata.Encryption = enc
	if c == nil {
		return
	}
	passOK := d.secret(c.Attributes, "passphrase", &enc.Passphrase)
	d.strList(c.Attributes, "age_recipients", &enc.AgeRecipients)
	d.secret(c.Attributes, "age_identity", &enc.AgeIdentity)
	_, pass := c.Attributes["passphrase"]
	_, recips := c.Attributes["age_recipients"]
	_, ident := c.Attributes["age_identity"]
	switch {
	case pass && (recips || ident):
		l.errf(b.DefRange, "Conflicting encryption keys",
			"Set either passphrase, or age_recipients with age_identity, not both.")
	case !pass && !recips:
		l.errf(b.DefRange, "Missing encryption key",
			"Set passphrase (e.g. env(\"STRATA_PASSPHRASE\")), or age_recipients with age_identity.")
	case recips && !ident:
		l.errf(b.DefRange, "Missing age identity",
			"Reading the state needs the private key: set age_identity to the content of an age identity file, e.g. env(\"STRATA_AGE_IDENTITY\").")
	}
	if passOK && enc.Passphrase.IsEmpty() {
		l.errf(c.Attributes["passphrase"].Expr.Range(), "Empty passphrase", "The passphrase must not be empty.")
	}
	for _, r := range enc.AgeRecipients {
		if !strings.HasPrefix(r, "age1") {
			l.errf(c.Attributes["age_recipients"].Expr.Range(), "Invalid age recipient",
				"%q is not an age recipient: use public keys like \"age1...\" (age-keygen -y prints one).", r)
		}
	}
}
