package planner

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	sopstool "github.com/strata-gitops/strata/internal/cmd/sops"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/sops"
)

const decryptDoc = "password: key-source-secret\n"

// pgpKey makes an OpenPGP key pair and returns the armored private key
// and a GnuPG home whose pubring.gpg sops encrypts for.
func pgpKey(t *testing.T) (string, string, string) {
	t.Helper()
	ent, err := openpgp.NewEntity("strata test", "", "test@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	var pub, priv bytes.Buffer
	if err := ent.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "pubring.gpg"), pub.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ent.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return priv.String(), home, strings.ToUpper(ent.PrimaryKey.KeyIdString())
}

// TestDecryptorKeySources gives a block's decryptor its key through each
// attribute of the decryption block and each environment variable: each
// decrypts a file encrypted for that key, and the key joins the secrets.
func TestDecryptorKeySources(t *testing.T) {
	age := sopstool.NewAgeKey(t)
	ageEnc := filepath.Join(t.TempDir(), "age.yaml")
	if err := os.WriteFile(ageEnc, []byte(decryptDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	sopstool.Encrypt(t, ageEnc, "--age", age.Recipient)

	pgpPriv, gnupg, _ := pgpKey(t)
	pgpEnc := filepath.Join(t.TempDir(), "pgp.yaml")
	if err := os.WriteFile(pgpEnc, []byte(decryptDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	el, _ := openpgp.ReadArmoredKeyRing(strings.NewReader(pgpPriv))
	fp := strings.ToUpper(hexFP(el[0].PrimaryKey.Fingerprint))
	cmd := sopstool.Command(t, "--encrypt", "--pgp", fp, "--in-place", pgpEnc)
	cmd.Env = append(cmd.Env, "GNUPGHOME="+gnupg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sops --pgp: %v\n%s", err, out)
	}

	stack := t.TempDir()
	home := t.TempDir()
	writeKey := func(dir, name, data string) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ageFile, _ := os.ReadFile(age.File)
	writeKey(filepath.Join(stack, "keys"), "age.txt", string(ageFile))
	writeKey(filepath.Join(home, ".config"), "age.txt", string(ageFile))
	writeKey(filepath.Join(stack, "keys"), "ci.asc", pgpPriv)

	for name, tc := range map[string]struct {
		dec    config.Decryption
		env    map[string]string
		file   string
		secret string // a key part that must join the secrets
	}{
		"age_identity":                {dec: config.Decryption{AgeIdentity: config.NewSensitive(age.Identity)}, file: ageEnc, secret: age.Identity},
		"age_identity_files relative": {dec: config.Decryption{AgeIdentityFiles: []string{"keys/age.txt"}}, file: ageEnc, secret: age.Identity},
		"SOPS_AGE_KEY":                {env: map[string]string{"SOPS_AGE_KEY": age.Identity}, file: ageEnc, secret: age.Identity},
		"SOPS_AGE_KEY_FILE":           {env: map[string]string{"SOPS_AGE_KEY_FILE": age.File}, file: ageEnc, secret: age.Identity},
		"SOPS_AGE_KEY_FILE home":      {env: map[string]string{"SOPS_AGE_KEY_FILE": "~/.config/age.txt"}, file: ageEnc, secret: age.Identity},
		"pgp_private_key":             {dec: config.Decryption{PGPPrivateKey: config.NewSensitive(pgpPriv)}, file: pgpEnc},
		"pgp_private_key_files":       {dec: config.Decryption{PGPPrivateKeyFiles: []string{"keys/ci.asc"}}, file: pgpEnc},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"HOME": home}
			for k, v := range tc.env {
				env[k] = v
			}
			e := &Engine{dir: stack, opts: Options{Getenv: func(k string) string { return env[k] }}, secrets: plan.NewSecrets()}
			tc.dec.Provider = config.DecryptionSOPS
			d, err := e.decryptor(config.Address{Kind: config.KindKustomization, Name: "app"}, &tc.dec)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(tc.file)
			res, err := d.Decrypt("f.yaml", data, sops.YAML, sops.YAML)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Data) != decryptDoc {
				t.Errorf("decrypted %q", res.Data)
			}
			if tc.secret != "" && !e.secrets.Holds(tc.secret) {
				t.Error("the key is not among the secrets")
			}
			// Without the source, the file does not decrypt.
			e = &Engine{dir: stack, opts: Options{Getenv: func(string) string { return "" }}, secrets: plan.NewSecrets()}
			d, err = e.decryptor(config.Address{Kind: config.KindKustomization, Name: "app"}, &config.Decryption{Provider: config.DecryptionSOPS})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Decrypt("f.yaml", data, sops.YAML, sops.YAML); !errors.Is(err, sops.ErrNoKey) {
				t.Errorf("without the key: err = %v, want ErrNoKey", err)
			}
		})
	}

	e := &Engine{dir: stack, opts: Options{Getenv: func(string) string { return "" }}, secrets: plan.NewSecrets()}
	_, err := e.decryptor(config.Address{Kind: config.KindKustomization, Name: "app"},
		&config.Decryption{Provider: config.DecryptionSOPS, AgeIdentityFiles: []string{"keys/missing.txt"}})
	if err == nil || !strings.Contains(err.Error(), "kustomization.app") || !strings.Contains(err.Error(), "keys/missing.txt") {
		t.Errorf("missing key file: err = %v, want one naming the block and the file", err)
	}
}

