package kustomize

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/strata-gitops/strata/internal/jsonvalue"
)

// Cache keeps, on disk, the last render of each kustomization, so that a
// plan or drift check of a tree that did not change since the last one
// reads the objects instead of rendering them again. Each render is kept
// in a slot the caller names (one per kustomization: the slot is
// overwritten, so the cache does not grow with the revisions rendered),
// with the digest of every input: the options, the strata binary, the
// source tree's root and directory, and every file system test, directory
// listing and file the render made (a file's content by its SHA-256; a
// listing by the names and types of the entries, see listing). A lookup
// checks them all again, and any difference is a miss: a cached render is
// never stale. For a directory without a kustomization file, whose
// generated kustomization takes every manifest below it, the listings of
// the directories walked make a file added, removed or renamed a miss.
//
// Only the renders of the plain and the generated path are kept (see
// plainResources and generatedResources: their every read goes through
// file systems that Cache records), and never a render that decrypts
// (Options.Decryptor set): decrypted values stay in memory. A Cache is
// safe for concurrent use; two processes writing the same slot each
// replace it whole.
//
// Every entry carries an HMAC under the cache's secret: the directory may
// have been committed by a pull request, with entries whose inputs match
// the tree and whose objects do not. An entry without a valid HMAC, or a
// slot that is not a regular file, is a miss.
type Cache struct {
	dir    string
	secret []byte
	hits   atomic.Int64 // lookups served (tests)
}

// NewCache returns the cache kept in dir (created on the first write),
// whose entries are authenticated with secret (kept outside every stack;
// see the artifact cache's). Without a secret nothing is cached.
func NewCache(dir string, secret []byte) *Cache { return &Cache{dir: dir, secret: secret} }

// mac returns the hex HMAC-SHA256 of data under the cache's secret.
func (c *Cache) mac(data []byte) []byte {
	h := hmac.New(sha256.New, c.secret)
	h.Write([]byte(cacheFormat))
	h.Write(data)
	return []byte(hex.EncodeToString(h.Sum(nil)))
}

// cacheFormat changes when the entry's layout or meaning does.
const cacheFormat = "strata-render-2"

// cacheEntry is the head of the file of one slot. The file is the HMAC
// of the rest (hex) and a newline, then this head as JSON and a newline,
// then the JSON of each object and a newline: no object is scanned as
// part of the head, and each is decoded once, by jsonvalue.DecodeObject (see get).
type cacheEntry struct {
	// Inputs is the digest of the options, the binary and the paths.
	Inputs string `json:"inputs"`
	// Reads are the file system calls of the render, in order.
	Reads []fsCall `json:"reads"`
	// Objects is how many objects follow.
	Objects int `json:"objects"`
}

// fsCall is one file system call of a render and its result: Exists and
// IsDir report a boolean, ReadFile the SHA-256 of the content, a walk's
// entry into a directory ("list") the digest of its listing, and the
// check for strata's own directory ("strata", see holdsStrataDir) a
// boolean.
type fsCall struct {
	Op     string `json:"op"`
	Path   string `json:"path"`
	Result string `json:"result"`
}

// cacheable reports whether a Build with o may use its Cache.
func (o Options) cacheable() bool {
	return o.Cache != nil && o.CacheSlot != "" && o.Decryptor == nil && o.plain() && !o.noPlain
}

// inputs returns the digest of what a render depends on besides the
// files: the options that change the objects, the binary, the root and
// the directory built.
func (o Options) inputs(root, dir string) string {
	in := struct {
		Format, Binary, Root, Dir string
		Substitute                map[string]string
		Strict                    bool
		Labels, Annotations       map[string]string
	}{cacheFormat, binaryIdentity(), root, dir, o.Substitute, o.StrictSubstitute, o.CommonLabels, o.CommonAnnotations}
	b, _ := json.Marshal(in) // maps marshal with sorted keys
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var binaryOnce = sync.OnceValue(func() string {
	id := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		id = bi.Main.Path + "@" + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				id += " " + s.Key + "=" + s.Value
			}
		}
	}
	// A development build keeps its version across changes of the code:
	// the executable's size and time tell them apart.
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			id += fmt.Sprintf(" %s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return id
})

// binaryIdentity names the strata binary that renders: a new build may
// render differently.
func binaryIdentity() string { return binaryOnce() }

func (c *Cache) path(slot string) string {
	s := sha256.Sum256([]byte(slot))
	return filepath.Join(c.dir, hex.EncodeToString(s[:16])+".json")
}

