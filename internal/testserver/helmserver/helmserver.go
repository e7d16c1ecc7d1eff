package helmserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/strata-gitops/strata/internal/testserver"
)

// Options configure a Server.
type Options struct {
	// Username and Password, when set, are required (basic auth).
	Username string
	Password string
	// TLS serves HTTPS with a test certificate (see Server.CABundle).
	TLS bool
	// NoETag leaves out ETag headers, so clients must revalidate with
	// If-Modified-Since.
	NoETag bool
}

// Request is one recorded request.
type Request = testserver.Request

// Server is a chart repository serving the charts added to it.
type Server struct {
	dir      string
	noETag   bool
	indexMod time.Time
	http     *httptest.Server

	log testserver.Log
	mu  sync.Mutex // guards the repository's files
}

// New starts an empty repository, stopped when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{dir: t.TempDir(), noETag: opts.NoETag}
	s.http = testserver.Start(t, testserver.HTTP{Username: opts.Username, Password: opts.Password, Realm: "charts", TLS: opts.TLS}, &s.log, http.HandlerFunc(s.serveFile))
	if err := s.reindex(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Server) serveFile(w http.ResponseWriter, req *http.Request) {
	name := path.Clean("/" + req.URL.Path)[1:]
	if !filepath.IsLocal(name) {
		http.NotFound(w, req)
		return
	}
	s.mu.Lock()
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	var mod time.Time
	if info, serr := os.Stat(filepath.Join(s.dir, name)); serr == nil {
		mod = info.ModTime()
	}
	s.mu.Unlock()
	if err != nil {
		http.NotFound(w, req)
		return
	}
	if !s.noETag {
		sum := sha256.Sum256(b)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	}
	http.ServeContent(w, req, name, mod, bytes.NewReader(b))
}

// URL is the repository URL (where index.yaml is).
func (s *Server) URL() string { return s.http.URL }

// CABundle returns the PEM certificate to trust for a TLS server.
func (s *Server) CABundle() []byte {
	if s.http.TLS == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.http.Certificate().Raw})
}

// Chart returns a minimal valid chart (one ConfigMap template) with the
// given name and version, for tests that need any chart.
func Chart(name, version string) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version, AppVersion: version, Type: "application"},
		Values:   map[string]any{"message": "hello"},
		Raw:      []*chart.File{{Name: chartutil.ValuesfileName, Data: []byte("message: hello\n")}},
		Templates: []*chart.File{{
			Name: "templates/configmap.yaml",
			Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + name + "\ndata:\n  message: {{ .Values.message | quote }}\n  version: " + version + "\n"),
		}},
	}
}

// AddChart packages ch into the repository and regenerates index.yaml.
// It returns the archive's digest ("sha256:<hex>").
func (s *Server) AddChart(t testing.TB, ch *chart.Chart) string {
	t.Helper()
	s.mu.Lock()
	p, err := chartutil.Save(ch, s.dir)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.reindex(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Tamper replaces the archive of name-version with other content without
// updating index.yaml, as a compromised mirror would.
func (s *Server) Tamper(t testing.TB, name, version string) {
	t.Helper()
	evil := Chart(name, version)
	evil.Templates = append(evil.Templates, &chart.File{Name: "templates/evil.yaml", Data: []byte("kind: Evil\n")})
	tmp := t.TempDir()
	p, err := chartutil.Save(evil, tmp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.WriteFile(filepath.Join(s.dir, filepath.Base(p)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) reindex() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := repo.IndexDirectory(s.dir, "")
	if err != nil {
		return err
	}
	idx.SortEntries()
	idx.Generated = time.Time{}
	p := filepath.Join(s.dir, "index.yaml")
	if err := idx.WriteFile(p, 0o644); err != nil {
		return err
	}
	// Last-Modified has one-second resolution: make every new index
	// visibly newer, so If-Modified-Since clients see each change.
	mod := time.Now().Truncate(time.Second)
	if !mod.After(s.indexMod) {
		mod = s.indexMod.Add(time.Second)
	}
	s.indexMod = mod
	return os.Chtimes(p, mod, mod)
}

// Requests returns the requests served so far.
func (s *Server) Requests() []Request { return s.log.Requests() }

// Downloads counts full (200 OK) responses for paths ending in suffix,
// e.g. "index.yaml" or ".tgz".
func (s *Server) Downloads(suffix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Status == http.StatusOK && len(r.Path) >= len(suffix) && r.Path[len(r.Path)-len(suffix):] == suffix {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() { s.log.Reset() }
