package bolt_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/bolt"
	"github.com/strata-gitops/strata/state/crypt"
	"github.com/strata-gitops/strata/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.TestStore(t, func(t *testing.T) func() state.Store {
		path := filepath.Join(t.TempDir(), ".strata", "state.db")
		return func() state.Store {
			s, err := bolt.Open(bolt.Options{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".strata")
	path := filepath.Join(dir, "state.db")
	s, err := bolt.Open(bolt.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("Read created the state file: %v", err)
	}
	if err := s.Write(t.Context(), statetest.Snapshot(1, 1, "a"), state.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".state-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestEncryption runs the encryption conformance suite on the bolt file:
// with a key, `strings` on the file finds none of the state's names.
func TestEncryption(t *testing.T) {
	statetest.TestEncryption(t, func(t *testing.T) (func(*crypt.Key) state.Store, func() []byte) {
		path := filepath.Join(t.TempDir(), ".strata", "state.db")
		open := func(key *crypt.Key) state.Store {
			s, err := bolt.Open(bolt.Options{Path: path, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		raw := func() []byte {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		return open, raw
	})
}

// TestConformanceEncrypted runs the conformance suite on an encrypted file.
func TestConformanceEncrypted(t *testing.T) {
	key, err := crypt.PassphraseForTests("conformance", 10)
	if err != nil {
		t.Fatal(err)
	}
	statetest.TestStore(t, func(t *testing.T) func() state.Store {
		path := filepath.Join(t.TempDir(), ".strata", "state.db")
		return func() state.Store {
			s, err := bolt.Open(bolt.Options{Path: path, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}
