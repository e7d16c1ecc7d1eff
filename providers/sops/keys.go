package sops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keyservice"
)

// Keys are the private keys a Decryptor decrypts with. Each key has a
// name for messages (where it came from: an attribute, a file, an
// environment variable); its value never appears in one.
type Keys struct {
	// Age holds age identities: the content of an age identity file, one
	// or more AGE-SECRET-KEY-1... lines (comments and blank lines allowed).
	Age []Key
	// PGP holds OpenPGP private keys, ASCII-armored or binary, without a
	// passphrase.
	PGP []Key
}

// Key is a private key and where it came from.
type Key struct {
	// Name says where the key came from, e.g. "SOPS_AGE_KEY_FILE
	// (/home/me/keys.txt)"; it is shown in errors.
	Name string
	// Data is the key itself.
	Data string
}

// Empty reports whether k holds no key.
func (k Keys) Empty() bool { return len(k.Age)+len(k.PGP) == 0 }

// keyServer is a SOPS key service that decrypts data keys with the given
// age identities and OpenPGP private keys, and with nothing else: unlike
// SOPS's own local key service it reads no environment, keyring or file.
type keyServer struct {
	keyservice.UnimplementedKeyServiceServer
	age     sopsage.ParsedIdentities
	ageIDs  []string // the age recipients of the identities, for messages
	pgp     openpgp.EntityList
	pgpFPs  []string // the fingerprints of the OpenPGP keys, for messages
	sources []string // the names of the keys, for messages
}

var _ keyservice.KeyServiceServer = (*keyServer)(nil)

func newKeyServer(keys Keys) (*keyServer, error) {
	ks := &keyServer{}
	for _, k := range keys.Age {
		ids, err := age.ParseIdentities(strings.NewReader(k.Data))
		if err != nil {
			return nil, fmt.Errorf("age identity %s: not an age identity file (%s)", k.Name, safeAgeError(err))
		}
		for _, id := range ids {
			x, ok := id.(*age.X25519Identity)
			if !ok {
				return nil, fmt.Errorf("age identity %s: only X25519 identities (AGE-SECRET-KEY-1...) are supported", k.Name)
			}
			ks.age = append(ks.age, x)
			ks.ageIDs = append(ks.ageIDs, "age "+x.Recipient().String())
		}
		ks.sources = append(ks.sources, k.Name)
	}
	for _, k := range keys.PGP {
		el, err := readPGPKeys(k.Data)
		if err != nil {
			return nil, fmt.Errorf("OpenPGP private key %s: %w", k.Name, err)
		}
		for _, e := range el {
			if e.PrivateKey == nil {
				return nil, fmt.Errorf("OpenPGP private key %s: the key %X is a public key; decryption needs the private key (gpg --export-secret-keys --armor)", k.Name, e.PrimaryKey.Fingerprint)
			}
			if encryptedKey(e) {
				return nil, fmt.Errorf("OpenPGP private key %s: the key %X is protected by a passphrase; strata, like Flux, needs a key without one (export a copy without passphrase for decryption)", k.Name, e.PrimaryKey.Fingerprint)
			}
			ks.pgpFPs = append(ks.pgpFPs, fmt.Sprintf("pgp %X", e.PrimaryKey.Fingerprint))
		}
		ks.pgp = append(ks.pgp, el...)
		ks.sources = append(ks.sources, k.Name)
	}
	return ks, nil
}

// safeAgeError returns the message of an age parse error without the
// details of age's key parser, which may quote a character of the key.
func safeAgeError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i > 0 && strings.HasPrefix(msg, "error at line ") {
		return msg[:i] + ": not an age identity (AGE-SECRET-KEY-1...)"
	}
	return msg
}

// readPGPKeys reads armored or binary OpenPGP keys.
func readPGPKeys(data string) (openpgp.EntityList, error) {
	var (
		el  openpgp.EntityList
		err error
	)
	if strings.Contains(data, "-----BEGIN PGP") {
		el, err = openpgp.ReadArmoredKeyRing(strings.NewReader(data))
	} else {
		el, err = openpgp.ReadKeyRing(strings.NewReader(data))
	}
	if err != nil {
		return nil, errors.New("not an OpenPGP key")
	}
	if len(el) == 0 {
		return nil, errors.New("holds no key")
	}
	return el, nil
}

// encryptedKey reports whether the private key of e, or of one of its
// subkeys, is still protected by a passphrase.
func encryptedKey(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// describe lists the keys for an error message: their public side and
// where they came from.
func (ks *keyServer) describe() string {
	ids := append(append([]string(nil), ks.ageIDs...), ks.pgpFPs...)
	if len(ids) == 0 {
		return "none (set age_identity, age_identity_files, pgp_private_key or pgp_private_key_files in the decryption block, or SOPS_AGE_KEY / SOPS_AGE_KEY_FILE in the environment)"
	}
	return strings.Join(ids, ", ") + " (from " + strings.Join(ks.sources, ", ") + ")"
}

// Decrypt decrypts a data key with an age identity or an OpenPGP key.
func (ks *keyServer) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	switch k := req.GetKey().GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		if len(ks.age) == 0 {
			return nil, errors.New("no age identity")
		}
		// SOPS's age master key does the decryption; with identities
		// applied it reads none from the environment.
		mk := &sopsage.MasterKey{Recipient: k.AgeKey.GetRecipient(), EncryptedKey: string(req.GetCiphertext())}
		ks.age.ApplyToMasterKey(mk)
		plain, err := mk.Decrypt()
		if err != nil {
			return nil, err
		}
		return &keyservice.DecryptResponse{Plaintext: plain}, nil
	case *keyservice.Key_PgpKey:
		plain, err := ks.decryptPGP(req.GetCiphertext())
		if err != nil {
			return nil, err
		}
		return &keyservice.DecryptResponse{Plaintext: plain}, nil
	case nil:
		return nil, errors.New("no key given")
	default:
		return nil, fmt.Errorf("strata decrypts SOPS files with age and OpenPGP keys only, not %T", k)
	}
}

// decryptPGP decrypts an OpenPGP message (SOPS keeps the data key
// encrypted for an OpenPGP key as an armored message) with the keys.
func (ks *keyServer) decryptPGP(ciphertext []byte) ([]byte, error) {
	if len(ks.pgp) == 0 {
		return nil, errors.New("no OpenPGP key")
	}
	var r io.Reader = bytes.NewReader(ciphertext)
	if bytes.Contains(ciphertext, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(r)
		if err != nil {
			return nil, fmt.Errorf("OpenPGP message: %w", err)
		}
		r = block.Body
	}
	md, err := openpgp.ReadMessage(r, ks.pgp, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("OpenPGP message: %w", err)
	}
	return io.ReadAll(md.UnverifiedBody)
}
