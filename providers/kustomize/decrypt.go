package kustomize

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/strata-gitops/strata/providers/sops"
)

// ErrEncrypted is wrapped by Build errors for a SOPS-encrypted file or
// object that the build cannot decrypt because Options.Decryptor is nil.
var ErrEncrypted = sops.ErrEncrypted

// decryption decrypts, in memory, the SOPS-encrypted files a build reads
// where Flux's kustomize-controller decrypts them: the resource files,
// patch files and secret generator files (files, env files) that
// kustomization files name. Files of ConfigMap generators, and files no
// kustomization names in one of those places, are read as they are.
//
// Decrypting a file whole, as read, checks its MAC, which a decryption of
// the built objects (Flux's) cannot do: kustomize changes them.
type decryption struct {
	dec     *sops.Decryptor
	onValue func(values []string)
	root    string
	// formats are the files to decrypt, by clean absolute path, with the
	// format SOPS reads them in.
	formats map[string]sops.Format
	// plain are the files ConfigMap generators read, never decrypted.
	plain map[string]bool
}

func newDecryption(root string, opts Options) *decryption {
	return &decryption{dec: opts.Decryptor, onValue: opts.OnDecrypt, root: root,
		formats: map[string]sops.Format{}, plain: map[string]bool{}}
}

// name returns p relative to the root, for messages.
func (d *decryption) name(p string) string {
	if rel, err := filepath.Rel(d.root, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

// register records the files that the kustomization file kfile (its
// content data) names where they may be SOPS-encrypted.
func (d *decryption) register(kfile string, data []byte) {
	if d == nil {
		return
	}
	var k struct {
		Resources             []string `json:"resources"`
		PatchesStrategicMerge []string `json:"patchesStrategicMerge"`
		Patches               []struct {
			Path string `json:"path"`
		} `json:"patches"`
		PatchesJSON6902 []struct {
			Path string `json:"path"`
		} `json:"patchesJson6902"`
		SecretGenerator    []generator `json:"secretGenerator"`
		ConfigMapGenerator []generator `json:"configMapGenerator"`
	}
	if yaml.Unmarshal(data, &k) != nil {
		return // kustomize reports it
	}
	dir := filepath.Dir(kfile)
	add := func(p string, f sops.Format) {
		if p == "" || isRemote(p) || filepath.IsAbs(p) {
			return
		}
		d.formats[filepath.Join(dir, p)] = f
	}
	for _, r := range k.Resources {
		add(r, sops.FormatForPath(r))
	}
	for _, p := range k.PatchesStrategicMerge {
		add(p, sops.FormatForPath(p))
	}
	for _, p := range k.Patches {
		add(p.Path, sops.FormatForPath(p.Path))
	}
	for _, p := range k.PatchesJSON6902 {
		add(p.Path, sops.FormatForPath(p.Path))
	}
	for _, g := range k.SecretGenerator {
		for _, f := range g.Files {
			// KEY=PATH or PATH: the format is the key's, as in Flux.
			key, path, ok := strings.Cut(f, "=")
			if !ok {
				path, key = key, filepath.Base(key)
			}
			add(path, sops.FormatForPath(key))
		}
		for _, e := range g.envs() {
			f := sops.FormatForPath(e)
			if f == sops.Binary {
				f = sops.Dotenv
			}
			add(e, f)
		}
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			_, path, ok := strings.Cut(f, "=")
			if !ok {
				path = f
			}
			d.plain[filepath.Join(dir, path)] = true
		}
		for _, e := range g.envs() {
			d.plain[filepath.Join(dir, e)] = true
		}
	}
}

// generator is what register reads of a kustomize generator.
type generator struct {
	Files []string `json:"files"`
	Envs  []string `json:"envs"`
	Env   string   `json:"env"`
}

func (g generator) envs() []string {
	if g.Env != "" {
		return append([]string{g.Env}, g.Envs...)
	}
	return g.Envs
}

// read returns the content of the file p as the build sees it: decrypted
// when a kustomization names it where it may be encrypted and it is.
func (d *decryption) read(p string, data []byte) ([]byte, error) {
	if d == nil {
		return data, nil
	}
	p = filepath.Clean(p)
	f, ok := d.formats[p]
	if !ok || !sops.Encrypted(data, f) {
		return data, nil
	}
	if d.plain[p] {
		return nil, fmt.Errorf("%s is SOPS-encrypted and read by both a secret generator and a ConfigMap generator: strata would put its plain text in the ConfigMap; give the ConfigMap another file", d.name(p))
	}
	if d.dec == nil {
		return nil, fmt.Errorf("%s %w: add a decryption block with the key to the block", d.name(p), ErrEncrypted)
	}
	res, err := d.dec.Decrypt(d.name(p), data, f, f)
	if err != nil {
		return nil, err
	}
	d.record(manifestSecrets(res.Values))
	return res.Data, nil
}

func (d *decryption) record(values []string) {
	if d.onValue != nil && len(values) > 0 {
		d.onValue(values)
	}
}

// manifestSecrets returns the texts of the values decrypted from a
// manifest, except its apiVersion, kind and metadata: a file encrypted
// whole (sops -e without --encrypted-regex) encrypts those too, but they
// are no secret (the plan's addresses and kubectl show them), and masking
// "v1" or "ConfigMap" would blank out every object.
func manifestSecrets(values []sops.Value) []string {
	var out []string
	for _, v := range values {
		if len(v.Path) > 0 {
			switch v.Path[0] {
			case "apiVersion", "kind", "metadata":
				continue
			}
		}
		out = append(out, v.Text)
	}
	return out
}

// object decrypts what is still encrypted in a built object: the values
// of a Secret's data that are whole SOPS documents (a file a generator
// read without the build knowing it), as Flux does; without a decryptor
// they are kept as written, as in Flux. It refuses an object that is
// itself still a SOPS document.
func (d *decryption) object(u *unstructured.Unstructured) error {
	what := fmt.Sprintf("%s %s", u.GetKind(), objectName(u))
	if s, ok := u.Object["sops"].(map[string]any); ok && s["mac"] != nil {
		if d.dec == nil {
			return fmt.Errorf("%s %w: add a decryption block with the key to the block", what, ErrEncrypted)
		}
		return fmt.Errorf("%s is still SOPS-encrypted after the build: strata decrypts the files a kustomization file names as resources, patches and secret generator files; name the file there", what)
	}
	if u.GetKind() != "Secret" || u.GetAPIVersion() != "v1" {
		return nil
	}
	data, _, _ := unstructured.NestedMap(u.Object, "data")
	for key, v := range data {
		s, ok := v.(string)
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			continue // the API server reports it
		}
		in, ok := encryptedFormat(raw)
		if !ok || d.dec == nil {
			continue // without decryption, kept as written (as in Flux)
		}
		res, err := d.dec.Decrypt(fmt.Sprintf("%s data key %s", what, key), raw, in, sops.FormatForPath(key))
		if err != nil {
			return err
		}
		d.record(res.Texts())
		d.record([]string{string(res.Data)})
		data[key] = base64.StdEncoding.EncodeToString(res.Data)
	}
	if len(data) > 0 {
		return unstructured.SetNestedMap(u.Object, data, "data")
	}
	return nil
}

// encryptedFormat returns the format of a SOPS document, if raw is one.
func encryptedFormat(raw []byte) (sops.Format, bool) {
	for _, f := range []sops.Format{sops.JSON, sops.YAML, sops.Dotenv, sops.INI} {
		if sops.Encrypted(raw, f) {
			return f, true
		}
	}
	return 0, false
}

func objectName(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return ns + "/" + u.GetName()
	}
	return u.GetName()
}
