package source_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-gitops/strata/providers/source"
)

func TestRedactURL(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"no credentials":    {"https://example.com/repo.git", "https://example.com/repo.git"},
		"user only":         {"ssh://git@example.com/repo.git", "ssh://git@example.com/repo.git"},
		"user and password": {"https://bob:hunter2@example.com/x", "https://bob:xxxxx@example.com/x"},
		"token as user":     {"https://x-token:ghp_abc@example.com/x", "https://x-token:xxxxx@example.com/x"},
		"unparsable":        {"https://bob:hun%zz@example.com/x", "https://***@example.com/x"},
		"scp style":         {"git@example.com:org/repo.git", "git@example.com:org/repo.git"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := source.RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func digest(t *testing.T, dir string) string {
	t.Helper()
	d, err := source.DirDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDirDigest(t *testing.T) {
	base := map[string]string{"a.yaml": "a", "sub/b.yaml": "b"}
	d1 := digest(t, writeTree(t, base))
	if len(d1) != len("sha256:")+64 {
		t.Fatalf("digest %q", d1)
	}
	// Same content elsewhere, other mtimes: same digest.
	dir2 := writeTree(t, base)
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir2, "a.yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	if d2 := digest(t, dir2); d2 != d1 {
		t.Errorf("same tree, different digests %s %s", d1, d2)
	}
	changes := map[string]func(dir string){
		"content":    func(dir string) { os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("A"), 0o644) },
		"rename":     func(dir string) { os.Rename(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "c.yaml")) },
		"move":       func(dir string) { os.Rename(filepath.Join(dir, "sub/b.yaml"), filepath.Join(dir, "b.yaml")) },
		"executable": func(dir string) { os.Chmod(filepath.Join(dir, "a.yaml"), 0o755) },
		"new file":   func(dir string) { os.WriteFile(filepath.Join(dir, "n"), nil, 0o644) },
		"symlink":    func(dir string) { os.Symlink("a.yaml", filepath.Join(dir, "l")) },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, base)
			change(dir)
			if d := digest(t, dir); d == d1 {
				t.Errorf("%s did not change the digest", name)
			}
		})
	}
}
