package backend_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"

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

// TestKubernetesRequestTimeout checks that a kubernetes backend whose API
// server accepts requests and never answers fails after RequestTimeout:
// state writes go on after an interrupt (their context is not cancelled),
// so without a timeout a frozen server held the process for ever.
func TestKubernetesRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	s, err := backend.Open(backend.Config{Type: "kubernetes", Namespace: "strata", Name: "frozen",
		RESTConfig:     &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}},
		RequestTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = s.Read(context.WithoutCancel(t.Context()))
	if err == nil {
		t.Fatal("Read of a frozen server succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Read failed after %s, want about 300ms: %v", took, err)
	}
}
