package sops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	gosops "github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/cmd/sops/codes"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
)

// Format is the format of a SOPS document.
type Format = formats.Format

// The formats SOPS reads, as the sops command names them.
const (
	Binary = formats.Binary
	Dotenv = formats.Dotenv
	INI    = formats.Ini
	JSON   = formats.Json
	YAML   = formats.Yaml
)

// FormatForPath returns the format SOPS assumes for a file name: by its
// extension (.yaml, .yml, .json, .env, .ini), else binary. A name ending
// in .dockerconfigjson is JSON, as in Flux.
func FormatForPath(name string) Format {
	if strings.HasSuffix(name, ".dockerconfigjson") {
		return JSON
	}
	return formats.FormatForPath(name)
}

var (
	yamlMarker   = regexp.MustCompile(`(?m)^sops:\s*$`)
	dotenvMarker = regexp.MustCompile(`(?m)^sops_mac=ENC\[`)
	iniMarker    = regexp.MustCompile(`(?m)^\[sops\]\s*$`)
)

// Encrypted reports whether data is a SOPS-encrypted document of format
// f: it has SOPS's metadata at the top level (a sops key in YAML and JSON,
// sops_* entries in dotenv, a [sops] section in INI). A SOPS document
// quoted inside another (a block scalar of a ConfigMap) is not one.
func Encrypted(data []byte, f Format) bool {
	switch f {
	case YAML:
		return yamlMarker.Match(data) && bytes.Contains(data, []byte("mac: ENC["))
	case Dotenv:
		return dotenvMarker.Match(data)
	case INI:
		return iniMarker.Match(data)
	default: // JSON, and binary files, which SOPS keeps as JSON
		var doc struct {
			Sops *struct {
				MAC string `json:"mac"`
			} `json:"sops"`
		}
		return json.Unmarshal(data, &doc) == nil && doc.Sops != nil && strings.HasPrefix(doc.Sops.MAC, "ENC[")
	}
}

// Decryptor decrypts SOPS documents with a fixed set of keys. It is safe
// for concurrent use.
type Decryptor struct {
	keys    *keyServer
	service []keyservice.KeyServiceClient
}

// New returns a decryptor with keys. It fails when a key does not parse;
// the error names the key, never its value.
func New(keys Keys) (*Decryptor, error) {
	ks, err := newKeyServer(keys)
	if err != nil {
		return nil, err
	}
	return &Decryptor{keys: ks, service: []keyservice.KeyServiceClient{keyservice.NewCustomLocalClient(ks)}}, nil
}

// Result is a decrypted document.
type Result struct {
	// Data is the document in plain text, in the output format.
	Data []byte
	// Values are the encrypted values with their plain texts, to keep out
	// of every output. Values that SOPS left in clear
	// (unencrypted_suffix, encrypted_regex) are not among them.
	Values []Value
}

// Value is a value SOPS decrypted.
type Value struct {
	// Path is the value's place in the document: the keys from the top,
	// e.g. ["stringData", "password"] (list items add no key).
	Path []string
	// Text is the plain text (numbers and booleans as text).
	Text string
}

// Texts returns the plain texts of the values.
func (r *Result) Texts() []string {
	out := make([]string, len(r.Values))
	for i, v := range r.Values {
		out[i] = v.Text
	}
	return out
}

// Decrypt decrypts data, a SOPS document in format in, checks its
// integrity (the MAC) and returns it in format out. name is the document's
// name in errors (a file name); errors never hold a decrypted value.
func (d *Decryptor) Decrypt(name string, data []byte, in, out Format) (res *Result, err error) {
	defer func() {
		// SOPS's stores panic on some malformed input (as Flux found).
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("%s: not a valid SOPS document", name)
		}
	}()
	store := common.StoreForFormat(in, config.NewStoresConfig())
	tree, err := store.LoadEncryptedFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid SOPS document: %s", name, userError(err))
	}
	rec := &recorder{cipher: aes.NewCipher(), mac: tree.Metadata.LastModified.Format(time.RFC3339)}
	_, err = common.DecryptTree(common.DecryptTreeOpts{
		Tree: &tree, KeyServices: d.service, DecryptionOrder: gosops.DefaultDecryptionOrder, Cipher: rec,
	})
	if err != nil {
		return nil, d.decryptError(name, &tree, err)
	}
	plain, err := common.StoreForFormat(out, config.NewStoresConfig()).EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, fmt.Errorf("%s: decrypted, but cannot be written as %s: %s", name, formatName(out), userError(err))
	}
	return &Result{Data: plain, Values: rec.values}, nil
}

