package helmrepo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/strata-gitops/strata/providers/source"
)

// Resolve returns the version of ref.Name in spec's repository that ref
// selects. For HTTP repositories it reads index.yaml (revalidating the
// cached copy); for OCI it lists tags and resolves the manifest digest.
func (c *Client) Resolve(ctx context.Context, spec Spec, ref ChartRef) (ChartVersion, error) {
	if ref.Name == "" {
		return ChartVersion{}, errors.New("chart name is required")
	}
	spec = spec.normalized()
	if spec.IsOCI() {
		return c.resolveOCI(ctx, spec, ref)
	}
	idx, err := c.index(ctx, spec)
	if err != nil {
		return ChartVersion{}, err
	}
	entries := idx.Entries[ref.Name]
	if len(entries) == 0 {
		return ChartVersion{}, fmt.Errorf("chart %q is not in repository %s: %w", ref.Name, source.RedactURL(spec.URL), &NotFoundError{})
	}
	byVersion := make(map[string]*repo.ChartVersion, len(entries))
	versions := make([]string, 0, len(entries))
	for _, e := range entries {
		if e == nil || e.Metadata == nil || e.Removed {
			continue
		}
		byVersion[e.Version] = e
		versions = append(versions, e.Version)
	}
	v, err := pick(ref, versions)
	if err != nil {
		return ChartVersion{}, fmt.Errorf("repository %s: %w", source.RedactURL(spec.URL), err)
	}
	e := byVersion[v]
	if len(e.URLs) == 0 {
		return ChartVersion{}, fmt.Errorf("repository %s: chart %s %s has no download URL", source.RedactURL(spec.URL), ref.Name, v)
	}
	u, err := resolveURL(spec.URL, e.URLs[0])
	if err != nil {
		return ChartVersion{}, fmt.Errorf("repository %s: chart %s %s: %w", source.RedactURL(spec.URL), ref.Name, v, err)
	}
	digest := ""
	if e.Digest != "" {
		digest = "sha256:" + strings.TrimPrefix(strings.ToLower(e.Digest), "sha256:")
	}
	if ref.Digest != "" && ref.Digest != digest {
		return ChartVersion{}, fmt.Errorf("repository %s: chart %s %s has digest %s in the index, not the pinned %s: %w",
			source.RedactURL(spec.URL), ref.Name, v, digest, ref.Digest, ErrDigestMismatch)
	}
	return ChartVersion{Name: ref.Name, Version: v, AppVersion: e.AppVersion, Digest: digest, URL: u}, nil
}