// get returns the objects of slot when its inputs are inputs and every
// recorded call on fs gives the recorded result.
func (c *Cache) get(slot, inputs string, fs filesys.FileSystem) ([]*unstructured.Unstructured, bool) {
	if len(c.secret) == 0 {
		return nil, false
	}
	p := c.path(slot)
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	file, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	sum, data, ok := bytes.Cut(file, []byte("\n"))
	if !ok || !hmac.Equal(sum, c.mac(data)) {
		return nil, false
	}
	head, rest, ok := bytes.Cut(data, []byte("\n"))
	var e cacheEntry
	if !ok || json.Unmarshal(head, &e) != nil || e.Inputs != inputs {
		return nil, false
	}
	for _, r := range e.Reads {
		if call(fs, r.Op, r.Path) != r.Result {
			return nil, false
		}
	}
	out := make([]*unstructured.Unstructured, 0, e.Objects)
	var dec jsonvalue.Decoder // the objects share their keys
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		m, err := dec.DecodeObject(line)
		if err != nil {
			return nil, false
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	if len(out) != e.Objects {
		return nil, false
	}
	c.hits.Add(1)
	return out, true
}

// put replaces the entry of slot. Errors are ignored: it is only a cache.
func (c *Cache) put(slot, inputs string, reads []fsCall, objs []*unstructured.Unstructured) {
	if len(c.secret) == 0 {
		return
	}
	data, err := json.Marshal(cacheEntry{Inputs: inputs, Reads: reads, Objects: len(objs)})
	if err != nil {
		return
	}
	data = append(data, '\n')
	for _, o := range objs {
		// JSON has no newline but escaped in a string.
		if data, err = jsonvalue.Append(data, o.Object); err != nil {
			return
		}
		data = append(data, '\n')
	}
	if os.MkdirAll(c.dir, 0o700) != nil {
		return
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(append(append(c.mac(data), '\n'), data...))
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), c.path(slot)) != nil {
		_ = os.Remove(f.Name())
	}
}

// call makes the file system call op on path and returns its result as
// recorded in an fsCall.
func call(fsys filesys.FileSystem, op, path string) string {
	switch op {
	case "exists":
		return fmt.Sprint(fsys.Exists(path))
	case "isdir":
		return fmt.Sprint(fsys.IsDir(path))
	case "list":
		return listing(path)
	case "strata":
		return fmt.Sprint(holdsStrataDir(path))
	case "read":
		data, err := fsys.ReadFile(path)
		if err != nil {
			return "error"
		}
		s := sha256.Sum256(data)
		return hex.EncodeToString(s[:])
	}
	return "unknown op " + op
}

// callLog collects the file system calls of one render, in order, for
// the cache. kept is set once a render that the calls decide took the
// tree: the plain path, or the generated one (see render).
type callLog struct {
	mu    sync.Mutex
	calls []fsCall
	kept  bool
}

// record appends a call; a nil log records nothing.
func (l *callLog) record(op, path, result string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fsCall{Op: op, Path: path, Result: result})
}

// keep marks the calls as deciding the render; a nil log ignores it.
func (l *callLog) keep() {
	if l != nil {
		l.kept = true
	}
}

// recordingFS records in log the calls that the plain and the generated
// path make (Exists, IsDir, ReadFile and Walk: they make no other) and
// their results.
type recordingFS struct {
	filesys.FileSystem
	log *callLog
}

func (r *recordingFS) Exists(p string) bool {
	ok := r.FileSystem.Exists(p)
	r.log.record("exists", p, fmt.Sprint(ok))
	return ok
}

func (r *recordingFS) IsDir(p string) bool {
	ok := r.FileSystem.IsDir(p)
	r.log.record("isdir", p, fmt.Sprint(ok))
	return ok
}

func (r *recordingFS) ReadFile(p string) ([]byte, error) {
	data, err := r.FileSystem.ReadFile(p)
	if err != nil {
		r.log.record("read", p, "error")
		return nil, err
	}
	s := sha256.Sum256(data)
	r.log.record("read", p, hex.EncodeToString(s[:]))
	return bytes.Clone(data), nil
}

// Walk records the listing of every directory the walk enters (see
// listing), before the calls walkFn makes below it: the listings and
// those calls decide every path walkFn sees, and so what a walk of the
// same tree finds (a directory without a kustomization file: adding,
// removing or renaming a file anywhere below it changes a listing).
func (r *recordingFS) Walk(path string, walkFn filepath.WalkFunc) error {
	return r.FileSystem.Walk(path, func(p string, info os.FileInfo, err error) error {
		werr := walkFn(p, info, err)
		if err == nil && werr == nil && info != nil && info.IsDir() {
			r.log.record("list", p, listing(p))
		}
		return werr
	})
}

// listing returns the digest of the entries of the directory dir, as a
// walk sees them: each name (in order) with its type, and for a
// symbolic link where it leads (the secure file system checks that it
// stays in the tree) and whether that is a directory. "error" when the
// directory cannot be read.
func listing(dir string) string {
	entries, err := os.ReadDir(dir) // sorted by name, as a walk reads them
	if err != nil {
		return "error"
	}
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%q %s\n", e.Name(), entryType(filepath.Join(dir, e.Name()), e.Type()))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// entryType describes the directory entry path of type t for listing.
func entryType(path string, t fs.FileMode) string {
	switch {
	case t.IsDir():
		return "dir"
	case t.IsRegular():
		return "file"
	case t&fs.ModeSymlink == 0:
		return "other " + t.String()
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "link error"
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "link " + target + " error"
	}
	return fmt.Sprintf("link %s %t", target, fi.IsDir())
}
