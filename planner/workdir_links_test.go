package planner

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/confine"
)

// TestSourceProvidersRefuseLinkedCache: the artifact cache under the
// stack's .strata is not opened through a symbolic link (a pull request
// could commit .strata/cache leading anywhere, and strata would create its
// directories and lock there).
func TestSourceProvidersRefuseLinkedCache(t *testing.T) {
	outside := t.TempDir()
	for _, link := range []string{".strata", filepath.Join(".strata", "cache")} {
		dir := t.TempDir()
		p := filepath.Join(dir, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, p); err != nil {
			t.Fatal(err)
		}
		if _, err := SourceProviders(dir, time.Now); !errors.Is(err, confine.ErrLink) {
			t.Errorf("%s linked: error %v, want a refusal", link, err)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("%s linked: the cache wrote %d entries through the link", link, len(ents))
		}
	}
}
