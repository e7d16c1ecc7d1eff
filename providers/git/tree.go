package git

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/sync/errgroup"

	"github.com/strata-gitops/strata/internal/confine"
)

// writeTree writes the files of commit's tree under dir, leaving out what
// the ignore rules exclude (see the package documentation). Symlinks are
// kept when their target, resolved, stays inside the tree and dropped
// otherwise;
// submodules are not fetched.
func writeTree(commit *object.Commit, ignore []string, dir string) error {
	tree, err := commit.Tree()
	if err != nil {
		return err
	}
	m, err := matcher(tree, ignore)
	if err != nil {
		return err
	}
	excludedDir := map[string]bool{}
	ignored := func(p string) bool {
		segs := strings.Split(p, "/")
		for i := 1; i < len(segs); i++ {
			d := strings.Join(segs[:i], "/")
			ex, seen := excludedDir[d]
			if !seen {
				ex = m.Match(segs[:i], true)
				excludedDir[d] = ex
			}
			if ex {
				return true
			}
		}
		return m.Match(segs, false)
	}
	// Creating files is latency-bound: small files are read here, in
	// order, and written by a few goroutines at once; large ones are
	// streamed here so memory stays bounded.
	var g errgroup.Group
	g.SetLimit(writers)
	err = tree.Files().ForEach(func(f *object.File) error {
		if !filepath.IsLocal(filepath.FromSlash(f.Name)) {
			return fmt.Errorf("unsafe path %q in tree", f.Name)
		}
		if ignored(f.Name) {
			return nil
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch f.Mode {
		case filemode.Symlink:
			target, err := f.Contents()
			if err != nil {
				return err
			}
			resolved := path.Join(path.Dir(f.Name), target)
			if path.IsAbs(target) || !filepath.IsLocal(filepath.FromSlash(resolved)) {
				return nil // escapes the tree: drop it
			}
			return os.Symlink(target, dst)
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			perm := os.FileMode(0o644)
			if f.Mode == filemode.Executable {
				perm = 0o755
			}
			r, err := f.Reader()
			if err != nil {
				return err
			}
			if f.Size > smallFile {
				defer r.Close()
				return writeFile(dst, perm, r)
			}
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
			g.Go(func() error { return writeFile(dst, perm, bytes.NewReader(data)) })
		}
		return nil
	})
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	return dropEscapingLinks(dir)
}

// dropEscapingLinks removes the symbolic links under dir that, resolved,
// lead outside dir or nowhere. The check at write time is lexical: a chain
// of links ("l -> ../..", then "y -> a/b/l/../../x") can still lead out.
func dropEscapingLinks(dir string) error {
	root, err := confine.Root(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		if real, err := filepath.EvalSymlinks(p); err == nil && confine.Within(root, real) {
			return nil
		}
		return os.Remove(p)
	})
}

const (
	writers   = 8       // concurrent file writes
	smallFile = 1 << 20 // larger files are streamed, not buffered
)

func writeFile(dst string, perm os.FileMode, r io.Reader) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// matcher builds the ignore matcher: Flux's defaults, then .sourceignore
// files found in the tree (scoped to their directory), then extra.
func matcher(tree *object.Tree, extra []string) (gitignore.Matcher, error) {
	var ps []gitignore.Pattern
	err := tree.Files().ForEach(func(f *object.File) error {
		if path.Base(f.Name) != ".sourceignore" || f.Mode == filemode.Symlink {
			return nil
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		var domain []string
		if d := path.Dir(f.Name); d != "." {
			domain = strings.Split(d, "/")
		}
		ps = append(ps, sourceignore.ReadPatterns(r, domain)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ps = append(ps, sourceignore.ReadPatterns(strings.NewReader(strings.Join(extra, "\n")), nil)...)
	return sourceignore.NewDefaultMatcher(ps, nil), nil
}
