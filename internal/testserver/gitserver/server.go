package gitserver

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/strata-gitops/strata/internal/testserver"
)

// Options configure a Server.
type Options struct {
	// Username and Password, when set, are required over HTTP (basic
	// auth).
	Username string
	Password string
	// TLS serves HTTPS with a test certificate (see Server.CABundle).
	TLS bool
}

// Request is one recorded HTTP request.
type Request = testserver.Request

// Server serves the repositories under one root directory.
type Server struct {
	root string
	http *httptest.Server

	log testserver.Log
}

// New starts a server and stops it when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	backend := httpBackend(t)
	s := &Server{root: t.TempDir()}
	cgiHandler := &cgi.Handler{
		Path: backend,
		Root: "/",
		Env:  []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	s.http = testserver.Start(t, testserver.HTTP{Username: opts.Username, Password: opts.Password, Realm: "git", TLS: opts.TLS}, &s.log, cgiHandler)
	return s
}

func httpBackend(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("gitserver needs the git binary: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("gitserver needs git-http-backend: %v", err)
	}
	return p
}

// Root is the directory holding the served repositories.
func (s *Server) Root() string { return s.root }

// NewRepo creates an empty repository named name (e.g. "app.git") whose
// current branch is "main".
func (s *Server) NewRepo(t testing.TB, name string) *Repo {
	t.Helper()
	dir := filepath.Join(s.root, "work", name)
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Serve the repository's .git directory under its name.
	if err := os.Symlink(filepath.Join(dir, ".git"), filepath.Join(s.root, name)); err != nil {
		t.Fatal(err)
	}
	return &Repo{Name: name, Dir: dir, repo: r, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// GitDir returns the path of the served repository (usable in file://
// URLs).
func (s *Server) GitDir(name string) string { return filepath.Join(s.root, "work", name, ".git") }

// HTTPURL returns the repository's URL over HTTP(S), without credentials.
func (s *Server) HTTPURL(name string) string { return s.http.URL + "/" + name }

// CABundle returns the PEM certificate to trust for a TLS server.
func (s *Server) CABundle() []byte { return certPEM(s.http) }

// Requests returns the HTTP requests served so far.
func (s *Server) Requests() []Request { return s.log.Requests() }

// UploadPacks counts the requests that transferred objects
// (POST .../git-upload-pack): the expensive part of a fetch.
func (s *Server) UploadPacks() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/git-upload-pack") {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() { s.log.Reset() }
