package helmrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/registry"

	"github.com/strata-gitops/strata/providers/source"
)

// ociBase returns "host/path" for an oci:// URL.
func ociBase(spec Spec) string {
	return strings.TrimSuffix(strings.TrimPrefix(spec.URL, "oci://"), "/")
}

func (c *Client) registryClient(spec Spec) (*registry.Client, error) {
	hc, err := c.httpClient(spec)
	if err != nil {
		return nil, err
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptEnableCache(true),
	}
	if spec.Username != "" || spec.Password != "" {
		opts = append(opts, registry.ClientOptBasicAuth(spec.Username, spec.Password))
	}
	if spec.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return rc, nil
}

// resolveOCI lists the chart's tags, picks the highest match and resolves
// its manifest digest. With a pinned digest it only checks the pin.
func (c *Client) resolveOCI(_ context.Context, spec Spec, ref ChartRef) (ChartVersion, error) {
	repoRef := ociBase(spec) + "/" + ref.Name
	display := "oci://" + repoRef
	if ref.Digest != "" {
		if !strings.HasPrefix(ref.Digest, "sha256:") || len(ref.Digest) != len("sha256:")+64 {
			return ChartVersion{}, fmt.Errorf("chart %s: digest %q is not sha256:<64 hex digits>", display, ref.Digest)
		}
		// The version is read from the chart after download; Fetch
		// checks it against ref.Version.
		return ChartVersion{Name: ref.Name, Version: ref.Version, Digest: ref.Digest, URL: repoRef + "@" + ref.Digest}, nil
	}
	if c.offline {
		return ChartVersion{}, fmt.Errorf("chart %s: %w (pin a digest to use the cache)", display, ErrOffline)
	}
	rc, err := c.registryClient(spec)
	if err != nil {
		return ChartVersion{}, err
	}
	tags, err := rc.Tags(repoRef)
	if err != nil {
		return ChartVersion{}, ociError("list tags of "+display, err, spec)
	}
	v, err := pick(ref, tags)
	if err != nil {
		return ChartVersion{}, fmt.Errorf("registry %s: %w", source.RedactURL(spec.URL), err)
	}
	tagged := repoRef + ":" + strings.ReplaceAll(v, "+", "_")
	desc, err := rc.Resolve(tagged)
	if err != nil {
		return ChartVersion{}, ociError("resolve "+display+":"+v, err, spec)
	}
	return ChartVersion{Name: ref.Name, Version: v, Digest: desc.Digest.String(), URL: tagged}, nil
}

// fetchOCI pulls the manifest cv.Digest names, unless cached.
func (c *Client) fetchOCI(_ context.Context, spec Spec, cv ChartVersion) (*Chart, error) {
	key := "helm/oci/" + cv.Digest
	if e, ok, err := c.cache.Get(key); err != nil {
		return nil, err
	} else if ok {
		return ociChart(cv, e.Meta, e.Dir)
	}
	if c.offline {
		return nil, fmt.Errorf("chart %s %s: %w", cv.Name, cv.Version, ErrOffline)
	}
	rc, err := c.registryClient(spec)
	if err != nil {
		return nil, err
	}
	repoRef, _, _ := strings.Cut(cv.URL, "@")
	if i := strings.LastIndex(repoRef, ":"); i > strings.LastIndex(repoRef, "/") {
		repoRef = repoRef[:i]
	}
	byDigest := repoRef + "@" + cv.Digest
	meta := map[string]string{"name": cv.Name, "digest": cv.Digest}
	e, err := c.cache.Put(key, meta, func(dir string) error {
		res, err := rc.Pull(byDigest, registry.PullOptWithChart(true), registry.PullOptIgnoreMissingProv(true))
		if err != nil {
			return ociError("pull oci://"+byDigest, err, spec)
		}
		if res.Manifest.Digest != cv.Digest {
			return fmt.Errorf("pull oci://%s: manifest digest is %s: %w", byDigest, res.Manifest.Digest, ErrDigestMismatch)
		}
		sum := sha256.Sum256(res.Chart.Data)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != res.Chart.Digest {
			return fmt.Errorf("pull oci://%s: chart layer has digest %s, the manifest says %s: %w", byDigest, got, res.Chart.Digest, ErrDigestMismatch)
		}
		if res.Chart.Meta == nil {
			return fmt.Errorf("pull oci://%s: not a Helm chart", byDigest)
		}
		meta["version"] = res.Chart.Meta.Version
		meta["appVersion"] = res.Chart.Meta.AppVersion
		return os.WriteFile(filepath.Join(dir, "chart.tgz"), res.Chart.Data, 0o644)
	})
	if err != nil {
		return nil, err
	}
	return ociChart(cv, e.Meta, e.Dir)
}

func ociChart(cv ChartVersion, meta map[string]string, dir string) (*Chart, error) {
	got := meta["version"]
	if cv.Version != "" && got != cv.Version {
		if _, err := pick(ChartRef{Name: cv.Name, Version: cv.Version, Prerelease: true}, []string{got}); err != nil {
			return nil, fmt.Errorf("chart %s@%s has version %s, which does not match %q", cv.Name, cv.Digest, got, cv.Version)
		}
	}
	cv.Version = got
	cv.AppVersion = meta["appVersion"]
	return &Chart{ChartVersion: cv, Path: filepath.Join(dir, "chart.tgz")}, nil
}

func ociError(what string, err error, spec Spec) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "401") || strings.Contains(msg, "403") || strings.Contains(strings.ToLower(msg), "unauthorized"):
		return scrub(fmt.Errorf("%s: %v: %w", what, err, ErrAuthentication), spec)
	case strings.Contains(msg, "404") || strings.Contains(strings.ToLower(msg), "not found"):
		return scrub(fmt.Errorf("%s: %v: %w", what, err, ErrNotFound), spec)
	case strings.Contains(strings.ToLower(msg), "digest"):
		return scrub(fmt.Errorf("%s: downloaded content does not match its digest (%v): %w", what, err, ErrDigestMismatch), spec)
	}
	return scrub(fmt.Errorf("%s: %w", what, err), spec)
}
