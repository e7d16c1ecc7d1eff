package git

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// TestWriteTreeDropsLinksLeadingOut checks that a checked-out tree keeps
// no symbolic link that leads outside it, also through a chain of links
// that each look harmless on their own.
func TestWriteTreeDropsLinksLeadingOut(t *testing.T) {
	st := memory.NewStorage()
	put := func(typ plumbing.ObjectType, enc func(w *plumbing.MemoryObject)) plumbing.Hash {
		obj := &plumbing.MemoryObject{}
		obj.SetType(typ)
		enc(obj)
		h, err := st.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	blob := func(s string) plumbing.Hash {
		return put(plumbing.BlobObject, func(o *plumbing.MemoryObject) { _, _ = o.Write([]byte(s)) })
	}
	tree := func(entries ...object.TreeEntry) plumbing.Hash {
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
		return put(plumbing.TreeObject, func(o *plumbing.MemoryObject) {
			if err := (&object.Tree{Entries: entries}).Encode(o); err != nil {
				t.Fatal(err)
			}
		})
	}
	link := func(name, target string) object.TreeEntry {
		return object.TreeEntry{Name: name, Mode: filemode.Symlink, Hash: blob(target)}
	}
	// a/b/l leads to the tree's root (lexically and really); y climbs
	// from there: lexically "a/x", really two levels above the root.
	b := tree(link("l", "../.."))
	a := tree(object.TreeEntry{Name: "b", Mode: filemode.Dir, Hash: b})
	root := tree(
		object.TreeEntry{Name: "a", Mode: filemode.Dir, Hash: a},
		object.TreeEntry{Name: "data.yaml", Mode: filemode.Regular, Hash: blob("a: 1\n")},
		link("y", "a/b/l/../../x"),
		link("ok", "data.yaml"),
		link("out", "../x"),
	)
	sig := object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(0, 0)}
	ch := put(plumbing.CommitObject, func(o *plumbing.MemoryObject) {
		if err := (&object.Commit{Author: sig, Committer: sig, TreeHash: root, Message: "m"}).Encode(o); err != nil {
			t.Fatal(err)
		}
	})
	commit, err := object.GetCommit(st, ch)
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	dir := filepath.Join(base, "p", "q", "tree")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// What y really leads to exists.
	if err := os.WriteFile(filepath.Join(base, "p", "x"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeTree(commit, nil, dir); err != nil {
		t.Fatal(err)
	}
	var links []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSymlink != 0 {
			rel, _ := filepath.Rel(dir, p)
			links = append(links, filepath.ToSlash(rel))
		}
		return err
	})
	if got := strings.Join(links, " "); got != "a/b/l ok" {
		t.Errorf("links in the tree: %q, want \"a/b/l ok\"", got)
	}
}
