package oci

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	version "github.com/hashicorp/go-version"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/source"
)

// Media types of Flux's OCI artifacts, as `flux push artifact` writes them.
const (
	ConfigMediaType  = "application/vnd.cncf.flux.config.v1+json"
	ContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// Errors wrapped by the errors this package returns.
var (
	// ErrNotFound: no such repository, tag or digest, or no tag matches.
	ErrNotFound = errors.New("artifact not found")
	// ErrDigestMismatch: downloaded content does not match its digest.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrAuthentication: the registry rejected the credentials or asked
	// for some.
	ErrAuthentication = errors.New("authentication failed")
	// ErrFormat: the manifest is not a Flux artifact or its layer is not
	// a gzipped tarball.
	ErrFormat = errors.New("not a Flux OCI artifact")
)

// maxManifest bounds the size of a manifest read into memory.
const maxManifest = 4 << 20

// Ref selects a manifest: exactly one of Tag, SemVer and Digest.
type Ref struct {
	Tag string
	// SemVer is a hashicorp/go-version constraint over the repository's
	// tags; the highest match wins, pre-releases only when the
	// constraint names one.
	SemVer string
	// Digest is a manifest digest, "sha256:<hex>".
	Digest string
}

// Spec describes one artifact repository and the manifest to take.
type Spec struct {
	// URL is oci://host[:port]/repository, without tag or digest.
	URL string
	Ref Ref
	// Username and Password for the registry (basic auth, or to obtain a
	// token).
	Username string
	Password string
	TLS      source.TLS
	// PlainHTTP talks HTTP instead of HTTPS (local registries, tests).
	PlainHTTP bool
}

// Resolved is the manifest a Spec's Ref names.
type Resolved struct {
	// Tag is the tag that was resolved, "" for a pinned digest.
	Tag string
	// Digest is the manifest digest.
	Digest string
}

// Revision is how plans and state name the artifact, as Flux does:
// "<tag>@sha256:<hex>", or the digest alone.
func (r Resolved) Revision() string {
	if r.Tag == "" {
		return r.Digest
	}
	return r.Tag + "@" + r.Digest
}

// Pin returns spec pinned to revision (as Resolved.Revision returns it):
// the same manifest is fetched again, from the cache when it is there.
func Pin(spec Spec, revision string) (Spec, error) {
	d := revision
	if i := strings.LastIndex(revision, "@"); i >= 0 {
		d = revision[i+1:]
	}
	if err := checkDigest(d); err != nil {
		return spec, fmt.Errorf("revision %q is not an OCI artifact revision (<tag>@sha256:<hex>): %w", revision, err)
	}
	spec.Ref = Ref{Digest: d}
	return spec, nil
}

func checkDigest(d string) error {
	if !strings.HasPrefix(d, "sha256:") {
		return fmt.Errorf("digest %q is not sha256:<64 hex digits>", d)
	}
	if _, err := digest.Parse(d); err != nil {
		return fmt.Errorf("digest %q is not sha256:<64 hex digits>", d)
	}
	return nil
}

// Options configure a Client.
type Options struct {
	// Cache stores unpacked artifacts. Required.
	Cache *cache.Cache
	// Timeout bounds each HTTP request. Default 2 minutes.
	Timeout time.Duration
	// Transport is the base HTTP transport. Default a clone of
	// http.DefaultTransport.
	Transport *http.Transport
}

// Client resolves and fetches artifacts. It is safe for concurrent use.
type Client struct {
	cache   *cache.Cache
	timeout time.Duration
	base    *http.Transport
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Cache == nil {
		return nil, errors.New("oci client: a cache is required")
	}
	c := &Client{cache: opts.Cache, timeout: opts.Timeout, base: opts.Transport}
	if c.timeout == 0 {
		c.timeout = 2 * time.Minute
	}
	if c.base == nil {
		c.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return c, nil
}

// repository parses spec.URL and returns a client for it.
func (c *Client) repository(spec Spec) (*remote.Repository, error) {
	name, err := repoName(spec.URL)
	if err != nil {
		return nil, err
	}
	repo, err := remote.NewRepository(name)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", source.RedactURL(spec.URL), err)
	}
	tr := c.base.Clone()
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if err := spec.TLS.Apply(tr.TLSClientConfig); err != nil {
		return nil, fmt.Errorf("artifact %s: %w", source.RedactURL(spec.URL), err)
	}
	ac := &auth.Client{Client: &http.Client{Transport: tr, Timeout: c.timeout}, Cache: auth.NewCache()}
	ac.SetUserAgent("strata")
	if spec.Username != "" || spec.Password != "" {
		ac.Credential = auth.StaticCredential(repo.Reference.Registry, auth.Credential{Username: spec.Username, Password: spec.Password})
	}
	repo.Client = ac
	repo.PlainHTTP = spec.PlainHTTP
	return repo, nil
}

// repoName returns "host/path" for an oci:// URL that names a repository
// (no tag, no digest, no credentials).
func repoName(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "oci" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return "", fmt.Errorf("artifact URL %q is not oci://host/repository", source.RedactURL(raw))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("artifact URL %q: credentials, queries and fragments do not belong in the URL", source.RedactURL(raw))
	}
	name := u.Host + "/" + strings.Trim(u.Path, "/")
	if strings.ContainsAny(name[len(u.Host):], "@:") {
		return "", fmt.Errorf("artifact URL %q names a tag or digest: set tag, semver or digest instead", raw)
	}
	return name, nil
}

