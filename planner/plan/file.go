package plan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/strata-gitops/strata/state/crypt"
)

// ErrCorrupt is returned by Read for a file that is not a saved plan, was
// truncated, or whose content does not match its checksum.
var ErrCorrupt = errors.New("saved plan is corrupt")

// ErrSignature is returned by Key.Read, for a non-zero Key, when the saved
// plan carries no signature or one that this key did not make.
var ErrSignature = errors.New("saved plan signature is not valid")

// fileMagic starts every saved-plan file. The header line is
//
//	strata-plan 1 sha256:<hex>[ hmac-sha256:<hex>]\n
//
// followed by the gzip-compressed JSON of the Plan; the checksum covers the
// compressed bytes, so a flipped bit anywhere is found before decompressing.
// The checksum only detects damage: whoever can edit the file can compute
// it again. The optional signature, an HMAC-SHA256 of the same bytes with
// a secret key, detects changes by anyone who does not hold the key.
const (
	fileMagic   = "strata-plan"
	fileVersion = "1"
	sumPrefix   = "sha256:"
	macPrefix   = "hmac-sha256:"
	maxFileSize = 1 << 30
	// MinKeySize is the shortest secret NewKey accepts, in bytes.
	MinKeySize = 32
)

// Key signs saved plans when they are written and requires a valid
// signature when they are read. The zero Key signs nothing and ignores
// signatures: Write, Read, WriteFile and ReadFile use it.
type Key struct {
	secret []byte
	// enc, when set, encrypts the whole file with age (see
	// WithEncryption).
	enc *crypt.Key
}

// WithEncryption returns k that also encrypts the plans it writes, whole,
// with enc (age), and reads only plans encrypted with it: a plan that is
// not encrypted is refused with an error wrapping crypt.ErrNotEncrypted,
// one encrypted with another key with crypt.ErrWrongKey. A nil enc
// encrypts nothing, and an encrypted plan is refused with crypt.ErrNoKey.
func (k Key) WithEncryption(enc *crypt.Key) Key {
	k.enc = enc
	return k
}

// IsEncryptedFile reports whether the file at path is an encrypted saved
// plan (an age file).
func IsEncryptedFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	return crypt.IsEncrypted(head[:n])
}

// NewKey returns a Key for secret, which must be at least MinKeySize bytes
// (for example 64 hex digits of random data).
func NewKey(secret []byte) (Key, error) {
	if len(secret) < MinKeySize {
		return Key{}, fmt.Errorf("plan signing key is too short: %d bytes, want at least %d (random, e.g. openssl rand -hex 32)", len(secret), MinKeySize)
	}
	return Key{secret: bytes.Clone(secret)}, nil
}

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return len(k.secret) == 0 }

func (k Key) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write(payload)
	return m.Sum(nil)
}

// Write writes p to w in the saved-plan format, without a signature.
func Write(w io.Writer, p *Plan) error { return Key{}.Write(w, p) }

