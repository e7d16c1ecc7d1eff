package crypt

import (
	"bytes"
	"errors"
	"testing"

	"filippo.io/age"
)

func TestKeys(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	pass, err := PassphraseForTests("correct horse", 10)
	if err != nil {
		t.Fatal(err)
	}
	wrongPass, _ := PassphraseForTests("wrong horse", 10)
	ageKey, err := AgeKeys([]string{id.Recipient().String()}, "# comment\n"+id.String()+"\n")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := AgeKeys([]string{other.Recipient().String()}, other.String())
	tests := map[string]struct {
		enc, dec *Key
		wrong    bool
	}{
		"passphrase":       {enc: pass, dec: pass},
		"wrong passphrase": {enc: pass, dec: wrongPass, wrong: true},
		"age":              {enc: ageKey, dec: ageKey},
		"other identity":   {enc: ageKey, dec: otherKey, wrong: true},
		"age for scrypt":   {enc: pass, dec: ageKey, wrong: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := tc.enc.Encrypt([]byte("release.web secret"))
			if err != nil {
				t.Fatal(err)
			}
			if !IsEncrypted(b) || bytes.Contains(b, []byte("release.web")) {
				t.Fatalf("encrypted %q", b)
			}
			got, err := tc.dec.Decrypt(b)
			if tc.wrong {
				if !errors.Is(err, ErrWrongKey) {
					t.Fatalf("decrypt with another key: %v, want ErrWrongKey", err)
				}
				return
			}
			if err != nil || string(got) != "release.web secret" {
				t.Fatalf("decrypt: %q, %v", got, err)
			}
		})
	}
	if _, err := AgeKeys([]string{id.Recipient().String()}, "AGE-SECRET-KEY-1NOTAKEY"); err == nil || bytes.Contains([]byte(err.Error()), []byte("NOTAKEY")) {
		t.Errorf("bad identity: %v, want an error that does not quote it", err)
	}
}

func TestRecords(t *testing.T) {
	k, err := PassphraseForTests("pw", 10)
	if err != nil {
		t.Fatal(err)
	}
	r, wrapped, err := k.NewRecords()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := k.OpenRecords(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	a, b := r.Seal("objects", []byte("web")), r2.Seal("objects", []byte("web"))
	if !bytes.Equal(a, b) || bytes.Contains(a, []byte("web")) {
		t.Errorf("sealing is not deterministic or shows the record: %x %x", a, b)
	}
	if got, err := r2.Open("objects", a); err != nil || string(got) != "web" {
		t.Errorf("open: %q, %v", got, err)
	}
	if _, err := r2.Open("blocks", a); err == nil {
		t.Error("a record moved to another place opens")
	}
	if r.Name("x") != r2.Name("x") || r.Name("x") == r.Name("y") || r.Name("x") == "x" {
		t.Error("names are not keyed digests")
	}
}