// Resolve returns the manifest spec.Ref names, asking the registry.
func (c *Client) Resolve(ctx context.Context, spec Spec) (Resolved, error) {
	if err := checkRef(spec.Ref); err != nil {
		return Resolved{}, fmt.Errorf("artifact %s: %w", source.RedactURL(spec.URL), err)
	}
	repo, err := c.repository(spec)
	if err != nil {
		return Resolved{}, err
	}
	return c.resolve(ctx, repo, spec)
}

func checkRef(r Ref) error {
	n := 0
	for _, s := range []string{r.Tag, r.SemVer, r.Digest} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("no tag, semver or digest: name the manifest to fetch")
	case n > 1:
		return errors.New("set only one of tag, semver and digest")
	case r.Digest != "":
		return checkDigest(r.Digest)
	}
	return nil
}

func (c *Client) resolve(ctx context.Context, repo *remote.Repository, spec Spec) (Resolved, error) {
	display := source.RedactURL(spec.URL)
	tag := spec.Ref.Tag
	if spec.Ref.SemVer != "" {
		t, err := c.pickTag(ctx, repo, spec)
		if err != nil {
			return Resolved{}, err
		}
		tag = t
	}
	reference := tag
	if spec.Ref.Digest != "" {
		reference = spec.Ref.Digest
	}
	desc, err := repo.Resolve(ctx, reference)
	if err != nil {
		what := "tag " + tag
		if tag == "" {
			what = "digest " + reference
		}
		return Resolved{}, registryError(fmt.Sprintf("artifact %s: %s", display, what), err)
	}
	if spec.Ref.Digest != "" && desc.Digest.String() != spec.Ref.Digest {
		return Resolved{}, fmt.Errorf("artifact %s: the registry answered digest %s for %s: %w", display, desc.Digest, spec.Ref.Digest, ErrDigestMismatch)
	}
	return Resolved{Tag: tag, Digest: desc.Digest.String()}, nil
}

// pickTag lists the repository's tags and returns the highest matching
// spec.Ref.SemVer.
func (c *Client) pickTag(ctx context.Context, repo *remote.Repository, spec Spec) (string, error) {
	display := source.RedactURL(spec.URL)
	cs, err := version.NewConstraint(spec.Ref.SemVer)
	if err != nil {
		return "", fmt.Errorf("artifact %s: semver %q: %w", display, spec.Ref.SemVer, err)
	}
	var best *version.Version
	var bestTag string
	err = repo.Tags(ctx, "", func(tags []string) error {
		for _, t := range tags {
			v, err := version.NewVersion(t)
			if err != nil || !cs.Check(v) {
				continue
			}
			if best == nil || v.GreaterThan(best) {
				best, bestTag = v, t
			}
		}
		return nil
	})
	if err != nil {
		return "", registryError("artifact "+display+": list tags", err)
	}
	if best == nil {
		return "", fmt.Errorf("artifact %s: no tag matches semver %q: %w", display, spec.Ref.SemVer, ErrNotFound)
	}
	return bestTag, nil
}

