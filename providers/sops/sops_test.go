package sops_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	sopstool "github.com/strata-gitops/strata/internal/cmd/sops"
	"github.com/strata-gitops/strata/providers/sops"
)

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: app
stringData:
  password: hunter2-plain-text
  port: "5432"
`

// encrypted writes content to a file named name in a temporary directory
// and encrypts it in place with the sops command and args.
func encrypted(t *testing.T, name, content string, args ...string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sopstool.Encrypt(t, p, args...)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ageKeys(t *testing.T, k sopstool.AgeKey) sops.Keys {
	t.Helper()
	data, err := os.ReadFile(k.File)
	if err != nil {
		t.Fatal(err)
	}
	return sops.Keys{Age: []sops.Key{{Name: "test identity", Data: string(data)}}}
}

func newDecryptor(t *testing.T, keys sops.Keys) *sops.Decryptor {
	t.Helper()
	d, err := sops.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecryptAge(t *testing.T) {
	key := sopstool.NewAgeKey(t)
	enc := encrypted(t, "secret.yaml", secretYAML, "--age", key.Recipient, "--encrypted-regex", "^(data|stringData)$")
	if bytes.Contains(enc, []byte("hunter2")) || !sops.Encrypted(enc, sops.YAML) {
		t.Fatalf("sops did not encrypt the file:\n%s", enc)
	}
	res, err := newDecryptor(t, ageKeys(t, key)).Decrypt("secret.yaml", enc, sops.YAML, sops.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(res.Data, []byte("password: hunter2-plain-text")) || bytes.Contains(res.Data, []byte("sops:")) {
		t.Errorf("decrypted:\n%s", res.Data)
	}
	got := res.Texts()
	slices.Sort(got)
	if want := []string{"5432", "hunter2-plain-text"}; !slices.Equal(got, want) {
		t.Errorf("values = %q, want %q (the encrypted ones only, not the name)", got, want)
	}
	for _, v := range res.Values {
		if v.Text == "hunter2-plain-text" && !slices.Equal(v.Path, []string{"stringData", "password"}) {
			t.Errorf("path of the password = %q", v.Path)
		}
	}
}

func TestDecryptFormats(t *testing.T) {
	key := sopstool.NewAgeKey(t)
	for _, tc := range []struct {
		name, content string
		format        sops.Format
		want          string
	}{
		{"values.json", `{"auth": {"password": "json-secret"}}`, sops.JSON, `"password": "json-secret"`},
		{"app.env", "PASSWORD=env-secret\n", sops.Dotenv, "PASSWORD=env-secret"},
		{"token", "binary-secret", sops.Binary, "binary-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := encrypted(t, tc.name, tc.content, "--age", key.Recipient)
			if f := sops.FormatForPath(tc.name); f != tc.format {
				t.Fatalf("FormatForPath(%s) = %v, want %v", tc.name, f, tc.format)
			}
			if !sops.Encrypted(enc, tc.format) {
				t.Fatalf("Encrypted = false for:\n%s", enc)
			}
			res, err := newDecryptor(t, ageKeys(t, key)).Decrypt(tc.name, enc, tc.format, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(res.Data), tc.want) {
				t.Errorf("decrypted %q, want it to hold %q", res.Data, tc.want)
			}
		})
	}
}

func TestEncryptedIgnoresQuotedDocuments(t *testing.T) {
	key := sopstool.NewAgeKey(t)
	enc := encrypted(t, "secret.yaml", secretYAML, "--age", key.Recipient)
	var quoted bytes.Buffer
	quoted.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: doc\ndata:\n  file.yaml: |\n")
	for _, l := range strings.Split(string(enc), "\n") {
		quoted.WriteString("    " + l + "\n")
	}
	if sops.Encrypted(quoted.Bytes(), sops.YAML) {
		t.Error("a ConfigMap quoting a SOPS document counts as encrypted")
	}
	if sops.Encrypted([]byte(secretYAML), sops.YAML) || sops.Encrypted([]byte(`{"a": 1}`), sops.JSON) {
		t.Error("a plain document counts as encrypted")
	}
}

func TestDecryptErrors(t *testing.T) {
	key, other := sopstool.NewAgeKey(t), sopstool.NewAgeKey(t)
	enc := encrypted(t, "secret.yaml", secretYAML, "--age", key.Recipient, "--encrypted-regex", "^(data|stringData)$")

	t.Run("wrong key", func(t *testing.T) {
		_, err := newDecryptor(t, ageKeys(t, other)).Decrypt("app/secret.yaml", enc, sops.YAML, sops.YAML)
		if !errors.Is(err, sops.ErrNoKey) {
			t.Fatalf("err = %v, want ErrNoKey", err)
		}
		for _, want := range []string{"app/secret.yaml", key.Recipient, other.Recipient, "test identity"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
	})
	t.Run("no key", func(t *testing.T) {
		_, err := newDecryptor(t, sops.Keys{}).Decrypt("app/secret.yaml", enc, sops.YAML, sops.YAML)
		if !errors.Is(err, sops.ErrNoKey) || !strings.Contains(err.Error(), "SOPS_AGE_KEY") {
			t.Fatalf("err = %v, want ErrNoKey that says where keys come from", err)
		}
	})
	t.Run("changed clear value", func(t *testing.T) {
		tampered := bytes.Replace(enc, []byte("name: db"), []byte("name: dc"), 1)
		_, err := newDecryptor(t, ageKeys(t, key)).Decrypt("app/secret.yaml", tampered, sops.YAML, sops.YAML)
		if !errors.Is(err, sops.ErrTampered) || !strings.Contains(err.Error(), "app/secret.yaml") || !strings.Contains(err.Error(), "MAC") {
			t.Fatalf("err = %v, want ErrTampered naming the file and the MAC", err)
		}
	})
	t.Run("changed encrypted value", func(t *testing.T) {
		i := bytes.Index(enc, []byte("password: ENC[AES256_GCM,data:")) + len("password: ENC[AES256_GCM,data:")
		tampered := bytes.Clone(enc)
		if tampered[i] == 'A' {
			tampered[i] = 'B'
		} else {
			tampered[i] = 'A'
		}
		_, err := newDecryptor(t, ageKeys(t, key)).Decrypt("app/secret.yaml", tampered, sops.YAML, sops.YAML)
		if !errors.Is(err, sops.ErrTampered) || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("err = %v, want ErrTampered without the value", err)
		}
	})
	t.Run("bad identity", func(t *testing.T) {
		_, err := sops.New(sops.Keys{Age: []sops.Key{{Name: "age_identity", Data: "AGE-SECRET-KEY-1NOTAKEY"}}})
		if err == nil || !strings.Contains(err.Error(), "age_identity") || strings.Contains(err.Error(), "NOTAKEY") {
			t.Fatalf("err = %v, want one naming the key, without it", err)
		}
	})
}

func TestDecryptPGP(t *testing.T) {
	ent, err := openpgp.NewEntity("strata test", "", "test@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	// sops encrypts for an OpenPGP key found in $GNUPGHOME/pubring.gpg.
	home := t.TempDir()
	var pub bytes.Buffer
	if err := ent.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "pubring.gpg"), pub.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(p, []byte(secretYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	fp := hexString(ent.PrimaryKey.Fingerprint)
	cmd := sopstool.Command(t, "--encrypt", "--pgp", fp, "--in-place", p)
	cmd.Env = append(cmd.Env, "GNUPGHOME="+home)
	cmd.Dir = filepath.Dir(p)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sops --encrypt --pgp: %v\n%s", err, out)
	}
	enc, _ := os.ReadFile(p)

	var priv bytes.Buffer
	w, err := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ent.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	d := newDecryptor(t, sops.Keys{PGP: []sops.Key{{Name: "pgp_private_key", Data: priv.String()}}})
	res, err := d.Decrypt("secret.yaml", enc, sops.YAML, sops.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(res.Data, []byte("hunter2-plain-text")) {
		t.Errorf("decrypted:\n%s", res.Data)
	}

	// A public key alone is refused, naming the key.
	_, err = sops.New(sops.Keys{PGP: []sops.Key{{Name: "pgp_private_key_files (pub.asc)", Data: pub.String()}}})
	if err == nil || !strings.Contains(err.Error(), "pub.asc") {
		t.Errorf("public key: err = %v", err)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
