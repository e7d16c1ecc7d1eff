package ociregistry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Flux's media types for `flux push artifact`.
const (
	FluxConfigMediaType  = "application/vnd.cncf.flux.config.v1+json"
	FluxContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// Entry is one entry of a layer built by Layer: a regular file with Body,
// or, with Link set, a symbolic link (Type tar.TypeSymlink, the default
// for a Link) or a hard link (tar.TypeLink).
type Entry struct {
	Name string
	Body string
	Link string
	Type byte
}

// Files returns the entries of regular files, name to content.
func Files(files map[string]string) []Entry {
	var out []Entry
	for n, b := range files {
		out = append(out, Entry{Name: n, Body: b})
	}
	return out
}

// Layer returns a gzipped tarball of entries, as `flux push artifact`
// builds it, without any checks: tests build bad layers with it too.
func Layer(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: e.Type}
		switch {
		case e.Link != "" && e.Type == 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
		case e.Link != "":
			h.Linkname = e.Link
		case e.Type == 0:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// PushArtifact pushes layer to <host>/<path>:<tag> in Flux's format (the
// config and content media types of `flux push artifact`, with its
// annotations) and returns the manifest digest.
func (r *Registry) PushArtifact(t testing.TB, path, tag string, layer []byte) string {
	t.Helper()
	ctx := context.Background()
	repo, err := remote.NewRepository(r.Host() + "/" + path)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{}
	if r.http.TLS != nil {
		pool := x509.NewCertPool()
		pool.AddCert(r.http.Certificate())
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	ac := &auth.Client{Client: hc}
	if r.opts.Username != "" {
		ac.Credential = auth.StaticCredential(r.Host(), auth.Credential{Username: r.opts.Username, Password: r.opts.Password})
	}
	repo.Client = ac
	repo.PlainHTTP = r.http.TLS == nil
	push := func(mediaType string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := repo.Push(ctx, d, bytes.NewReader(data)); err != nil {
			t.Fatalf("push blob: %v", err)
		}
		return d
	}
	cfg := push(FluxConfigMediaType, []byte("{}"))
	lay := push(FluxContentMediaType, layer)
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfg,
		Layers:    []ocispec.Descriptor{lay},
		Annotations: map[string]string{
			ocispec.AnnotationCreated:  "2026-01-01T00:00:00Z",
			ocispec.AnnotationSource:   "https://example.com/manifests",
			ocispec.AnnotationRevision: tag + "@sha1:0000000000000000000000000000000000000000",
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := repo.PushReference(ctx, md, bytes.NewReader(raw), tag); err != nil {
		t.Fatalf("push manifest %s:%s: %v", path, tag, err)
	}
	r.mu.Lock()
	r.layers[path+":"+tag] = lay.Digest.String()
	r.mu.Unlock()
	return md.Digest.String()
}
