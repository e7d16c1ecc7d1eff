// Package crypt encrypts strata's data at rest with age
// (filippo.io/age): saved plans whole, and state records under a data key
// that is itself age-encrypted to the configured recipients (a passphrase
// through age's scrypt recipient, or age public keys).
//
// State records are sealed deterministically (XChaCha20-Poly1305 with a
// nonce derived from the record and its location), so that writing the
// same state again stores the same bytes and backends that compare records
// to find what changed keep working. Record names (object addresses) are
// replaced by keyed digests. Both reveal only which records are equal.
package crypt

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// Errors callers branch on.
var (
	// ErrNoKey is wrapped when encrypted data is read without a key.
	ErrNoKey = errors.New("encrypted, and no encryption key is configured")
	// ErrWrongKey is wrapped when the key does not decrypt the data.
	ErrWrongKey = errors.New("the configured encryption key does not decrypt it")
	// ErrNotEncrypted is wrapped when plaintext data is read with a key
	// configured: strata never falls back to plaintext silently.
	ErrNotEncrypted = errors.New("not encrypted, but encryption is configured")
)

// magic starts every age file.
const magic = "age-encryption.org/"

// IsEncrypted reports whether b is age-encrypted.
func IsEncrypted(b []byte) bool { return bytes.HasPrefix(b, []byte(magic)) }

// Key encrypts to its recipients and decrypts with its identities. A nil
// *Key means encryption is not configured.
type Key struct {
	recipients []age.Recipient
	identities []age.Identity
}

// Passphrase returns the key of a passphrase (age's scrypt recipient).
func Passphrase(pass string) (*Key, error) {
	if pass == "" {
		return nil, errors.New("encryption passphrase is empty")
	}
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return nil, fmt.Errorf("encryption passphrase: %w", err)
	}
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, fmt.Errorf("encryption passphrase: %w", err)
	}
	return &Key{recipients: []age.Recipient{r}, identities: []age.Identity{id}}, nil
}

// PassphraseForTests is Passphrase with age's scrypt work factor lowered
// to 2^logN, so that tests do not spend seconds per key. Never use it for
// real data.
func PassphraseForTests(pass string, logN int) (*Key, error) {
	k, err := Passphrase(pass)
	if err != nil {
		return nil, err
	}
	k.recipients[0].(*age.ScryptRecipient).SetWorkFactor(logN)
	return k, nil
}

// AgeKeys returns the key of age recipients (public keys) and an identity
// file's content (its private keys).
func AgeKeys(recipients []string, identity string) (*Key, error) {
	if len(recipients) == 0 {
		return nil, errors.New("encryption: no age recipients")
	}
	rs, err := age.ParseRecipients(strings.NewReader(strings.Join(recipients, "\n")))
	if err != nil {
		return nil, fmt.Errorf("encryption: age_recipients: %w", err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(identity))
	if err != nil {
		// The parser quotes what it could not read: the private key.
		return nil, errors.New("encryption: age_identity is not an age identity file (AGE-SECRET-KEY-1... lines)")
	}
	return &Key{recipients: rs, identities: ids}, nil
}

// Encrypt returns plain encrypted to the key's recipients.
func (k *Key) Encrypt(plain []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, k.recipients...)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return buf.Bytes(), nil
}

// Decrypt returns the plaintext of b, an age file. A key that does not
// match it is an error wrapping ErrWrongKey.
func (k *Key) Decrypt(b []byte) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(b), k.identities...)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return out, nil
}

// Records seals state records with a data key. It is safe for concurrent
// use.
type Records struct {
	aead cipher
	mac  []byte
}

type cipher interface {
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
	NonceSize() int
}

// dataKeySize is the size of a data key: one half seals, the other names.
const dataKeySize = 64

// NewRecords returns a sealer with a new random data key, and that key
// encrypted to k's recipients, to store beside the records.
func (k *Key) NewRecords() (*Records, []byte, error) {
	dk := make([]byte, dataKeySize)
	if _, err := rand.Read(dk); err != nil {
		return nil, nil, err
	}
	wrapped, err := k.Encrypt(dk)
	if err != nil {
		return nil, nil, err
	}
	r, err := newRecords(dk)
	return r, wrapped, err
}

// OpenRecords returns the sealer of the data key wrapped (as NewRecords
// returned it).
func (k *Key) OpenRecords(wrapped []byte) (*Records, error) {
	dk, err := k.Decrypt(wrapped)
	if err != nil {
		return nil, err
	}
	if len(dk) != dataKeySize {
		return nil, errors.New("encrypted state: invalid data key")
	}
	return newRecords(dk)
}

func newRecords(dk []byte) (*Records, error) {
	aead, err := chacha20poly1305.NewX(dk[:32])
	if err != nil {
		return nil, err
	}
	return &Records{aead: aead, mac: bytes.Clone(dk[32:])}, nil
}

// Name returns the keyed digest that stands for the record name s.
func (r *Records) Name(s string) string {
	m := hmac.New(sha256.New, r.mac)
	m.Write([]byte("name\x00"))
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// Seal returns plain sealed; where (the record's location, e.g. its
// bucket) is authenticated with it, so a record cannot be moved. The same
// where and plain always give the same result.
func (r *Records) Seal(where string, plain []byte) []byte {
	m := hmac.New(sha256.New, r.mac)
	m.Write([]byte("nonce\x00"))
	m.Write([]byte(where))
	m.Write([]byte{0})
	m.Write(plain)
	nonce := m.Sum(nil)[:r.aead.NonceSize()]
	return r.aead.Seal(nonce, nonce, plain, []byte(where))
}

// Open returns the plaintext of a record Seal sealed at where.
func (r *Records) Open(where string, sealed []byte) ([]byte, error) {
	n := r.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("encrypted state record is truncated")
	}
	out, err := r.aead.Open(nil, sealed[:n], sealed[n:], []byte(where))
	if err != nil {
		return nil, fmt.Errorf("encrypted state record %s: %w", where, err)
	}
	return out, nil
}
