package planner

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/internal/confine"
)

// TestChartDirConfined checks the plan-time check of a chart directory in
// a source tree: "..", absolute paths and symbolic links in the chart that
// lead out of the tree are refused; links inside it are followed.
func TestChartDirConfined(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "token")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	for _, d := range []string{"ok/templates", "bad/templates", "shared"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{
		{secret, "bad/templates/token.yaml"},
		{filepath.Join(tree, "shared"), "ok/templates/shared"},
	} {
		if err := os.Symlink(l[0], filepath.Join(tree, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]bool{ // chart -> refused
		"ok":            false,
		"bad":           true,
		"../x":          true,
		outside:         true,
		"ok/../../x":    true,
		"ok/templates/": false,
	}
	for name, refused := range tests {
		_, err := chartDir(tree, name)
		if got := errors.Is(err, confine.ErrOutside); got != refused {
			t.Errorf("chartDir(%q) = %v, want refused %v", name, err, refused)
		}
	}
}
