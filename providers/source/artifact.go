package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Artifact is the content of a source at one exact revision.
type Artifact struct {
	// Dir is the root of the artifact's directory tree. It is read-only and
	// stays valid for the life of the run that fetched it.
	Dir string
	// Revision names the exact revision, Flux style: "main@sha1:<hash>" for
	// a branch, "v1.2.0@sha1:<hash>" for a tag or semver match,
	// "refs/pull/42/head@sha1:<hash>" for a ref name and "sha1:<hash>" for
	// a bare commit.
	Revision string
	// Digest is the content digest of the tree under Dir, "sha256:<hex>",
	// as computed by DirDigest.
	Digest string
}

// DirDigest returns the content digest of the tree rooted at dir as
// "sha256:<hex>". It covers every regular file's path (slash separated,
// relative to dir), its executable bit and its content, and every symlink's
// path and target, in lexical path order; directories contribute only
// through the files they hold, and modification times are ignored, so two
// checkouts of the same tree have the same digest.
func DirDigest(dir string) (string, error) {
	type entry struct {
		rel  string
		path string
		mode fs.FileMode
	}
	var entries []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		entries = append(entries, entry{rel: filepath.ToSlash(rel), path: p, mode: info.Mode()})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digest of %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })

	h := sha256.New()
	for _, e := range entries {
		switch {
		case e.mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(e.path)
			if err != nil {
				return "", fmt.Errorf("digest of %s: %w", dir, err)
			}
			fmt.Fprintf(h, "link %s\x00%s\x00", e.rel, target)
		case e.mode.IsRegular():
			kind := "file"
			if e.mode&0o111 != 0 {
				kind = "exec"
			}
			f, err := os.Open(e.path)
			if err != nil {
				return "", fmt.Errorf("digest of %s: %w", dir, err)
			}
			fh := sha256.New()
			n, err := io.Copy(fh, f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("digest of %s: %w", dir, err)
			}
			fmt.Fprintf(h, "%s %s\x00%s\x00%x\x00", kind, e.rel, strconv.FormatInt(n, 10), fh.Sum(nil))
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// RedactURL returns rawURL with any password in its user info replaced by
// "xxxxx" (as url.URL.Redacted does), for use in errors, logs and plans. A URL that does not parse is
// returned with everything before the last '@' of its authority masked.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		if err != nil {
			if i := strings.Index(rawURL, "://"); i >= 0 {
				rest := rawURL[i+3:]
				if at := strings.LastIndex(rest, "@"); at >= 0 {
					return rawURL[:i+3] + "***" + rest[at:]
				}
			}
		}
		return rawURL
	}
	return u.Redacted()
}
