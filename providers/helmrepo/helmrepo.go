package helmrepo

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	version "github.com/hashicorp/go-version"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/source"
)

// Errors wrapped by the errors this package returns.
var (
	// ErrNotFound: no such chart, or no version matches.
	ErrNotFound = errors.New("chart not found")
	// ErrDigestMismatch: downloaded content does not match its digest.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrAuthentication: the repository rejected the credentials or asked
	// for some.
	ErrAuthentication = errors.New("authentication failed")
	// ErrOffline: the answer is not cached and the client runs offline.
	ErrOffline = errors.New("not cached and running offline")
)

// NotFoundError is the ErrNotFound of a repository whose index was read:
// it has no chart of that name, or (Version) no version of the chart
// matches. errors.Is(err, ErrNotFound) holds for it.
type NotFoundError struct {
	// Version is set when the chart exists but no version matches.
	Version bool
}

// Error returns ErrNotFound's text.
func (e *NotFoundError) Error() string { return ErrNotFound.Error() }

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Spec describes one Helm repository.
type Spec struct {
	// URL is an HTTP(S) repository URL (where index.yaml lives) or an OCI
	// location such as oci://registry.example.com/charts.
	URL string
	// Username and Password for basic auth (HTTP) or registry login (OCI).
	Username string
	Password string
	// CABundle is PEM-encoded CA certificates trusted in addition to the
	// system pool.
	CABundle []byte
	// PassCredentials sends credentials to chart URLs on other hosts too.
	PassCredentials bool
	// PlainHTTP allows an oci:// registry over plain HTTP (tests, local
	// registries).
	PlainHTTP bool
	// InsecureSkipVerify disables TLS certificate verification.
	InsecureSkipVerify bool
	// CertPEM and KeyPEM are a client certificate and key for mutual TLS.
	CertPEM []byte
	KeyPEM  []byte
}

// normalized moves credentials embedded in the URL into Username and
// Password (unless those are set) and strips them from the URL.
func (s Spec) normalized() Spec {
	u, err := url.Parse(s.URL)
	if err != nil || u.User == nil {
		return s
	}
	if s.Username == "" && s.Password == "" {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	u.User = nil
	s.URL = u.String()
	return s
}

// IsOCI reports whether the spec names an OCI registry.
func (s Spec) IsOCI() bool { return strings.HasPrefix(s.URL, "oci://") }

// ChartRef selects a chart in a repository.
type ChartRef struct {
	// Name of the chart.
	Name string
	// Version is an exact version or a go-version constraint; empty means
	// the latest (stable) version.
	Version string
	// Prerelease admits pre-release versions.
	Prerelease bool
	// Digest pins the chart: an OCI manifest digest, or for HTTP
	// repositories the archive digest index.yaml records ("sha256:...").
	// For OCI the version, if given, must match the chart's; for HTTP the
	// selected version must carry this digest.
	Digest string
}

// Pin returns ref pinned to revision ("<version>@sha256:<hex>", as
// returned by ChartVersion.Revision and recorded in state): an exact
// version and digest, which Pull serves from the cache without network
// (OCI) or with the cached index only (HTTP, offline).
func Pin(ref ChartRef, revision string) (ChartRef, error) {
	v, d, ok := strings.Cut(revision, "@")
	if !ok || !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 || v == "" {
		return ref, fmt.Errorf("revision %q is not a chart revision (<version>@sha256:<hex>)", revision)
	}
	ref.Version = v
	ref.Digest = d
	ref.Prerelease = true // an exact version, whatever it is
	return ref, nil
}

// ChartVersion is a resolved chart version.
type ChartVersion struct {
	// Name and Version of the chart; AppVersion as in Chart.yaml.
	Name       string
	Version    string
	AppVersion string
	// Digest is "sha256:<hex>": of the chart archive for HTTP
	// repositories (from index.yaml), of the manifest for OCI.
	Digest string
	// URL is the absolute download URL (HTTP) or the OCI reference
	// "host/path/name:tag" (without scheme).
	URL string
}

// Revision is how plans and state name the version: "<version>@<digest>".
func (v ChartVersion) Revision() string { return v.Version + "@" + v.Digest }

// Chart is a downloaded, verified chart archive.
type Chart struct {
	ChartVersion
	// Path of the .tgz archive in the cache. Read-only.
	Path string
}

// Load parses the chart archive.
func (c *Chart) Load() (*chart.Chart, error) {
	ch, err := loader.Load(c.Path)
	if err != nil {
		return nil, fmt.Errorf("load chart %s %s: %w", c.Name, c.Version, err)
	}
	return ch, nil
}

// Options configure a Client.
type Options struct {
	// Cache stores indexes and charts. Required.
	Cache *cache.Cache
	// Offline forbids network access: cached indexes are used without
	// revalidation and charts must be cached.
	Offline bool
	// Timeout bounds each HTTP request. Default 2 minutes.
	Timeout time.Duration
	// Transport is the base HTTP transport (proxy settings etc.). Default
	// a clone of http.DefaultTransport. Its TLS config is extended with
	// Spec.CABundle.
	Transport *http.Transport
}

// Client resolves and fetches charts. It is safe for concurrent use.
type Client struct {
	cache   *cache.Cache
	offline bool
	timeout time.Duration
	base    *http.Transport
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Cache == nil {
		return nil, errors.New("helm repository client: a cache is required")
	}
	c := &Client{cache: opts.Cache, offline: opts.Offline, timeout: opts.Timeout, base: opts.Transport}
	if c.timeout == 0 {
		c.timeout = 2 * time.Minute
	}
	if c.base == nil {
		c.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return c, nil
}

// httpClient returns an HTTP client trusting spec's CA bundle.
func (c *Client) httpClient(spec Spec) (*http.Client, error) {
	tr := c.base.Clone()
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t := source.TLS{CABundle: spec.CABundle, CertPEM: spec.CertPEM, KeyPEM: spec.KeyPEM, InsecureSkipVerify: spec.InsecureSkipVerify}
	if err := t.Apply(tr.TLSClientConfig); err != nil {
		return nil, err
	}
	return &http.Client{Transport: tr, Timeout: c.timeout}, nil
}

// pick returns the highest of versions matching ref.
func pick(ref ChartRef, versions []string) (string, error) {
	var cs version.Constraints
	if ref.Version != "" {
		var err error
		cs, err = version.NewConstraint(ref.Version)
		if err != nil {
			return "", fmt.Errorf("version constraint %q: %w", ref.Version, err)
		}
	}
	var best *version.Version
	var bestRaw string
	for _, raw := range versions {
		v, err := version.NewVersion(raw)
		if err != nil {
			continue
		}
		if !matches(cs, v, ref.Prerelease) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestRaw = v, raw
		}
	}
	if best == nil {
		what := "any stable version"
		if ref.Version != "" {
			what = fmt.Sprintf("version %q", ref.Version)
		}
		if ref.Prerelease {
			what += " (pre-releases included)"
		}
		return "", fmt.Errorf("chart %q has no %s: %w", ref.Name, what, &NotFoundError{Version: true})
	}
	return bestRaw, nil
}

func matches(cs version.Constraints, v *version.Version, prerelease bool) bool {
	if v.Prerelease() == "" {
		return cs == nil || cs.Check(v)
	}
	if cs != nil && cs.Check(v) {
		return true // go-version: the constraint names this pre-release
	}
	if !prerelease {
		return false
	}
	return cs == nil || cs.Check(v.Core())
}
