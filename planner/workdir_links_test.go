package planner

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/internal/testcluster"
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

// TestCommittedCacheNotTrusted: a pull request can commit the artifact
// cache under .strata, with content of its choice under the key of the
// very commit the stack fetches. strata uses only the entries this machine
// wrote, so the apply installs what the Git repository holds.
func TestCommittedCacheNotTrusted(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "cachetrust")
	_, _, _, dir := gitStack(t, ns)
	planStack(t, testOptions(c, dir)) // fills the cache
	entries, err := filepath.Glob(filepath.Join(dir, ".strata", "cache", "entries", "*", "data", "deploy", "cm.yaml"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("cached trees %v, %v", entries, err)
	}
	// The committed copy: other content, metadata without this machine's MAC.
	entry := filepath.Dir(filepath.Dir(filepath.Dir(entries[0])))
	b, err := os.ReadFile(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entries[0], []byte(strings.Replace(string(b), "blue", "poisoned", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(entry, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	forged := regexp.MustCompile(`"(mac|tree)":"[0-9a-f]*"`).ReplaceAll(meta, []byte(`"$1":""`))
	if err := os.WriteFile(filepath.Join(entry, "meta.json"), forged, 0o644); err != nil {
		t.Fatal(err)
	}
	applyStack(t, testOptions(c, dir))
	if got := c.Kubectl(t, "get", "configmap", "settings", "-n", ns, "-o", "jsonpath={.data.color}"); got != "blue" {
		t.Errorf("applied color %q, want the repository's blue (the committed cache was used)", got)
	}
}
