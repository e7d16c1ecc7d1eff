package confine_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/confine"
)

// tree makes root/{data/file, data/sub/} and an outside file, plus links.
func tree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "data", "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(root, "data", "file"), filepath.Join(outside, "secret")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"in":          "data/file",
		"out":         filepath.Join(outside, "secret"),
		"outdir":      outside,
		"data/up":     "..",
		"data/sub/up": "../../..",
		"dangling":    "nowhere",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func TestResolve(t *testing.T) {
	root, outside := tree(t)
	for _, d := range []string{".git", "data/.git", ".github"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{".git/config", ".github/x"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(".git/config", filepath.Join(root, "gitcfg")); err != nil {
		t.Fatal(err)
	}
	tests := map[string]error{ // name -> nil, ErrOutside or fs.ErrNotExist
		"data/file":                  nil,
		"in":                         nil,
		"data/up/data/file":          nil,
		"data/../data/file":          nil,
		".":                          nil,
		"out":                        confine.ErrOutside,
		"outdir/secret":              confine.ErrOutside,
		"../outside/secret":          confine.ErrOutside,
		"data/../../x":               confine.ErrOutside,
		filepath.Join(outside):       confine.ErrOutside,
		filepath.Join(root, "in"):    confine.ErrOutside, // absolute, even inside
		"data/sub/up/outside/secret": confine.ErrOutside,
		".git/config":                confine.ErrOutside,
		"data/.git":                  confine.ErrOutside,
		"gitcfg":                     confine.ErrOutside, // a link to .git/config
		".github/x":                  nil,
		"missing":                    fs.ErrNotExist,
		"dangling":                   fs.ErrNotExist,
	}
	for name, want := range tests {
		_, err := confine.Resolve(root, name)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("Resolve(%q) = %v, want %v", name, err, want)
		}
	}
}

// TestResolveNew: a file about to be written may not exist yet, but the
// part of its path that exists must stay inside through its links, and a
// link that leads nowhere is refused (writing creates its target).
func TestResolveNew(t *testing.T) {
	root, outside := tree(t)
	if err := os.Symlink(filepath.Join(outside, "new"), filepath.Join(root, "dangling-out")); err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{ // name -> the real path, "" when refused
		"data/file":         filepath.Join(root, "data", "file"),
		"new.db":            filepath.Join(root, "new.db"),
		"a/b/new.db":        filepath.Join(root, "a", "b", "new.db"),
		"in":                filepath.Join(root, "data", "file"),
		"data/up/x.db":      filepath.Join(root, "x.db"),
		"out":               "",
		"outdir/new.db":     "",
		"outdir/a/b/new.db": "",
		"../outside/new.db": "",
		"/etc/new.db":       "",
		"dangling":          "",
		"dangling-out":      "",
		"dangling/x.db":     "",
		"data/sub/up/x.db":  "",
		".git/x.db":         "",
		"data/file/x.db":    "", // not a directory
	}
	real, err := confine.Root(root)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(root)
	for name, want := range tests {
		got, err := confine.ResolveNew(root, name)
		if want != "" {
			want = filepath.Join(real, strings.TrimPrefix(want, root))
		}
		if got != want || (want == "") != (err != nil) {
			t.Errorf("ResolveNew(%q) = %q, %v; want %q", name, got, err, want)
		}
		if want == "" && err != nil && !strings.Contains(name, "file/") && !errors.Is(err, confine.ErrOutside) {
			t.Errorf("ResolveNew(%q) = %v, want ErrOutside", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "outside", "new")); err == nil {
		t.Error("a target outside was created")
	}
}

func TestTree(t *testing.T) {
	root, _ := tree(t)
	tests := map[string]bool{ // dir -> refused
		"data/sub": true, // sub/up leads out
		"data":     true, // data/up leads to the root, which holds "out"
		"clean":    false,
		"gitrepo":  true, // holds a .git directory
		"gitlink":  true, // holds a link into one
	}
	for _, d := range []string{"gitrepo/.git", "gitlink"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../gitrepo/.git", filepath.Join(root, "gitlink", "g")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "clean"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../data/file", filepath.Join(root, "clean", "f")); err != nil {
		t.Fatal(err)
	}
	for dir, refused := range tests {
		real, err := confine.Resolve(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := confine.Tree(root, real); errors.Is(err, confine.ErrOutside) != refused {
			t.Errorf("Tree(%s) = %v, want refused %v", dir, err, refused)
		}
	}
}

// TestTreeSkip: skipped directories are not walked, also through a link
// to the root, unless the walk starts inside one.
func TestTreeSkip(t *testing.T) {
	root, outside := tree(t)
	for _, d := range []string{"clean", ".strata/cache"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"clean/up": "..", ".strata/cache/out": outside} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	// Only the links out in .strata and at the root ("out", "outdir",
	// "data/sub/up") would be found: remove those at the root.
	for _, l := range []string{"out", "outdir", "data/sub/up", "dangling"} {
		if err := os.Remove(filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]bool{ // dir -> refused
		"clean":         false, // reaches the root through clean/up; .strata skipped
		".":             false,
		".strata":       true, // the walk starts there
		".strata/cache": true,
	}
	for dir, refused := range tests {
		real, err := confine.Resolve(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := confine.Tree(root, real, ".strata"); errors.Is(err, confine.ErrOutside) != refused {
			t.Errorf("Tree(%s, skip .strata) = %v, want refused %v", dir, err, refused)
		}
	}
	if err := confine.Tree(root, root); !errors.Is(err, confine.ErrOutside) {
		t.Errorf("Tree(.) without skip = %v, want refused", err)
	}
}
