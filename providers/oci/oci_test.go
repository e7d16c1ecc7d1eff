package oci_test

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/internal/testserver/ociregistry"
	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/oci"
	"github.com/strata-gitops/strata/providers/source"
)

const (
	user = "alice"
	pass = "artifact-s3cret"
)

func newClient(t *testing.T) *oci.Client {
	t.Helper()
	c, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := oci.New(oci.Options{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func manifests(version string) []ociregistry.Entry {
	return []ociregistry.Entry{
		{Name: "deploy/", Type: tar.TypeDir},
		{Name: "deploy/kustomization.yaml", Body: "resources: [cm.yaml]\n"},
		{Name: "deploy/cm.yaml", Body: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {version: \"" + version + "\"}\n"},
		{Name: "deploy/current", Link: "cm.yaml"},
	}
}

func TestFetch(t *testing.T) {
	reg := ociregistry.New(t, ociregistry.Options{Username: user, Password: pass, TLS: true})
	digests := map[string]string{}
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		digests[v] = reg.PushArtifact(t, "manifests/app", v, ociregistry.Layer(t, manifests(v)...))
	}
	reg.PushArtifact(t, "manifests/app", "latest", ociregistry.Layer(t, manifests("2.0.0")...))
	spec := oci.Spec{URL: reg.URL("manifests/app"), Username: user, Password: pass, TLS: source.TLS{CABundle: reg.CABundle()}}
	ctx := context.Background()
	cl := newClient(t)

	tests := map[string]struct {
		ref          oci.Ref
		wantRevision string
		wantVersion  string
	}{
		"tag":     {ref: oci.Ref{Tag: "1.0.0"}, wantRevision: "1.0.0@" + digests["1.0.0"], wantVersion: "1.0.0"},
		"semver":  {ref: oci.Ref{SemVer: "~> 1.0"}, wantRevision: "1.1.0@" + digests["1.1.0"], wantVersion: "1.1.0"},
		"highest": {ref: oci.Ref{SemVer: ">= 1.0"}, wantRevision: "2.0.0@" + digests["2.0.0"], wantVersion: "2.0.0"},
		"digest":  {ref: oci.Ref{Digest: digests["1.1.0"]}, wantRevision: digests["1.1.0"], wantVersion: "1.1.0"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s := spec
			s.Ref = tt.ref
			art, err := cl.Fetch(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if art.Revision != tt.wantRevision {
				t.Errorf("revision %q, want %q", art.Revision, tt.wantRevision)
			}
			b, err := os.ReadFile(filepath.Join(art.Dir, "deploy", "current"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.wantVersion) {
				t.Errorf("deploy/current (a link to cm.yaml) holds %q, want version %s", b, tt.wantVersion)
			}
			if !strings.HasPrefix(art.Digest, "sha256:") {
				t.Errorf("content digest %q", art.Digest)
			}
		})
	}

	t.Run("a pinned digest is served from the cache", func(t *testing.T) {
		s := spec
		s.Ref = oci.Ref{Digest: digests["1.0.0"]}
		if _, err := cl.Fetch(ctx, s); err != nil {
			t.Fatal(err)
		}
		reg.ResetRequests()
		if _, err := cl.Fetch(ctx, s); err != nil {
			t.Fatal(err)
		}
		if n := len(reg.Requests()); n != 0 {
			t.Errorf("%d requests for a cached digest, want 0", n)
		}
	})
	t.Run("resolve asks the registry", func(t *testing.T) {
		s := spec
		s.Ref = oci.Ref{Tag: "latest"}
		res, err := cl.Resolve(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest == "" || res.Revision() != "latest@"+res.Digest {
			t.Errorf("resolved %+v", res)
		}
	})
	t.Run("pin", func(t *testing.T) {
		p, err := oci.Pin(spec, "1.0.0@"+digests["1.0.0"])
		if err != nil || p.Ref != (oci.Ref{Digest: digests["1.0.0"]}) {
			t.Errorf("Pin = %+v, %v", p.Ref, err)
		}
		if _, err := oci.Pin(spec, "main@sha1:abc"); err == nil {
			t.Error("Pin accepted a Git revision")
		}
	})
}

func TestFetchErrors(t *testing.T) {
	reg := ociregistry.New(t, ociregistry.Options{Username: user, Password: pass})
	good := reg.PushArtifact(t, "manifests/app", "1.0.0", ociregistry.Layer(t, manifests("1.0.0")...))
	bad := func(tag string, entries ...ociregistry.Entry) string {
		return reg.PushArtifact(t, "manifests/bad", tag, ociregistry.Layer(t, entries...))
	}
	bad("dotdot", ociregistry.Entry{Name: "../escape.yaml", Body: "x"})
	bad("absolute", ociregistry.Entry{Name: "/etc/escape.yaml", Body: "x"})
	bad("link-out", ociregistry.Entry{Name: "link", Link: "../../etc/passwd"})
	bad("link-absolute", ociregistry.Entry{Name: "link", Link: "/etc/passwd"})
	bad("link-chain", ociregistry.Entry{Name: "a/b/", Type: tar.TypeDir},
		ociregistry.Entry{Name: "a/b/l", Link: "../.."}, ociregistry.Entry{Name: "y", Link: "a/b/l/../../x"})
	bad("through-link", ociregistry.Entry{Name: "d/", Type: tar.TypeDir}, ociregistry.Entry{Name: "l", Link: "d"},
		ociregistry.Entry{Name: "l/f.yaml", Body: "x"})
	bad("hardlink", ociregistry.Entry{Name: "a.yaml", Body: "x"}, ociregistry.Entry{Name: "h", Link: "a.yaml", Type: tar.TypeLink})
	reg.PushArtifact(t, "manifests/notgzip", "1", []byte("plain text, not a tarball"))
	reg.PushArtifact(t, "manifests/tampered", "1", ociregistry.Layer(t, manifests("1")...))
	reg.TamperChart(t, "manifests/tampered", "1")

	spec := func(path string, ref oci.Ref) oci.Spec {
		return oci.Spec{URL: reg.URL(path), Ref: ref, Username: user, Password: pass, PlainHTTP: true}
	}
	wrongDigest := "sha256:" + strings.Repeat("0", 64)
	tests := map[string]struct {
		spec    oci.Spec
		wantErr error
		want    string
	}{
		"no ref":           {spec: spec("manifests/app", oci.Ref{}), want: "no tag, semver or digest"},
		"two refs":         {spec: spec("manifests/app", oci.Ref{Tag: "1.0.0", Digest: good}), want: "only one of"},
		"missing tag":      {spec: spec("manifests/app", oci.Ref{Tag: "9.9.9"}), wantErr: oci.ErrNotFound, want: "tag 9.9.9"},
		"no semver match":  {spec: spec("manifests/app", oci.Ref{SemVer: ">= 5.0"}), wantErr: oci.ErrNotFound, want: "no tag matches"},
		"wrong digest":     {spec: spec("manifests/app", oci.Ref{Digest: wrongDigest}), wantErr: oci.ErrNotFound, want: wrongDigest},
		"malformed digest": {spec: spec("manifests/app", oci.Ref{Digest: "sha256:abc"}), want: "not sha256:<64 hex digits>"},
		"wrong password":   {spec: oci.Spec{URL: reg.URL("manifests/app"), Ref: oci.Ref{Tag: "1.0.0"}, Username: user, Password: "nope", PlainHTTP: true}, wantErr: oci.ErrAuthentication},
		"dotdot":           {spec: spec("manifests/bad", oci.Ref{Tag: "dotdot"}), wantErr: confine.ErrOutside, want: "../escape.yaml"},
		"absolute":         {spec: spec("manifests/bad", oci.Ref{Tag: "absolute"}), wantErr: confine.ErrOutside, want: "/etc/escape.yaml"},
		"link out":         {spec: spec("manifests/bad", oci.Ref{Tag: "link-out"}), wantErr: confine.ErrOutside, want: "symbolic link"},
		"absolute link":    {spec: spec("manifests/bad", oci.Ref{Tag: "link-absolute"}), wantErr: confine.ErrOutside, want: "/etc/passwd"},
		"chain of links":   {spec: spec("manifests/bad", oci.Ref{Tag: "link-chain"}), want: "entry y: a symbolic link"},
		"through a link":   {spec: spec("manifests/bad", oci.Ref{Tag: "through-link"}), wantErr: confine.ErrOutside, want: "l/f.yaml"},
		"hard link":        {spec: spec("manifests/bad", oci.Ref{Tag: "hardlink"}), wantErr: oci.ErrFormat, want: "hard links"},
		"not a tarball":    {spec: spec("manifests/notgzip", oci.Ref{Tag: "1"}), wantErr: oci.ErrFormat},
		"tampered layer":   {spec: spec("manifests/tampered", oci.Ref{Tag: "1"}), wantErr: oci.ErrDigestMismatch},
		"url with tag":     {spec: spec("manifests/app:1.0.0", oci.Ref{Tag: "1.0.0"}), want: "names a tag or digest"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := newClient(t).Fetch(context.Background(), tt.spec)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), "nope") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