// decryptError explains why the tree of document name did not decrypt:
// no key opens it (naming the recipients it is encrypted for and the keys
// at hand), or its MAC does not match (it was changed after encryption).
func (d *Decryptor) decryptError(name string, tree *gosops.Tree, err error) error {
	// DecryptTree's errors are the sops command's: exit errors with its
	// exit codes.
	var exit interface{ ExitCode() int }
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	}
	switch code {
	case codes.CouldNotRetrieveKey:
		return fmt.Errorf("%s: %w: it is encrypted for %s; the decryption keys are %s",
			name, ErrNoKey, recipients(tree), d.keys.describe())
	case codes.MacMismatch:
		return fmt.Errorf("%s: %w: the file was changed after it was encrypted (its MAC does not match its content); restore it, or edit it with sops so that sops computes the MAC again",
			name, ErrTampered)
	}
	return fmt.Errorf("%s: %w: a value does not decrypt with the file's data key (the file was changed after it was encrypted)", name, ErrTampered)
}

// ErrEncrypted is wrapped by errors for a SOPS-encrypted file that is read
// without a decryption configured.
var ErrEncrypted = errors.New("is SOPS-encrypted")

// ErrNoKey is wrapped by Decrypt errors when none of the keys can decrypt
// the document's data key.
var ErrNoKey = errors.New("no decryption key opens it")

// ErrTampered is wrapped by Decrypt errors when the document does not
// match what was encrypted: its MAC or a value does not verify.
var ErrTampered = errors.New("integrity check failed")

// recipients lists the master keys a tree is encrypted for.
func recipients(tree *gosops.Tree) string {
	var out []string
	for _, g := range tree.Metadata.KeyGroups {
		for _, k := range g {
			out = append(out, k.TypeToIdentifier()+" "+k.ToString())
		}
	}
	if len(out) == 0 {
		return "no key"
	}
	return strings.Join(out, ", ")
}

// userError returns SOPS's message for users when err has one.
func userError(err error) string {
	var ue gosops.UserError
	if errors.As(err, &ue) {
		return strings.TrimSpace(ue.UserError())
	}
	return err.Error()
}

func formatName(f Format) string {
	switch f {
	case YAML:
		return "YAML"
	case JSON:
		return "JSON"
	case Dotenv:
		return "dotenv"
	case INI:
		return "INI"
	}
	return "binary"
}

// recorder is SOPS's cipher, recording the plain text of every value it
// decrypts except the MAC's.
type recorder struct {
	cipher gosops.Cipher
	mac    string // the additional data of the MAC: the last modified time
	values []Value
}

func (r *recorder) Encrypt(plaintext any, key []byte, additionalData string) (string, error) {
	return "", errors.New("sops: encryption is not supported")
}

func (r *recorder) Decrypt(ciphertext string, key []byte, additionalData string) (any, error) {
	v, err := r.cipher.Decrypt(ciphertext, key, additionalData)
	if err != nil || additionalData == r.mac {
		return v, err
	}
	// SOPS authenticates each value with its path, "key:key:".
	path := strings.Split(strings.TrimSuffix(additionalData, ":"), ":")
	switch t := v.(type) {
	case string:
		r.values = append(r.values, Value{Path: path, Text: t})
	case []byte:
		r.values = append(r.values, Value{Path: path, Text: string(t)})
	case nil:
	default:
		r.values = append(r.values, Value{Path: path, Text: fmt.Sprint(t)})
	}
	return v, nil
}
