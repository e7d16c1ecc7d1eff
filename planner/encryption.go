package planner

import (
	"fmt"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/state/crypt"
)

// EncryptionKey returns the key of a stack's encryption block, or nil
// when there is none (nothing is encrypted).
func EncryptionKey(enc *config.Encryption) (*crypt.Key, error) {
	if enc == nil {
		return nil, nil
	}
	at := fmt.Sprintf("%s:%d", enc.DeclRange.Filename, enc.DeclRange.Start.Line)
	if len(enc.Unknown) > 0 {
		return nil, fmt.Errorf("the encryption key (%s) is not known: set the environment variable its %s reads with env()",
			at, enc.Unknown[0])
	}
	var (
		k   *crypt.Key
		err error
	)
	if len(enc.AgeRecipients) > 0 {
		k, err = crypt.AgeKeys(enc.AgeRecipients, enc.AgeIdentity.Reveal())
	} else {
		k, err = crypt.Passphrase(enc.Passphrase.Reveal())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", at, err)
	}
	return k, nil
}

// EncryptionKey returns the key that encrypts the engine's state and saved
// plans, or nil.
func (e *Engine) EncryptionKey() *crypt.Key { return e.key }
