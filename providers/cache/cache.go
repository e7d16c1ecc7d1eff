package cache

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/strata-gitops/strata/internal/confine"
)

// DefaultDir is the cache directory used when Options.Dir is empty,
// relative to the working directory.
const DefaultDir = ".strata/cache"

// Defaults for Options.
const (
	DefaultMaxBytes = 4 << 30
	DefaultMinAge   = time.Hour
)

// Options configure a Cache. The zero value is usable.
type Options struct {
	// Dir is the cache root. Default DefaultDir.
	Dir string
	// MaxBytes bounds the total size of all entries. Zero means
	// DefaultMaxBytes; a negative value disables the bound.
	MaxBytes int64
	// MinAge protects entries used more recently than this from pruning.
	// Zero means DefaultMinAge.
	MinAge time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Secret, when set, authenticates what the cache holds: each entry's
	// metadata and each file carries an HMAC-SHA256 under it, and what
	// lacks a valid one (a cache committed to a stack's repository, or
	// written with another secret) counts as absent and is replaced.
	// Keep it outside the cache directory.
	Secret []byte
}

// Cache is an on-disk artifact cache. See the package documentation.
type Cache struct {
	root     string
	maxBytes int64
	minAge   time.Duration
	now      func() time.Time
	secret   []byte
}

// Entry is one immutable cached directory tree.
type Entry struct {
	// Key is the key the entry was stored under.
	Key string `json:"key"`
	// Dir is the entry's content directory. Treat it as read-only.
	Dir string `json:"-"`
	// Meta is what the provider stored with the entry (revision, digest...).
	Meta map[string]string `json:"meta,omitempty"`
	// Size is the total size in bytes of the regular files under Dir.
	Size int64 `json:"size"`
	// Created is when the entry was published.
	Created time.Time `json:"created"`
	// Tree is a digest of the content under Dir (names, modes, links and
	// file contents), set when the cache has a secret.
	Tree string `json:"tree,omitempty"`
	// MAC authenticates the fields above (see Options.Secret).
	MAC string `json:"mac,omitempty"`
}

