package plan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrCorrupt is returned by Read for a file that is not a saved plan, was
// truncated, or whose content does not match its checksum.
var ErrCorrupt = errors.New("saved plan is corrupt")

// fileMagic starts every saved-plan file. The header line is
//
//	strata-plan 1 sha256:<hex>\n
//
// followed by the gzip-compressed JSON of the Plan; the checksum covers the
// compressed bytes, so a flipped bit anywhere is found before decompressing.
const (
	fileMagic   = "strata-plan"
	fileVersion = "1"
	maxFileSize = 1 << 30
)

// Write writes p to w in the saved-plan format.
func Write(w io.Writer, p *Plan) error {
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
	if _, err := fmt.Fprintf(w, "%s %s sha256:%s\n", fileMagic, fileVersion, hex.EncodeToString(sum[:])); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteFile saves p to path, created with mode 0600 (the file holds the
// rendered objects, Secrets included). It writes a temporary file in the
// same directory and renames it, so a reader never sees half a plan.
func WriteFile(path string, p *Plan) (err error) {
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
	if err := Write(bw, p); err != nil {
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

// Read reads a saved plan. It returns an error wrapping ErrCorrupt when the
// header, the checksum or the payload is wrong, and an error naming both
// versions when the file was written by an incompatible strata.
func Read(r io.Reader) (*Plan, error) {
	br := bufio.NewReader(r)
	header, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: no header", ErrCorrupt)
	}
	fields := strings.Fields(header)
	if len(fields) != 3 || fields[0] != fileMagic || !strings.HasPrefix(fields[2], "sha256:") {
		return nil, fmt.Errorf("%w: not a strata plan file", ErrCorrupt)
	}
	if fields[1] != fileVersion {
		return nil, fmt.Errorf("saved plan has file format %s; this strata reads format %s", fields[1], fileVersion)
	}
	want, err := hex.DecodeString(strings.TrimPrefix(fields[2], "sha256:"))
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("%w: bad checksum in header", ErrCorrupt)
	}
	payload, err := io.ReadAll(io.LimitReader(br, maxFileSize))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], want) {
		return nil, fmt.Errorf("%w: checksum mismatch (the file was changed or truncated after it was saved)", ErrCorrupt)
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

// ReadFile reads the saved plan at path.
func ReadFile(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	p, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// IsFile reports whether path starts like a saved plan (for commands that
// take a plan file or a stack directory).
func IsFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(fileMagic)+1)
	n, _ := io.ReadFull(f, buf)
	return string(buf[:n]) == fileMagic+" "
}

func major(v string) string {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		return v[:i]
	}
	return v
}
