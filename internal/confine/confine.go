package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrOutside is wrapped by the errors for a path that is absolute, climbs
// out with "..", or leads outside the root through a symbolic link.
var ErrOutside = errors.New("outside the allowed directory")

// Resolve returns the real (absolute, symlink-free) path of name, relative
// to root, after checking that it stays inside root and outside Git's
// metadata (see InGitDir). It refuses absolute names. A name that does not
// exist comes back as an error wrapping fs.ErrNotExist.
func Resolve(root, name string) (string, error) {
	if filepath.IsAbs(name) {
		return "", fmt.Errorf("%q is an absolute path, %w", name, ErrOutside)
	}
	r, err := Root(root)
	if err != nil {
		return "", err
	}
	p := filepath.Join(r, name)
	if !Within(r, p) {
		return "", fmt.Errorf("%q climbs out with \"..\", %w", name, ErrOutside)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%q: %w", name, fs.ErrNotExist)
		}
		return "", fmt.Errorf("%q: %w", name, err)
	}
	if !Within(r, real) {
		return "", fmt.Errorf("%q: a symbolic link leads %w", name, ErrOutside)
	}
	if InGitDir(r, real) {
		return "", fmt.Errorf("%q is in Git's metadata directory (.git), which can hold credentials, and counts as %w", name, ErrOutside)
	}
	return real, nil
}

// InGitDir reports whether p, a real path inside root, is in or is a
// directory named .git: Git's metadata, where a CI checkout keeps its
// token (actions/checkout writes it to .git/config), and no file a stack
// reads lives.
func InGitDir(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), ".git")
}

// Root returns root made absolute and free of symbolic links.
func Root(root string) (string, error) {
	r, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(r)
}

// Within reports whether p is root or below it; both must be clean and
// absolute.
func Within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Tree checks every symbolic link under dir (a real path inside root, as
// Resolve returns) and, through linked directories, below them: each must
// lead inside root, and not into Git's metadata; nor may dir hold a .git
// directory (a reader such as Helm's chart loader would read all of it).
// The error names the first offending link or directory relative to root. The directories named by skip (relative to root, e.g. ".strata")
// are not walked, also when reached through a link, unless dir is one of
// them or inside one.
func Tree(root, dir string, skip ...string) error {
	r, err := Root(root)
	if err != nil {
		return err
	}
	skipped := make(map[string]bool, len(skip))
	for _, s := range skip {
		skipped[filepath.Join(r, s)] = true
	}
	return tree(r, dir, skipped, map[string]bool{})
}

func tree(root, dir string, skip, seen map[string]bool) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch {
			case skip[p] && !Within(p, dir):
				return fs.SkipDir
			case d.Name() == ".git":
				return fmt.Errorf("%s: Git's metadata directory, which can hold credentials, counts as %w", rel, ErrOutside)
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("%s: a symbolic link that leads nowhere: %w", rel, err)
		}
		if !Within(root, real) {
			return fmt.Errorf("%s: a symbolic link leads %w", rel, ErrOutside)
		}
		if InGitDir(root, real) {
			return fmt.Errorf("%s: a symbolic link leads into Git's metadata directory (.git), which can hold credentials, and counts as %w", rel, ErrOutside)
		}
		if fi, err := os.Stat(real); err == nil && fi.IsDir() && !Within(dir, real) {
			return tree(root, real, skip, seen)
		}
		return nil
	})
}

// ResolveNew is Resolve for a file that strata is about to create or
// write (a state file): name need not exist. It checks the deepest part of
// the path that exists, through its symbolic links, and returns that real
// path with the missing components joined to it. A symbolic link that
// leads nowhere is refused: writing through it would create its target,
// wherever that is.
func ResolveNew(root, name string) (string, error) {
	if filepath.IsAbs(name) {
		return "", fmt.Errorf("%q is an absolute path, %w", name, ErrOutside)
	}
	r, err := Root(root)
	if err != nil {
		return "", err
	}
	p := filepath.Join(r, name)
	if !Within(r, p) {
		return "", fmt.Errorf("%q climbs out with \"..\", %w", name, ErrOutside)
	}
	existing, missing := p, ""
	for {
		_, err := os.Lstat(existing)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%q: %w", name, err)
		}
		missing = filepath.Join(filepath.Base(existing), missing)
		existing = filepath.Dir(existing)
	}
	real, err := filepath.EvalSymlinks(existing)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%q: a symbolic link that leads nowhere counts as %w", name, ErrOutside)
	}
	if err != nil {
		return "", fmt.Errorf("%q: %w", name, err)
	}
	real = filepath.Join(real, missing)
	if !Within(r, real) {
		return "", fmt.Errorf("%q: a symbolic link leads %w", name, ErrOutside)
	}
	if InGitDir(r, real) {
		return "", fmt.Errorf("%q is in Git's metadata directory (.git), which can hold credentials, and counts as %w", name, ErrOutside)
	}
	return real, nil
}