// Open returns the cache rooted at opts.Dir, creating the directory if
// needed.
func Open(opts Options) (*Cache, error) {
	c := &Cache{root: opts.Dir, maxBytes: opts.MaxBytes, minAge: opts.MinAge, now: opts.Now, secret: opts.Secret}
	if c.root == "" {
		c.root = DefaultDir
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.minAge == 0 {
		c.minAge = DefaultMinAge
	}
	if c.now == nil {
		c.now = time.Now
	}
	abs, err := filepath.Abs(c.root)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", c.root, err)
	}
	c.root = abs
	for _, d := range []string{"entries", "files", "tmp", "lock"} {
		if err := confine.NoLinks(c.root, filepath.Join(c.root, d)); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	for _, d := range []string{"entries", "files", "tmp"} {
		if err := os.MkdirAll(filepath.Join(c.root, d), 0o755); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	return c, nil
}

// Dir returns the absolute cache root.
func (c *Cache) Dir() string { return c.root }

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func (c *Cache) entryPath(key string) string {
	return filepath.Join(c.root, "entries", hashKey(key))
}

// Get returns the entry stored under key and marks it used. ok is false
// when there is no such entry.
func (c *Cache) Get(key string) (e *Entry, ok bool, err error) {
	// A shared lock orders this lookup against Prune, which holds the
	// lock exclusively while it picks and moves away entries: an entry
	// found here has been marked used before Prune looks at it again.
	unlock, _, err := flock(c.lockPath(), false, true)
	if err != nil {
		return nil, false, fmt.Errorf("cache lock: %w", err)
	}
	defer unlock()
	p := c.entryPath(key)
	e, err = readMeta(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache entry %s: %w", key, err)
	}
	if e.Key != key {
		return nil, false, fmt.Errorf("cache entry %s: stored under key %q (hash collision or corruption)", p, e.Key)
	}
	if !c.trusted(e) {
		return nil, false, nil // not written by this cache: Put replaces it
	}
	now := c.now()
	_ = os.Chtimes(filepath.Join(p, "meta.json"), now, now) // best effort: only affects pruning order
	return e, true, nil
}

func (c *Cache) lockPath() string { return filepath.Join(c.root, "lock") }

// readMeta reads the entry in directory p. Neither p nor its files may be
// symbolic links: a cache committed to a stack's repository could hold
// links leading anywhere.
func readMeta(p string) (*Entry, error) {
	root := filepath.Dir(p)
	for _, name := range []string{"meta.json", "data"} {
		if err := confine.NoLinks(root, filepath.Join(p, name)); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(filepath.Join(p, "meta.json"))
	if err != nil {
		return nil, err
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	e.Dir = filepath.Join(p, "data")
	return &e, nil
}

// Put builds an entry under key: fill writes the content into an empty
// directory, and the result is published atomically with meta. If another
// process published the same key first, Put returns that entry and discards
// its own copy. After publishing, Put prunes the cache (best effort).
// Put does not overwrite an existing entry; keys must name
// immutable content.
func (c *Cache) Put(key string, meta map[string]string, fill func(dir string) error) (*Entry, error) {
	if e, ok, err := c.Get(key); err == nil && ok {
		return e, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(c.root, "tmp"), "put-")
	if err != nil {
		return nil, fmt.Errorf("cache put: %w", err)
	}
	defer os.RemoveAll(tmp)
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, fmt.Errorf("cache put: %w", err)
	}
	if err := fill(data); err != nil {
		return nil, err
	}
	size, err := treeSize(data)
	if err != nil {
		return nil, fmt.Errorf("cache put: %w", err)
	}
	e := &Entry{Key: key, Meta: meta, Size: size, Created: c.now().UTC()}
	if c.secret != nil {
		if e.Tree, err = treeDigest(data); err != nil {
			return nil, fmt.Errorf("cache put: %w", err)
		}
	}
	e.MAC = c.mac("entry", e.signed())
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("cache put: %w", err)
	}
	metaPath := filepath.Join(tmp, "meta.json")
	if err := os.WriteFile(metaPath, b, 0o644); err != nil {
		return nil, fmt.Errorf("cache put: %w", err)
	}
	// The meta file's mtime records the last use (see Get and Prune).
	if err := os.Chtimes(metaPath, e.Created, e.Created); err != nil {
		return nil, fmt.Errorf("cache put: %w", err)
	}
	dst := c.entryPath(key)
	for attempt := 0; ; attempt++ {
		c.discardForged(dst)
		err := os.Rename(tmp, dst)
		if err == nil {
			break
		}
		// Lost a race with another writer: theirs is as good as ours.
		if e, ok, gerr := c.Get(key); gerr == nil && ok {
			return e, nil
		}
		// Theirs was pruned between our rename and Get (another
		// process's Prune): the place is free again, so try once more.
		if attempt == 2 {
			return nil, fmt.Errorf("cache put: %w", err)
		}
	}
	e.Dir = filepath.Join(dst, "data")
	if c.maxBytes > 0 {
		// Best effort: a failed prune leaves the cache larger than
		// wanted but does not fail the caller, whose entry is in place.
		_, _ = c.Prune()
	}
	return e, nil
}

func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// Prune removes least recently used entries until the total size is at
// most MaxBytes, skipping entries used within MinAge, and removes temporary
// directories left behind by crashed runs. It returns how many entries it
// removed. When another process is pruning, Prune returns at once.
func (c *Cache) Prune() (int, error) {
	unlock, ok, err := flock(c.lockPath(), true, false)
	if err != nil || !ok {
		return 0, err
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()

	now := c.now()
	c.cleanTmp(now)
	if c.maxBytes < 0 {
		return 0, nil
	}
	dirs, err := os.ReadDir(filepath.Join(c.root, "entries"))
	if err != nil {
		return 0, err
	}
	type item struct {
		path string
		used time.Time
		size int64
	}
	var items []item
	var total int64
	for _, d := range dirs {
		p := filepath.Join(c.root, "entries", d.Name())
		info, err := os.Stat(filepath.Join(p, "meta.json"))
		if err != nil {
			continue // broken or half-removed: ignore
		}
		e, err := readMeta(p)
		if err != nil {
			continue
		}
		items = append(items, item{path: p, used: info.ModTime(), size: e.Size})
		total += e.Size
	}
	sort.Slice(items, func(i, j int) bool { return items[i].used.Before(items[j].used) })
	var trash []string
	for _, it := range items {
		if total <= c.maxBytes || now.Sub(it.used) < c.minAge {
			break // within bounds, or everything after this is newer still
		}
		// Rename first so readers never see a half-deleted entry under
		// its key; delete after releasing the lock.
		t := filepath.Join(c.root, "tmp", "del-"+filepath.Base(it.path))
		if err := os.Rename(it.path, t); err != nil {
			continue
		}
		trash = append(trash, t)
		total -= it.size
	}
	unlock()
	locked = false
	for _, t := range trash {
		if err := os.RemoveAll(t); err != nil {
			return len(trash), err
		}
	}
	return len(trash), nil
}

// cleanTmp removes temporary directories older than a day: leftovers of
// processes that died while filling an entry.
func (c *Cache) cleanTmp(now time.Time) {
	dirs, err := os.ReadDir(filepath.Join(c.root, "tmp"))
	if err != nil {
		return
	}
	for _, d := range dirs {
		info, err := d.Info()
		if err != nil || now.Sub(info.ModTime()) < 24*time.Hour {
			continue
		}
		_ = os.RemoveAll(filepath.Join(c.root, "tmp", d.Name()))
	}
}

func (c *Cache) filePath(key string) string {
	return filepath.Join(c.root, "files", hashKey(key))
}

// ReadFile returns the mutable file stored under key. The error wraps
// fs.ErrNotExist when there is none.
func (c *Cache) ReadFile(key string) ([]byte, error) {
	if err := confine.NoLinks(c.root, c.filePath(key)); err != nil {
		return nil, fmt.Errorf("cache file %s: %w", key, err)
	}
	b, err := os.ReadFile(c.filePath(key))
	if err != nil {
		return nil, fmt.Errorf("cache file %s: %w", key, err)
	}
	if c.secret == nil {
		return b, nil
	}
	sum, data, ok := bytes.Cut(b, []byte("\n"))
	if !ok || !hmac.Equal(sum, []byte(c.mac("file", []byte(key+"\x00"), data))) {
		return nil, fmt.Errorf("cache file %s: not written by this cache: %w", key, fs.ErrNotExist)
	}
	return data, nil
}

// WriteFile atomically replaces the mutable file stored under key.
func (c *Cache) WriteFile(key string, data []byte) error {
	f, err := os.CreateTemp(filepath.Join(c.root, "tmp"), "file-")
	if err != nil {
		return fmt.Errorf("cache write %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	if c.secret != nil {
		data = append([]byte(c.mac("file", []byte(key+"\x00"), data)+"\n"), data...)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cache write %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cache write %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), c.filePath(key)); err != nil {
		return fmt.Errorf("cache write %s: %w", key, err)
	}
	return nil
}

// mac returns the HMAC-SHA256 of kind and parts under the secret, hex
// encoded; "" without a secret.
func (c *Cache) mac(kind string, parts ...[]byte) string {
	if c.secret == nil {
		return ""
	}
	h := hmac.New(sha256.New, c.secret)
	h.Write([]byte(kind + "\x00"))
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// signed returns the fields of e that its MAC covers.
func (e *Entry) signed() []byte {
	b, _ := json.Marshal(Entry{Key: e.Key, Meta: e.Meta, Size: e.Size, Created: e.Created.UTC(), Tree: e.Tree})
	return b
}

// trusted reports whether e was stored by a cache with this secret and
// its content is as stored: a checkout can also add files to an existing
// entry's directory.
func (c *Cache) trusted(e *Entry) bool {
	if c.secret == nil {
		return true
	}
	if !hmac.Equal([]byte(e.MAC), []byte(c.mac("entry", e.signed()))) {
		return false
	}
	tree, err := treeDigest(e.Dir)
	return err == nil && tree == e.Tree
}

// discardForged moves the entry at dst out of the way when it is not
// trusted (see Options.Secret), so that Put can publish its own.
func (c *Cache) discardForged(dst string) {
	e, err := readMeta(dst)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && c.trusted(e)) {
		return
	}
	t, err := os.MkdirTemp(filepath.Join(c.root, "tmp"), "del-")
	if err != nil {
		return
	}
	if os.Rename(dst, filepath.Join(t, "entry")) == nil {
		_ = os.RemoveAll(t)
	}
}

// treeDigest returns a SHA-256 digest of the tree under dir: each entry's
// path and type, a regular file's executable bit and content, a link's
// target (not followed).
func treeDigest(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %v\n", filepath.ToSlash(rel), d.Type())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "-> %q\n", target)
		case d.Type().IsRegular():
			return hashFile(h, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "x=%v %d\n", fi.Mode()&0o111 != 0, fi.Size())
	_, err = io.Copy(h, f)
	return err
}
