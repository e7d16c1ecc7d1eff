package planner

import (
	"fmt"
	"os"
	"strings"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/sops"
)

// The environment variables SOPS reads age identities from, which a
// decryption block uses too.
const (
	envAgeKey     = "SOPS_AGE_KEY"
	envAgeKeyFile = "SOPS_AGE_KEY_FILE"
)

// decryptor returns the SOPS decryptor of a block's decryption block, or
// nil when the block has none (its encrypted files are then refused). Its
// keys are the block's (values and files) and those of SOPS_AGE_KEY and
// SOPS_AGE_KEY_FILE; the age identities are added to the secrets kept out
// of the output.
func (e *Engine) decryptor(addr config.Address, d *config.Decryption) (*sops.Decryptor, error) {
	if d == nil {
		return nil, nil
	}
	if d.Provider != config.DecryptionSOPS {
		return nil, fmt.Errorf("%s: decryption: provider %q is not supported; use %q", addr, d.Provider, config.DecryptionSOPS)
	}
	var keys sops.Keys
	if !d.AgeIdentity.IsEmpty() {
		keys.Age = append(keys.Age, sops.Key{Name: "age_identity", Data: d.AgeIdentity.Reveal()})
	}
	if !d.PGPPrivateKey.IsEmpty() {
		keys.PGP = append(keys.PGP, sops.Key{Name: "pgp_private_key", Data: d.PGPPrivateKey.Reveal()})
	}
	for _, f := range d.AgeIdentityFiles {
		k, err := e.stackKeyFile("age_identity_files", f)
		if err != nil {
			return nil, fmt.Errorf("%s: decryption: %w", addr, err)
		}
		keys.Age = append(keys.Age, k)
	}
	for _, f := range d.PGPPrivateKeyFiles {
		k, err := e.stackKeyFile("pgp_private_key_files", f)
		if err != nil {
			return nil, fmt.Errorf("%s: decryption: %w", addr, err)
		}
		keys.PGP = append(keys.PGP, k)
	}
	if v := e.opts.Getenv(envAgeKey); v != "" {
		keys.Age = append(keys.Age, sops.Key{Name: envAgeKey, Data: v})
	}
	if f := e.opts.Getenv(envAgeKeyFile); f != "" {
		k, err := envKeyFile(envAgeKeyFile, f, e.opts.Getenv)
		if err != nil {
			return nil, fmt.Errorf("%s: decryption: %w", addr, err)
		}
		keys.Age = append(keys.Age, k)
	}
	// The age identities join the secrets (an OpenPGP key block is never
	// printed whole, and its many lines would slow every scrub down).
	for _, k := range keys.Age {
		e.addSecrets(keyLines(k.Data)...)
	}
	dec, err := sops.New(keys)
	if err != nil {
		return nil, fmt.Errorf("%s: decryption: %w", addr, err)
	}
	return dec, nil
}

// stackKeyFile reads the key file path, named by attr of a decryption
// block, inside the stack directory: like every file a stack names, it
// may not lead outside (a pull request could otherwise read any file of
// the machine as a key). Keys kept elsewhere come from the environment.
func (e *Engine) stackKeyFile(attr, path string) (sops.Key, error) {
	name := fmt.Sprintf("%s (%s)", attr, path)
	if strings.HasPrefix(path, "~") {
		return sops.Key{}, fmt.Errorf("key file %s: the home directory is outside the stack directory; name a key file outside the stack with %s", name, envAgeKeyFile)
	}
	p, err := confine.Resolve(e.dir, path)
	if err != nil {
		return sops.Key{}, fmt.Errorf("key file %s: %w", name, err)
	}
	return readKeyFile(name, p)
}

// envKeyFile reads the key file path named by the environment variable
// env, anywhere on the machine ("~/" is the home directory): the operator
// chose it, not the stack.
func envKeyFile(env, path string, getenv func(string) string) (sops.Key, error) {
	return readKeyFile(fmt.Sprintf("%s (%s)", env, path), expandHome(path, getenv))
}

