package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary text to the loader as a stack file. The loader
// must never panic or hang, and must return a stack and report errors as
// diagnostics. Seeds: every stack file under testdata; crashers found are
// kept in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	_ = filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hcl") {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "chart"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("data"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		st, diags := loadSources(dir, []sourceFile{{name: "main.hcl", src: src}}, nil, LoadOptions{
			Version: "0.1.0",
			Getenv:  func(string) string { return "" },
		})
		if st == nil {
			t.Fatal("Load returned a nil stack")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Errorf("diagnostic without a summary: %#v", d)
			}
		}
		// Whatever loaded must digest without panicking.
		for _, b := range st.Blocks() {
			_ = b.Digest()
			_ = b.References()
		}
	})
}