// TestDecryptorKeyFilesConfined: the key files a decryption block names
// are read only inside the stack directory, like every file a stack names
// (a pull request could otherwise read any file of the machine as a key);
// the file SOPS_AGE_KEY_FILE names may be anywhere.
func TestDecryptorKeyFilesConfined(t *testing.T) {
	age := sopstool.NewAgeKey(t)
	stack := t.TempDir()
	home := filepath.Dir(age.File)
	if err := os.Symlink(age.File, filepath.Join(stack, "link.txt")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(stack, age.File)
	if err != nil {
		t.Fatal(err)
	}
	for name, dec := range map[string]config.Decryption{
		"age absolute": {AgeIdentityFiles: []string{age.File}},
		"age dotdot":   {AgeIdentityFiles: []string{rel}},
		"age home":     {AgeIdentityFiles: []string{"~/" + filepath.Base(age.File)}},
		"age link out": {AgeIdentityFiles: []string{"link.txt"}},
		"pgp absolute": {PGPPrivateKeyFiles: []string{age.File}},
		"pgp link out": {PGPPrivateKeyFiles: []string{"link.txt"}},
		"pgp dotdot":   {PGPPrivateKeyFiles: []string{rel}},
		"pgp home":     {PGPPrivateKeyFiles: []string{"~/" + filepath.Base(age.File)}},
	} {
		t.Run(name, func(t *testing.T) {
			e := &Engine{dir: stack, opts: Options{Getenv: func(k string) string {
				return map[string]string{"HOME": home}[k]
			}}, secrets: plan.NewSecrets()}
			dec.Provider = config.DecryptionSOPS
			_, err := e.decryptor(config.Address{Kind: config.KindKustomization, Name: "app"}, &dec)
			if err == nil || !strings.Contains(err.Error(), "outside") {
				t.Errorf("err = %v, want a key file outside the stack directory", err)
			}
			if e.secrets.Holds(age.Identity) {
				t.Error("the key outside the stack was read")
			}
		})
	}
}

func hexFP(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestDecryptValuesOrder: the values files of a release, one of them
// SOPS-encrypted, merge as Helm merges them: files in order, then the
// values_from layers, then the block's values; the decrypted values join
// the secrets, and a release without decryption refuses the file.
func TestDecryptValuesOrder(t *testing.T) {
	age := sopstool.NewAgeKey(t)
	stack := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(stack, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plainFile := write("base.yaml", "a: file\nb: file\nc: file\nd: file\n")
	encFile := write("secret.enc.yaml", "b: enc-Vx7q2Lp\nc: enc-Vx7q2Lp\nd: enc-Vx7q2Lp\n")
	sopstool.Encrypt(t, encFile, "--age", age.Recipient)

	r := &config.Release{Name: "web", ValuesFiles: []string{"base.yaml", "secret.enc.yaml"},
		Values: map[string]any{"d": "inline"}}
	spec := helm.ReleaseSpec{ValuesFiles: []string{plainFile, encFile}, Values: r.Values,
		ValuesFrom: []helm.ValuesLayer{{Source: "Secret ns/x", Data: []byte("c: cluster\nd: cluster\n")}}}
	e := &Engine{dir: stack, opts: Options{Getenv: func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return age.File
		}
		return ""
	}}, secrets: plan.NewSecrets()}

	if err := e.decryptValues(r, &spec); !errors.Is(err, sops.ErrEncrypted) || !strings.Contains(err.Error(), "secret.enc.yaml") {
		t.Fatalf("without decryption: err = %v, want ErrEncrypted naming the file", err)
	}
	r.Decryption = &config.Decryption{Provider: config.DecryptionSOPS}
	if err := e.decryptValues(r, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.ValuesFiles != nil {
		t.Errorf("values files = %q, want none (read in memory)", spec.ValuesFiles)
	}
	vals, err := helm.MergeValues(spec.ValuesFiles, spec.ValuesFrom, spec.Values)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "file", "b": "enc-Vx7q2Lp", "c": "cluster", "d": "inline"}
	for k, v := range want {
		if vals[k] != v {
			t.Errorf("values[%s] = %v, want %v (all: %v)", k, vals[k], v, vals)
		}
	}
	if !e.secrets.Holds("enc-Vx7q2Lp") || e.secrets.Holds("file") {
		t.Error("the secrets are not exactly the decrypted values")
	}
}
