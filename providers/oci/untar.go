package oci

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/strata-gitops/strata/internal/confine"
)

// maxUnpacked bounds the total size of the files a layer unpacks to, so a
// small compressed layer cannot fill the disk.
const maxUnpacked = 1 << 30

// untar unpacks the gzipped tarball r into dir, which must be empty. It
// refuses entries that are absolute or climb out with "..", symbolic links
// whose target leads outside dir (also through other links), hard links
// and special files. The error names the offending entry.
func untar(r io.Reader, dir string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzipped tarball: %w", ErrFormat)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	budget := int64(maxUnpacked)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not a valid tarball (%v): %w", err, ErrFormat)
		}
		if err := entry(tr, h, dir, &budget); err != nil {
			return err
		}
	}
	root, err := confine.Root(dir)
	if err != nil {
		return err
	}
	if err := confine.Tree(root, root); err != nil {
		return fmt.Errorf("entry %w", err)
	}
	return nil
}

// entry writes one tar entry under dir.
func entry(tr *tar.Reader, h *tar.Header, dir string, budget *int64) error {
	name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
	if strings.HasPrefix(h.Name, "/") || !filepath.IsLocal(filepath.FromSlash(strings.TrimPrefix(h.Name, "./"))) {
		if name == "" && h.Typeflag == tar.TypeDir {
			return nil // "./", the root itself
		}
		return fmt.Errorf("entry %q: an absolute path or one that climbs out with \"..\" is %w", h.Name, confine.ErrOutside)
	}
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if err := noLinkOnPath(dir, name); err != nil {
		return fmt.Errorf("entry %q: %w", h.Name, err)
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(dst, 0o755)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		*budget -= h.Size
		if *budget < 0 {
			return fmt.Errorf("entry %q: the layer unpacks to more than %d bytes", h.Name, int64(maxUnpacked))
		}
		perm := os.FileMode(0o644)
		if h.FileInfo().Mode()&0o111 != 0 {
			perm = 0o755
		}
		return writeFile(dst, perm, tr)
	case tar.TypeSymlink:
		target := path.Join(path.Dir(name), h.Linkname)
		if path.IsAbs(h.Linkname) || !filepath.IsLocal(filepath.FromSlash(target)) {
			return fmt.Errorf("entry %q: a symbolic link to %q leads %w", h.Name, h.Linkname, confine.ErrOutside)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(h.Linkname, dst)
	case tar.TypeXGlobalHeader:
		return nil
	}
	return fmt.Errorf("entry %q: unsupported entry type %q (hard links and special files are not unpacked): %w", h.Name, h.Typeflag, ErrFormat)
}

// noLinkOnPath refuses a name (slash separated, relative to dir) whose
// parent directories include a symbolic link: an entry is never written
// through a link, which might lead out of dir.
func noLinkOnPath(dir, name string) error {
	p := dir
	segs := strings.Split(name, "/")
	for _, s := range segs[:len(segs)-1] {
		p = filepath.Join(p, s)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("written through the symbolic link %s, which could lead %w", s, confine.ErrOutside)
		}
	}
	return nil
}

func writeFile(dst string, perm os.FileMode, r io.Reader) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("entry %s: %w", filepath.Base(dst), err)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
