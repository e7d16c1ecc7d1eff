package ociregistry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // storage driver
	"github.com/sirupsen/logrus"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/strata-gitops/strata/internal/testserver"
)

// Options configure a Registry.
type Options struct {
	// Username and Password, when set, are required (basic auth).
	Username string
	Password string
	// TLS serves HTTPS with a test certificate (see Registry.CABundle).
	TLS bool
}

// Request is one recorded request.
type Request = testserver.Request

// Registry is a running in-process registry.
type Registry struct {
	dir  string
	http *httptest.Server
	opts Options

	log    testserver.Log
	mu     sync.Mutex
	layers map[string]string // "name:version" (chart) or "path:tag" (artifact) -> layer digest
}

var quietOnce sync.Once

// New starts a registry, stopped when the test ends.
func New(t testing.TB, opts Options) *Registry {
	t.Helper()
	// distribution logs through logrus' standard logger, and logs every
	// 404 (expected while pushing) at error level.
	quietOnce.Do(func() { logrus.SetLevel(logrus.FatalLevel) })
	r := &Registry{dir: t.TempDir(), opts: opts, layers: map[string]string{}}
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem": configuration.Parameters{"rootdirectory": r.dir},
			"delete":     configuration.Parameters{"enabled": true},
		},
	}
	cfg.Log.AccessLog.Disabled = true
	cfg.Log.Level = "warn"
	cfg.HTTP.Secret = "test-secret"
	app := handlers.NewApp(context.Background(), cfg)
	r.http = testserver.Start(t, testserver.HTTP{Username: opts.Username, Password: opts.Password, Realm: "registry", TLS: opts.TLS,
		Unauthorized: func(w http.ResponseWriter) {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		}}, &r.log, app)
	return r
}

// Host is the registry's host:port.
func (r *Registry) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(r.http.URL, "https://"), "http://")
}

// URL returns "oci://<host>/<path>", e.g. URL("charts").
func (r *Registry) URL(path string) string { return "oci://" + r.Host() + "/" + path }

// CABundle returns the PEM certificate to trust for a TLS registry.
func (r *Registry) CABundle() []byte {
	if r.http.TLS == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.http.Certificate().Raw})
}

// PushChart packages ch and pushes it to <host>/<path>/<name>:<version>
// as `helm push` does. It returns the manifest digest.
func (r *Registry) PushChart(t testing.TB, path string, ch *chart.Chart) string {
	t.Helper()
	tmp := t.TempDir()
	p, err := chartutil.Save(ch, tmp)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{}
	if r.http.TLS != nil {
		pool := x509.NewCertPool()
		pool.AddCert(r.http.Certificate())
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(filepath.Join(tmp, "config.json")),
	}
	if r.opts.Username != "" {
		opts = append(opts, registry.ClientOptBasicAuth(r.opts.Username, r.opts.Password))
	}
	if r.http.TLS == nil {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ref := r.Host() + "/" + path + "/" + ch.Name() + ":" + strings.ReplaceAll(ch.Metadata.Version, "+", "_")
	res, err := rc.Push(data, ref)
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	r.mu.Lock()
	r.layers[ch.Name()+":"+ch.Metadata.Version] = res.Chart.Digest
	r.mu.Unlock()
	return res.Manifest.Digest
}

// TamperChart overwrites the stored chart layer of name:version with other
// bytes, as a corrupted or compromised storage backend would.
func (r *Registry) TamperChart(t testing.TB, name, version string) {
	t.Helper()
	r.mu.Lock()
	d := r.layers[name+":"+version]
	r.mu.Unlock()
	if d == "" {
		t.Fatalf("chart %s:%s was not pushed", name, version)
	}
	hex := strings.TrimPrefix(d, "sha256:")
	p := filepath.Join(r.dir, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Requests returns the requests served so far.
func (r *Registry) Requests() []Request { return r.log.Requests() }

// BlobDownloads counts successful GETs of blobs (layers and configs).
func (r *Registry) BlobDownloads() int {
	n := 0
	for _, q := range r.Requests() {
		if q.Method == http.MethodGet && q.Status == http.StatusOK && strings.Contains(q.Path, "/blobs/") {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (r *Registry) ResetRequests() { r.log.Reset() }