// readKeyFile reads the key file at p, named name in errors.
func readKeyFile(name, p string) (sops.Key, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return sops.Key{}, fmt.Errorf("key file %s: %w", name, unwrapPath(err))
	}
	return sops.Key{Name: name, Data: string(b)}, nil
}

// unwrapPath returns the reason of a file error without its path (the
// caller names the file).
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// keyLines returns the lines of an age identity file that are not
// comments: the identities.
func keyLines(data string) []string {
	var out []string
	for _, l := range strings.Split(data, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// decryptValues decrypts the SOPS-encrypted values files of a release in
// memory: when one of spec.ValuesFiles is encrypted, every values file
// becomes a values layer read already (decrypted when encrypted), put
// before the layers of values_from, and spec.ValuesFiles is emptied, so
// that Helm merges the same values in the same order (files, values_from,
// values) and no decrypted file exists. The decrypted values join the
// secrets kept out of the output. A release without a decryption block
// refuses an encrypted file.
func (e *Engine) decryptValues(r *config.Release, spec *helm.ReleaseSpec) error {
	layers := make([]helm.ValuesLayer, len(spec.ValuesFiles))
	var encrypted []int
	for i, p := range spec.ValuesFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("values file %s: %w", r.ValuesFiles[i], unwrapPath(err))
		}
		layers[i] = helm.ValuesLayer{Source: "values file " + r.ValuesFiles[i], Data: b}
		if sops.Encrypted(b, valuesFormat(p)) {
			encrypted = append(encrypted, i)
		}
	}
	if len(encrypted) == 0 {
		return nil
	}
	if r.Decryption == nil {
		return fmt.Errorf("values file %s %w: add a decryption block with the key to the release", r.ValuesFiles[encrypted[0]], sops.ErrEncrypted)
	}
	dec, err := e.decryptor(r.Address(), r.Decryption)
	if err != nil {
		return err
	}
	for _, i := range encrypted {
		f := valuesFormat(spec.ValuesFiles[i])
		res, err := dec.Decrypt(r.ValuesFiles[i], layers[i].Data, f, f)
		if err != nil {
			return fmt.Errorf("values file %w", err)
		}
		e.addSecrets(res.Texts()...)
		layers[i].Data = res.Data
	}
	spec.ValuesFrom = append(layers, spec.ValuesFrom...)
	spec.ValuesFiles = nil
	return nil
}

// valuesFormat is the SOPS format of a values file: JSON for .json, else
// YAML (Helm reads values files as YAML whatever their name).
func valuesFormat(path string) sops.Format {
	if sops.FormatForPath(path) == sops.JSON {
		return sops.JSON
	}
	return sops.YAML
}

// encryptedValuesFile returns the name (as the stack writes it, in names)
// of the first of the values files paths that is SOPS-encrypted, or "".
func encryptedValuesFile(paths, names []string) string {
	for i, p := range paths {
		if b, err := os.ReadFile(p); err == nil && sops.Encrypted(b, valuesFormat(p)) {
			return names[i]
		}
	}
	return ""
}

// addSecrets adds values to the secrets kept out of the output. Plans and
// drift checks render one block at a time, so no output is being
// scrubbed meanwhile.
func (e *Engine) addSecrets(values ...string) {
	if e.secrets == nil {
		e.secrets = plan.NewSecrets()
	}
	e.secrets.Add(values...)
}

// releaseSecrets adds the values that r's SOPS-encrypted values files
// hold to the secrets kept out of the output, for a drift check: Helm's
// release holds them decrypted, and a field that changed in the cluster
// shows its applied value. An encrypted file that cannot be decrypted is
// an error: the check cannot know what to mask.
func (e *Engine) releaseSecrets(r *config.Release) error {
	files, err := valuesFiles(e.dir, r)
	if err != nil || len(files) == 0 {
		return err
	}
	spec := helm.ReleaseSpec{ValuesFiles: files}
	return e.decryptValues(r, &spec)
}