// Fetch resolves spec and returns the artifact's unpacked content, from the
// cache when the manifest was fetched before.
func (c *Client) Fetch(ctx context.Context, spec Spec) (*source.Artifact, error) {
	if err := checkRef(spec.Ref); err != nil {
		return nil, fmt.Errorf("artifact %s: %w", source.RedactURL(spec.URL), err)
	}
	repo, err := c.repository(spec)
	if err != nil {
		return nil, err
	}
	var res Resolved
	if spec.Ref.Digest != "" {
		// A pinned digest is served from the cache without asking.
		res = Resolved{Digest: spec.Ref.Digest}
	} else if res, err = c.resolve(ctx, repo, spec); err != nil {
		return nil, err
	}
	key := "oci/" + repo.Reference.Registry + "/" + repo.Reference.Repository + "@" + res.Digest
	e, err := c.cache.Put(key, map[string]string{"digest": res.Digest}, func(dir string) error {
		return c.pull(ctx, repo, spec, res.Digest, dir)
	})
	if err != nil {
		return nil, err
	}
	sum, err := source.DirDigest(e.Dir)
	if err != nil {
		return nil, err
	}
	return &source.Artifact{Dir: e.Dir, Revision: res.Revision(), Digest: sum}, nil
}

// pull downloads the manifest dgst and unpacks its content layer into dir.
func (c *Client) pull(ctx context.Context, repo *remote.Repository, spec Spec, dgst, dir string) error {
	display := source.RedactURL(spec.URL) + "@" + dgst
	desc, rc, err := repo.FetchReference(ctx, dgst)
	if err != nil {
		return registryError("artifact "+display, err)
	}
	defer rc.Close()
	if desc.Size > maxManifest {
		return fmt.Errorf("artifact %s: manifest of %d bytes is too large: %w", display, desc.Size, ErrFormat)
	}
	raw, err := content.ReadAll(rc, desc)
	if err != nil {
		return registryError("artifact "+display+": manifest", err)
	}
	if desc.Digest.String() != dgst {
		return fmt.Errorf("artifact %s: manifest has digest %s: %w", display, desc.Digest, ErrDigestMismatch)
	}
	layer, err := contentLayer(raw)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", display, err)
	}
	tmp, err := c.download(ctx, repo, layer, filepath.Dir(dir))
	if err != nil {
		return registryError("artifact "+display+": layer "+layer.Digest.String(), err)
	}
	defer os.Remove(tmp)
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := untar(f, dir); err != nil {
		return fmt.Errorf("artifact %s: layer %s: %w", display, layer.Digest, err)
	}
	return nil
}

// download writes the blob desc into a new file under tmpDir, checked
// against its size and digest, and returns the file's path.
func (c *Client) download(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, tmpDir string) (string, error) {
	rc, err := repo.Fetch(ctx, desc)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	f, err := os.CreateTemp(tmpDir, "layer-")
	if err != nil {
		return "", err
	}
	vr := content.NewVerifyReader(rc, desc)
	_, err = io.Copy(f, vr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = vr.Verify()
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// contentLayer returns the layer to unpack from a manifest: the one of
// Flux's content media type, else (as Flux does without a layer selector)
// the first.
func contentLayer(raw []byte) (ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("manifest is not JSON: %w", ErrFormat)
	}
	switch m.MediaType {
	case ocispec.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json", "":
	default:
		return ocispec.Descriptor{}, fmt.Errorf("manifest of media type %q (an index or another kind of manifest): %w", m.MediaType, ErrFormat)
	}
	for _, l := range m.Layers {
		if l.MediaType == ContentMediaType {
			return l, nil
		}
	}
	if len(m.Layers) == 0 {
		return ocispec.Descriptor{}, fmt.Errorf("manifest has no layers: %w", ErrFormat)
	}
	return m.Layers[0], nil
}

// registryError classifies an oras error.
func registryError(what string, err error) error {
	var ec *errcode.ErrorResponse
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return fmt.Errorf("%s: %v: %w", what, err, ErrNotFound)
	case errors.As(err, &ec) && (ec.StatusCode == http.StatusUnauthorized || ec.StatusCode == http.StatusForbidden):
		return fmt.Errorf("%s: %v: %w", what, err, ErrAuthentication)
	case errors.As(err, &ec) && ec.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %v: %w", what, err, ErrNotFound)
	case errors.Is(err, content.ErrMismatchedDigest), errors.Is(err, content.ErrTrailingData), errors.Is(err, content.ErrInvalidDescriptorSize):
		return fmt.Errorf("%s: downloaded content does not match its digest (%v): %w", what, err, ErrDigestMismatch)
	}
	return fmt.Errorf("%s: %w", what, err)
}
