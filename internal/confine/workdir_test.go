package confine_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/internal/confine"
)

// TestInWorkDir: a path under the stack's .strata is refused when .strata
// or any component on the way is a symbolic link (even one that stays in
// the stack); missing components and paths outside .strata pass.
func TestInWorkDir(t *testing.T) {
	stack := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(stack, ".strata", "environments"), 0o755))
	must(os.Mkdir(filepath.Join(stack, "inside"), 0o755))
	must(os.Symlink(filepath.Join(stack, "inside"), filepath.Join(stack, ".strata", "environments", "staging")))
	must(os.Symlink(filepath.Join(stack, "inside"), filepath.Join(stack, "linked")))
	for p, refused := range map[string]bool{
		".strata/state.db":                      false,
		".strata/new/dir/state.db":              false,
		".strata/environments/staging/state.db": true,
		".strata/environments/staging":          true,
		".strata/environments/prod/state.db":    false,
		"linked/state.db":                       false, // outside .strata: the user's choice
		"../elsewhere/state.db":                 false,
	} {
		err := confine.InWorkDir(stack, filepath.Join(stack, p))
		if refused != errors.Is(err, confine.ErrLink) {
			t.Errorf("%s: error %v, refused want %v", p, err, refused)
		}
	}
	root := t.TempDir()
	must(os.Symlink(stack, filepath.Join(root, "stack")))
	if err := confine.InWorkDir(filepath.Join(root, "stack"), filepath.Join(root, "stack", ".strata", "state.db")); err != nil {
		t.Errorf("a linked stack directory (its .strata not linked): %v", err)
	}
}