// Write writes p to w in the saved-plan format, signed unless k is zero.
func (k Key) Write(w io.Writer, p *Plan) error {
	if k.enc == nil {
		return k.writePlain(w, p)
	}
	var buf bytes.Buffer
	if err := k.writePlain(&buf, p); err != nil {
		return err
	}
	b, err := k.enc.Encrypt(buf.Bytes())
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// writePlain writes p to w unencrypted.
func (k Key) writePlain(w io.Writer, p *Plan) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress plan: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	header := fmt.Sprintf("%s %s %s%s", fileMagic, fileVersion, sumPrefix, hex.EncodeToString(sum[:]))
	if !k.IsZero() {
		header += " " + macPrefix + hex.EncodeToString(k.sign(buf.Bytes()))
	}
	if _, err := io.WriteString(w, header+"\n"); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteFile saves p to path, created with mode 0600 (the file holds the
// rendered objects, Secrets included), without a signature. It writes a
// temporary file in the same directory and renames it, so a reader never
// sees half a plan.
func WriteFile(path string, p *Plan) error { return Key{}.WriteFile(path, p) }

// WriteFile is the package's WriteFile, signed unless k is zero.
func (k Key) WriteFile(path string, p *Plan) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".strata-plan-*")
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := k.Write(bw, p); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

// Read reads a saved plan, ignoring a signature. It returns an error
// wrapping ErrCorrupt when the header, the checksum or the payload is
// wrong, and an error naming both versions when the file was written by an
// incompatible strata.
func Read(r io.Reader) (*Plan, error) { return Key{}.Read(r) }

// Read is the package's Read; unless k is zero, it also requires the
// signature of k and returns an error wrapping ErrSignature without it.
func (k Key) Read(r io.Reader) (*Plan, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len("age-encryption.org/"))
	switch encrypted := crypt.IsEncrypted(head); {
	case encrypted && k.enc == nil:
		return nil, fmt.Errorf("saved plan is %w: run strata in the stack directory whose strata { encryption } block holds its key", crypt.ErrNoKey)
	case encrypted:
		b, err := io.ReadAll(io.LimitReader(br, maxFileSize))
		if err != nil {
			return nil, fmt.Errorf("read plan: %w", err)
		}
		plain, err := k.enc.Decrypt(b)
		if err != nil {
			return nil, fmt.Errorf("saved plan is encrypted, and %w", err)
		}
		return k.readPlain(bytes.NewReader(plain))
	case k.enc != nil:
		return nil, fmt.Errorf("saved plan is %w: make it again with strata plan --out, which encrypts it", crypt.ErrNotEncrypted)
	}
	return k.readPlain(br)
}

// readPlain reads an unencrypted saved plan.
func (k Key) readPlain(r io.Reader) (*Plan, error) {
	br := bufio.NewReader(r)
	header, err := br.ReadString('\n')
	switch {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: no header line (the file is empty, damaged, or not a strata plan)", ErrCorrupt)
	case err != nil:
		return nil, fmt.Errorf("read plan: %w", err)
	}
	fields := strings.Fields(header)
	if len(fields) < 3 || len(fields) > 4 || fields[0] != fileMagic || !strings.HasPrefix(fields[2], sumPrefix) {
		return nil, fmt.Errorf("%w: not a strata plan file (damaged, or not written by strata plan --out)", ErrCorrupt)
	}
	if fields[1] != fileVersion {
		return nil, fmt.Errorf("saved plan has file format %s; this strata reads format %s", fields[1], fileVersion)
	}
	want, err := hex.DecodeString(strings.TrimPrefix(fields[2], sumPrefix))
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("%w: bad checksum in header", ErrCorrupt)
	}
	var mac []byte
	if len(fields) == 4 {
		mac, err = hex.DecodeString(strings.TrimPrefix(fields[3], macPrefix))
		if err != nil || !strings.HasPrefix(fields[3], macPrefix) || len(mac) != sha256.Size {
			return nil, fmt.Errorf("%w: bad signature in header", ErrCorrupt)
		}
	}
	payload, err := io.ReadAll(io.LimitReader(br, maxFileSize))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], want) {
		return nil, fmt.Errorf("%w: checksum mismatch (the file was changed or truncated after it was saved)", ErrCorrupt)
	}
	if err := k.verify(payload, mac); err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var p Plan
	dec := json.NewDecoder(zr)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if major(p.FormatVersion) != major(FormatVersion) {
		return nil, fmt.Errorf("saved plan has format version %s; this strata reads %s", p.FormatVersion, FormatVersion)
	}
	return &p, nil
}

// verify checks the signature mac of payload; the zero Key accepts any.
func (k Key) verify(payload, mac []byte) error {
	switch {
	case k.IsZero():
		return nil
	case mac == nil:
		return fmt.Errorf("%w: the plan is not signed, and a signing key is configured: make the plan with the same key", ErrSignature)
	case !hmac.Equal(mac, k.sign(payload)):
		return fmt.Errorf("%w: the plan was changed after it was signed, or signed with another key", ErrSignature)
	}
	return nil
}

// ReadFile reads the saved plan at path, ignoring a signature.
func ReadFile(path string) (*Plan, error) { return Key{}.ReadFile(path) }

// ReadFile is the package's ReadFile with the signature check of Key.Read.
func (k Key) ReadFile(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	p, err := k.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func major(v string) string {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		return v[:i]
	}
	return v
}
