package cache_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/providers/cache"
)

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// TestCacheRefusesLinks: a cache committed to a stack's repository can hold
// symbolic links where strata keeps its entries, files and lock. The cache
// refuses them instead of reading (or, for the lock, creating) through
// them; the link's target stays as it was.
func TestCacheRefusesLinks(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte(`{"key":"k","size":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	entry := t.TempDir()
	if err := os.WriteFile(filepath.Join(entry, "meta.json"), []byte(`{"key":"k","size":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, link, target string
		use                func(c *cache.Cache) error
	}{
		{"lock", "lock", filepath.Join(outside, "created-through-link"), nil},
		{"entries dir", "entries", outside, nil},
		{"entry", filepath.Join("entries", hashKey("k")), entry,
			func(c *cache.Cache) error { _, _, err := c.Get("k"); return err }},
		{"entry meta", filepath.Join("entries", hashKey("k"), "meta.json"), victim,
			func(c *cache.Cache) error { _, _, err := c.Get("k"); return err }},
		{"file", filepath.Join("files", hashKey("k")), victim,
			func(c *cache.Cache) error { _, err := c.ReadFile("k"); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, tc.link)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.target, p); err != nil {
				t.Fatal(err)
			}
			c, err := cache.Open(cache.Options{Dir: dir})
			if tc.use != nil {
				if err != nil {
					t.Fatal(err)
				}
				err = tc.use(c)
			}
			if !errors.Is(err, confine.ErrLink) {
				t.Errorf("error %v, want one naming the link %s", err, p)
			}
			if _, err := os.Lstat(filepath.Join(outside, "created-through-link")); err == nil {
				t.Error("the cache created a file through the link")
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 1 {
				t.Errorf("the cache wrote into the directory a link leads to: %d entries", len(ents))
			}
		})
	}
}

// TestCacheTrustsOnlyItsOwnContent: a cache committed to a stack's
// repository can hold, under the very keys strata looks up (a Git commit, a
// chart digest, a repository index), content of the committer's choice.
// With a secret, the cache uses only entries and files it wrote itself
// (HMAC under the secret, over the metadata and a digest of the content):
// others, and an entry whose content changed, count as absent, and Put
// replaces them.
func TestCacheTrustsOnlyItsOwnContent(t *testing.T) {
	dir := t.TempDir()
	// The committer's cache: no secret, or another one.
	for _, secret := range [][]byte{nil, []byte("the committer's own secret, 32 b")} {
		forged := open(t, cache.Options{Dir: dir, Secret: secret})
		if _, err := forged.Put("k", map[string]string{"digest": "sha256:forged"}, fill("poisoned")); err != nil {
			t.Fatal(err)
		}
		if err := forged.WriteFile("idx", []byte("poisoned index")); err != nil {
			t.Fatal(err)
		}
		c := open(t, cache.Options{Dir: dir, Secret: []byte("this machine's secret, 32 bytes!")})
		if e, ok, err := c.Get("k"); ok || err != nil {
			t.Fatalf("forged entry: Get = %+v, %v, %v; want a miss", e, ok, err)
		}
		if b, err := c.ReadFile("idx"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("forged file: ReadFile = %q, %v; want not found", b, err)
		}
		e, err := c.Put("k", map[string]string{"digest": "sha256:real"}, fill("real"))
		if err != nil || e.Meta["digest"] != "sha256:real" {
			t.Fatalf("Put over a forged entry = %+v, %v", e, err)
		}
		if b, err := os.ReadFile(filepath.Join(e.Dir, "f")); err != nil || string(b) != "real" {
			t.Errorf("content %q, %v", b, err)
		}
		if e, ok, err := c.Get("k"); !ok || err != nil || e.Meta["digest"] != "sha256:real" {
			t.Errorf("own entry: Get = %+v, %v, %v", e, ok, err)
		}
		if err := c.WriteFile("idx", []byte("real index")); err != nil {
			t.Fatal(err)
		}
		if b, err := c.ReadFile("idx"); err != nil || string(b) != "real index" {
			t.Errorf("own file: ReadFile = %q, %v", b, err)
		}
		// A file a checkout adds to the entry's content.
		if err := os.WriteFile(filepath.Join(e.Dir, "evil.yaml"), []byte("kind: X"), 0o644); err != nil {
			t.Fatal(err)
		}
		if e, ok, err := c.Get("k"); ok || err != nil {
			t.Errorf("entry with an added file: Get = %+v, %v, %v; want a miss", e, ok, err)
		}
		if e, err := c.Put("k", nil, fill("again")); err != nil {
			t.Errorf("Put over a changed entry = %+v, %v", e, err)
		} else if ents, _ := os.ReadDir(e.Dir); len(ents) != 1 {
			t.Errorf("Put over a changed entry kept %d files", len(ents))
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
}