// Fetch downloads cv (from Resolve) into the cache, unless it is there
// already, and checks its digest.
func (c *Client) Fetch(ctx context.Context, spec Spec, cv ChartVersion) (*Chart, error) {
	spec = spec.normalized()
	if spec.IsOCI() {
		return c.fetchOCI(ctx, spec, cv)
	}
	if cv.Digest == "" {
		return nil, fmt.Errorf("chart %s %s: the repository index records no digest, so the download cannot be verified", cv.Name, cv.Version)
	}
	file := chartFile(cv)
	key := "helm/chart/" + cv.Digest
	if e, ok, err := c.cache.Get(key); err != nil {
		return nil, err
	} else if ok {
		return &Chart{ChartVersion: cv, Path: filepath.Join(e.Dir, file)}, nil
	}
	if c.offline {
		return nil, fmt.Errorf("chart %s %s: %w", cv.Name, cv.Version, ErrOffline)
	}
	hc, err := c.httpClient(spec)
	if err != nil {
		return nil, err
	}
	e, err := c.cache.Put(key, map[string]string{"name": cv.Name, "version": cv.Version, "digest": cv.Digest}, func(dir string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cv.URL, nil)
		if err != nil {
			return err
		}
		if sameHost(spec.URL, cv.URL) || spec.PassCredentials {
			setAuth(req, spec)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return scrub(fmt.Errorf("download chart %s %s: %w", cv.Name, cv.Version, err), spec)
		}
		defer resp.Body.Close()
		if err := statusError(resp, "download chart "+cv.Name+" "+cv.Version+" from "+source.RedactURL(cv.URL)); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("download chart %s %s: %w", cv.Name, cv.Version, err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != cv.Digest {
			return fmt.Errorf("chart %s %s from %s: downloaded content has digest %s, the index says %s: %w",
				cv.Name, cv.Version, source.RedactURL(cv.URL), got, cv.Digest, ErrDigestMismatch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Chart{ChartVersion: cv, Path: filepath.Join(e.Dir, file)}, nil
}

// Pull resolves ref and fetches it.
func (c *Client) Pull(ctx context.Context, spec Spec, ref ChartRef) (*Chart, error) {
	cv, err := c.Resolve(ctx, spec, ref)
	if err != nil {
		return nil, err
	}
	return c.Fetch(ctx, spec, cv)
}

func chartFile(cv ChartVersion) string {
	name := path.Base(cv.Name) + "-" + cv.Version + ".tgz"
	if !filepath.IsLocal(name) {
		return "chart.tgz"
	}
	return name
}

// cachedIndex is the cache file format: a JSON header line, then the body.
type cachedIndex struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

// index returns the repository's parsed index, revalidating the cached
// copy with a conditional request.
func (c *Client) index(ctx context.Context, spec Spec) (*repo.IndexFile, error) {
	display := source.RedactURL(spec.URL)
	key := "helm/index/" + strings.TrimSuffix(stripUserinfo(spec.URL), "/")
	var hdr cachedIndex
	var body []byte
	if b, err := c.cache.ReadFile(key); err == nil {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && json.Unmarshal(b[:i], &hdr) == nil {
			body = b[i+1:]
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if c.offline {
		if body == nil {
			return nil, fmt.Errorf("index of repository %s: %w", display, ErrOffline)
		}
		return parseIndex(body, display)
	}

	hc, err := c.httpClient(spec)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", display, err)
	}
	u, err := resolveURL(spec.URL, "index.yaml")
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", display, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", display, err)
	}
	setAuth(req, spec)
	if body != nil { // revalidate the cached copy
		if hdr.ETag != "" {
			req.Header.Set("If-None-Match", hdr.ETag)
		}
		if hdr.LastModified != "" {
			req.Header.Set("If-Modified-Since", hdr.LastModified)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, scrub(fmt.Errorf("index of repository %s: %w", display, err), spec)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && body != nil {
		return parseIndex(body, display)
	}
	if err := statusError(resp, "index of repository "+display); err != nil {
		return nil, err
	}
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("index of repository %s: %w", display, err)
	}
	idx, err := parseIndex(body, display)
	if err != nil {
		return nil, err
	}
	// Cached even without validators: offline runs can still use it.
	hdr = cachedIndex{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	h, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	if err := c.cache.WriteFile(key, append(append(h, '\n'), body...)); err != nil {
		return nil, err
	}
	return idx, nil
}

func parseIndex(body []byte, display string) (*repo.IndexFile, error) {
	var idx repo.IndexFile
	if err := yaml.Unmarshal(body, &idx); err != nil {
		return nil, fmt.Errorf("index of repository %s: %w", display, err)
	}
	if idx.APIVersion == "" {
		return nil, fmt.Errorf("index of repository %s: not a Helm repository index (no apiVersion)", display)
	}
	return &idx, nil
}

func setAuth(req *http.Request, spec Spec) {
	if spec.Username != "" || spec.Password != "" {
		req.SetBasicAuth(spec.Username, spec.Password)
	}
}

func statusError(resp *http.Response, what string) error {
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s: %s: %w", what, resp.Status, ErrAuthentication)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %s: %w", what, resp.Status, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: unexpected status %s", what, resp.Status)
	}
	return nil
}

// resolveURL resolves ref against the repository URL, treated as a
// directory.
func resolveURL(repoURL, ref string) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(repoURL, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("invalid url %s", source.RedactURL(repoURL))
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("invalid chart url %q", ref)
	}
	u := base.ResolveReference(r)
	u.User = nil // credentials travel in headers, never in URLs
	return u.String(), nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

func stripUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// scrub removes the password from an error's text.
func scrub(err error, spec Spec) error {
	if err == nil || spec.Password == "" || !strings.Contains(err.Error(), spec.Password) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), spec.Password, "***"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
