package plan

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/state/crypt"
)

// TestEncryptedFile writes a plan encrypted whole and reads it back only
// with the key: without one (ErrNoKey), with another (ErrWrongKey), and a
// plaintext plan read with a key (ErrNotEncrypted) are refused.
func TestEncryptedFile(t *testing.T) {
	key, err := crypt.PassphraseForTests("plan key", 10)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypt.PassphraseForTests("other key", 10)
	p := &Plan{FormatVersion: FormatVersion, Stack: "secret-stack-name", Dir: "/stacks/secret-stack-name",
		Releases: []ReleaseChange{{Address: "release.planted-release", Name: "planted-release"}}}
	dir := t.TempDir()
	enc, plain := filepath.Join(dir, "enc.plan"), filepath.Join(dir, "plain.plan")
	if err := (Key{}).WithEncryption(key).WriteFile(enc, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(plain, p); err != nil {
		t.Fatal(err)
	}
	if !IsEncryptedFile(enc) || IsEncryptedFile(plain) {
		t.Fatal("IsEncryptedFile is wrong")
	}
	got, err := (Key{}).WithEncryption(key).ReadFile(enc)
	if err != nil || got.Stack != "secret-stack-name" {
		t.Fatalf("read with the key: %+v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		key  *crypt.Key
		file string
		want error
	}{
		"no key":               {nil, enc, crypt.ErrNoKey},
		"another key":          {other, enc, crypt.ErrWrongKey},
		"plaintext with a key": {key, plain, crypt.ErrNotEncrypted},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := (Key{}).WithEncryption(tc.key).ReadFile(tc.file); !errors.Is(err, tc.want) {
				t.Errorf("read: %v, want %v", err, tc.want)
			}
		})
	}
	// Signed and encrypted: the signature is checked inside.
	sk, err := NewKey(bytes.Repeat([]byte("k"), MinKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.WithEncryption(key).WriteFile(enc, p); err != nil {
		t.Fatal(err)
	}
	if _, err := sk.WithEncryption(key).ReadFile(enc); err != nil {
		t.Errorf("signed and encrypted: %v", err)
	}
	if _, err := (Key{}).WithEncryption(key).ReadFile(enc); err != nil {
		t.Errorf("signed and encrypted, read without a signing key: %v", err)
	}
	// Encryption is no signature: anyone who knows the recipients can
	// encrypt a plan; with a signing key, only a signed one is read.
	if err := (Key{}).WithEncryption(key).WriteFile(enc, p); err != nil {
		t.Fatal(err)
	}
	if _, err := sk.WithEncryption(key).ReadFile(enc); !errors.Is(err, ErrSignature) {
		t.Errorf("encrypted and unsigned, read with a signing key: %v, want ErrSignature", err)
	}
}
