package cache_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
