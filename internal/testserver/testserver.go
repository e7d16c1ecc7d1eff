// Package testserver holds what the in-process test servers (gitserver,
// helmserver, ociregistry) share: HTTP basic auth, a log of the requests
// served, and start-up with or without TLS.
package testserver

import (
	"crypto/subtle"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is one recorded HTTP request.
type Request struct {
	Method string
	Path   string
	Query  string
	Status int
}

// Log records the requests a server answered. It is safe for concurrent
// use; the zero value is ready.
type Log struct {
	mu       sync.Mutex
	requests []Request
}

// Requests returns the requests recorded so far.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.requests...)
}

// Reset forgets the recorded requests.
func (l *Log) Reset() {
	l.mu.Lock()
	l.requests = nil
	l.mu.Unlock()
}

func (l *Log) add(r Request) {
	l.mu.Lock()
	l.requests = append(l.requests, r)
	l.mu.Unlock()
}

// HTTP configures Start.
type HTTP struct {
	// Username and Password, when either is set, are required as basic
	// auth.
	Username, Password string
	// Realm names the basic auth challenge.
	Realm string
	// Unauthorized, when set, writes the answer to a request without valid
	// credentials after the challenge header (default: 401 "unauthorized").
	Unauthorized func(w http.ResponseWriter)
	// TLS serves HTTPS with httptest's certificate.
	TLS bool
}

// Start serves h, after checking credentials, records every request in
// requests, and stops the server when the test ends.
func Start(t testing.TB, cfg HTTP, requests *Log, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			requests.add(Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Status: rec.status})
		}()
		if cfg.Username != "" || cfg.Password != "" {
			u, p, ok := req.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(cfg.Username)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(cfg.Password)) != 1 {
				rec.Header().Set("WWW-Authenticate", `Basic realm="`+cfg.Realm+`"`)
				if cfg.Unauthorized != nil {
					cfg.Unauthorized(rec)
				} else {
					http.Error(rec, "unauthorized", http.StatusUnauthorized)
				}
				return
			}
		}
		h.ServeHTTP(rec, req)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake noise from negative tests
	if cfg.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets streaming handlers (git's CGI backend) flush.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
