package backend_test

import (
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/backend"
	"github.com/strata-gitops/strata/state/bolt"
	"github.com/strata-gitops/strata/state/statetest"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

func TestOpen(t *testing.T) {
	c := testcluster.Get(t)
	dir := t.TempDir()
	tests := map[string]struct {
		cfg      backend.Config
		describe string
	}{
		"local default":  {backend.Config{Dir: dir}, filepath.Join(dir, bolt.DefaultPath)},
		"local relative": {backend.Config{Type: "local", Dir: dir, Path: "x/s.db"}, filepath.Join(dir, "x/s.db")},
		"kubernetes": {backend.Config{Type: "kubernetes", Namespace: c.Namespace(t, "backend"), Name: "platform", Kubeconfig: c.Kubeconfig()},
			"kubernetes "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.cfg.Type == "kubernetes" {
				tc.describe += tc.cfg.Namespace + "/platform"
			}
			if got := backend.Describe(tc.cfg); got != tc.describe {
				t.Errorf("Describe() = %q, want %q", got, tc.describe)
			}
			s, err := backend.Open(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			snap := statetest.Snapshot(1, 3, name)
			if err := s.Write(t.Context(), snap, state.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Read(t.Context())
			if err != nil || got.Serial != 1 || len(got.Objects) != 3 {
				t.Errorf("Read() = serial %d, %d objects, %v", got.Serial, len(got.Objects), err)
			}
		})
	}
	if _, err := backend.Open(backend.Config{Type: "s3"}); err == nil {
		t.Error("Open of an unknown backend type succeeded")
	}
	if _, err := backend.Open(backend.Config{Type: "kubernetes", Name: "x", Kubeconfig: c.Kubeconfig()}); err == nil {
		t.Error("Open of a kubernetes backend without namespace succeeded")
	}
}
