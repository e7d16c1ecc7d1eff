package helmrepo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testserver/helmserver"
	"github.com/strata-gitops/strata/internal/testserver/ociregistry"
	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/helmrepo"
)

const (
	user = "bob"
	pass = "chart-s3cret"
)

var versions = []string{"1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0"}

func newClient(t *testing.T, c *cache.Cache, offline bool) *helmrepo.Client {
	t.Helper()
	if c == nil {
		c = newCache(t)
	}
	cl, err := helmrepo.New(helmrepo.Options{Cache: c, Offline: offline})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func newCache(t *testing.T) *cache.Cache {
	t.Helper()
	c, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// constraintCases apply to both repository kinds.
var constraintCases = map[string]struct {
	ref  helmrepo.ChartRef
	want string
}{
	"latest stable":               {ref: helmrepo.ChartRef{Name: "app"}, want: "2.0.0"},
	"exact":                       {ref: helmrepo.ChartRef{Name: "app", Version: "1.0.0"}, want: "1.0.0"},
	"pessimistic (go-version ~>)": {ref: helmrepo.ChartRef{Name: "app", Version: "~> 1.0"}, want: "1.1.0"},
	"range":                       {ref: helmrepo.ChartRef{Name: "app", Version: ">= 1.0, < 2.0"}, want: "1.1.0"},
	"range with pre-releases":     {ref: helmrepo.ChartRef{Name: "app", Version: ">= 1.0, < 2.0", Prerelease: true}, want: "1.2.0-rc.1"},
	"exact pre-release":           {ref: helmrepo.ChartRef{Name: "app", Version: "1.2.0-rc.1"}, want: "1.2.0-rc.1"},
}

func TestHTTPRepository(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{Username: user, Password: pass, TLS: true})
	digests := map[string]string{}
	for _, v := range versions {
		digests[v] = srv.AddChart(t, helmserver.Chart("app", v))
	}
	spec := helmrepo.Spec{URL: srv.URL(), Username: user, Password: pass, CABundle: srv.CABundle()}
	ctx := context.Background()

	t.Run("constraints", func(t *testing.T) {
		cl := newClient(t, nil, false)
		for name, tt := range constraintCases {
			t.Run(name, func(t *testing.T) {
				ch, err := cl.Pull(ctx, spec, tt.ref)
				if err != nil {
					t.Fatal(err)
				}
				if ch.Version != tt.want || ch.Digest != digests[tt.want] {
					t.Errorf("got %s %s, want %s %s", ch.Version, ch.Digest, tt.want, digests[tt.want])
				}
				loaded, err := ch.Load()
				if err != nil {
					t.Fatal(err)
				}
				if loaded.Metadata.Version != tt.want {
					t.Errorf("archive holds version %s, want %s", loaded.Metadata.Version, tt.want)
				}
			})
		}
	})

	t.Run("no match", func(t *testing.T) {
		_, err := newClient(t, nil, false).Resolve(ctx, spec, helmrepo.ChartRef{Name: "app", Version: ">= 3"})
		if !errors.Is(err, helmrepo.ErrNotFound) || !strings.Contains(err.Error(), `no version ">= 3"`) {
			t.Errorf("err = %v", err)
		}
		_, err = newClient(t, nil, false).Resolve(ctx, spec, helmrepo.ChartRef{Name: "nope"})
		if !errors.Is(err, helmrepo.ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("unchanged source downloads nothing in full", func(t *testing.T) {
		c := newCache(t)
		ref := helmrepo.ChartRef{Name: "app", Version: "~> 1.0"}
		first, err := newClient(t, c, false).Pull(ctx, spec, ref)
		if err != nil {
			t.Fatal(err)
		}
		srv.ResetRequests()
		second, err := newClient(t, c, false).Pull(ctx, spec, ref) // a later run
		if err != nil {
			t.Fatal(err)
		}
		if first.Path != second.Path || first.Digest != second.Digest {
			t.Errorf("second pull differs: %+v vs %+v", first, second)
		}
		if n := srv.Downloads("index.yaml"); n != 0 {
			t.Errorf("index downloaded %d times in full, want 0 (304)", n)
		}
		if n := srv.Downloads(".tgz"); n != 0 {
			t.Errorf("chart downloaded %d times, want 0", n)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests, want 1 conditional index request: %+v", n, srv.Requests())
		}

		// Offline: the cached index and chart are enough.
		srv.ResetRequests()
		off, err := newClient(t, c, true).Pull(ctx, spec, ref)
		if err != nil {
			t.Fatalf("offline pull: %v", err)
		}
		if off.Digest != first.Digest || len(srv.Requests()) != 0 {
			t.Errorf("offline pull: %s, %d requests", off.Digest, len(srv.Requests()))
		}
		if _, err := newClient(t, c, true).Pull(ctx, spec, helmrepo.ChartRef{Name: "app", Version: "1.0.0"}); !errors.Is(err, helmrepo.ErrOffline) {
			t.Errorf("offline pull of an uncached chart: err = %v, want ErrOffline", err)
		}
	})

	t.Run("pinned revision", func(t *testing.T) {
		c := newCache(t)
		first, err := newClient(t, c, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "app", Version: "~> 1.0"})
		if err != nil {
			t.Fatal(err)
		}
		pinned, err := helmrepo.Pin(helmrepo.ChartRef{Name: "app", Version: "~> 1.0"}, first.Revision())
		if err != nil {
			t.Fatal(err)
		}
		srv.ResetRequests()
		got, err := newClient(t, c, true).Pull(ctx, spec, pinned)
		if err != nil {
			t.Fatalf("offline pull of a pinned revision: %v", err)
		}
		if got.Revision() != first.Revision() || len(srv.Requests()) != 0 {
			t.Errorf("got %s with %d requests, want %s with none", got.Revision(), len(srv.Requests()), first.Revision())
		}
		pinned.Digest = digests["1.0.0"]
		if _, err := newClient(t, c, false).Pull(ctx, spec, pinned); !errors.Is(err, helmrepo.ErrDigestMismatch) {
			t.Errorf("pin with another digest: err = %v, want ErrDigestMismatch", err)
		}
	})

	t.Run("tampered chart", func(t *testing.T) {
		srv.Tamper(t, "app", "2.0.0")
		_, err := newClient(t, nil, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "app", Version: "2.0.0"})
		t.Logf("error: %v", err)
		if !errors.Is(err, helmrepo.ErrDigestMismatch) || !strings.Contains(err.Error(), digests["2.0.0"]) {
			t.Errorf("err = %v, want a digest mismatch naming %s", err, digests["2.0.0"])
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		bad := spec
		bad.Password = "wrong-pw-42"
		_, err := newClient(t, nil, false).Resolve(ctx, bad, helmrepo.ChartRef{Name: "app"})
		t.Logf("error: %v", err)
		if !errors.Is(err, helmrepo.ErrAuthentication) {
			t.Errorf("err = %v, want ErrAuthentication", err)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-pw-42") {
			t.Errorf("err leaks the password: %v", err)
		}
	})

	t.Run("credentials in the url", func(t *testing.T) {
		inURL := helmrepo.Spec{URL: strings.Replace(srv.URL(), "https://", "https://"+user+":"+pass+"@", 1), CABundle: srv.CABundle()}
		ch, err := newClient(t, nil, false).Pull(ctx, inURL, helmrepo.ChartRef{Name: "app", Version: "1.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ch.URL, pass) {
			t.Errorf("chart URL keeps the password: %s", ch.URL)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		noCA := spec
		noCA.CABundle = nil
		_, err := newClient(t, nil, false).Resolve(ctx, noCA, helmrepo.ChartRef{Name: "app"})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %v, want a certificate error", err)
		}
	})
}

func TestOCIRegistry(t *testing.T) {
	reg := ociregistry.New(t, ociregistry.Options{Username: user, Password: pass, TLS: true})
	manifests := map[string]string{}
	for _, v := range versions {
		manifests[v] = reg.PushChart(t, "charts", helmserver.Chart("app", v))
	}
	spec := helmrepo.Spec{URL: reg.URL("charts"), Username: user, Password: pass, CABundle: reg.CABundle()}
	ctx := context.Background()

	t.Run("constraints", func(t *testing.T) {
		cl := newClient(t, nil, false)
		for name, tt := range constraintCases {
			t.Run(name, func(t *testing.T) {
				ch, err := cl.Pull(ctx, spec, tt.ref)
				if err != nil {
					t.Fatal(err)
				}
				if ch.Version != tt.want || ch.Digest != manifests[tt.want] {
					t.Errorf("got %s %s, want %s %s", ch.Version, ch.Digest, tt.want, manifests[tt.want])
				}
				loaded, err := ch.Load()
				if err != nil {
					t.Fatal(err)
				}
				if loaded.Metadata.Version != tt.want {
					t.Errorf("archive holds version %s, want %s", loaded.Metadata.Version, tt.want)
				}
			})
		}
	})

	t.Run("digest pin", func(t *testing.T) {
		c := newCache(t)
		ref := helmrepo.ChartRef{Name: "app", Digest: manifests["1.1.0"]}
		ch, err := newClient(t, c, false).Pull(ctx, spec, ref)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Version != "1.1.0" || ch.Digest != manifests["1.1.0"] {
			t.Errorf("got %s %s", ch.Version, ch.Digest)
		}
		// A pinned digest that is cached needs no network.
		reg.ResetRequests()
		if _, err := newClient(t, c, true).Pull(ctx, spec, ref); err != nil {
			t.Errorf("offline pull of a pinned, cached digest: %v", err)
		}
		if n := len(reg.Requests()); n != 0 {
			t.Errorf("offline pull made %d requests", n)
		}
		// Pin from a recorded revision.
		pinned, err := helmrepo.Pin(helmrepo.ChartRef{Name: "app"}, ch.Revision())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := newClient(t, c, true).Pull(ctx, spec, pinned); err != nil || got.Revision() != ch.Revision() {
			t.Errorf("offline pull of %s = %v, %v", ch.Revision(), got, err)
		}
		// The pin and the version must agree.
		_, err = newClient(t, c, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "app", Digest: manifests["1.1.0"], Version: "2.0.0"})
		if err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("err = %v, want a version mismatch", err)
		}
	})

	t.Run("unchanged source downloads nothing in full", func(t *testing.T) {
		c := newCache(t)
		ref := helmrepo.ChartRef{Name: "app", Version: "~> 1.0"}
		if _, err := newClient(t, c, false).Pull(ctx, spec, ref); err != nil {
			t.Fatal(err)
		}
		reg.ResetRequests()
		if _, err := newClient(t, c, false).Pull(ctx, spec, ref); err != nil {
			t.Fatal(err)
		}
		if n := reg.BlobDownloads(); n != 0 {
			t.Errorf("second pull downloaded %d blobs, want 0: %+v", n, reg.Requests())
		}
	})

	t.Run("tampered chart", func(t *testing.T) {
		reg.TamperChart(t, "app", "2.0.0")
		_, err := newClient(t, nil, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "app", Version: "2.0.0"})
		t.Logf("error: %v", err)
		if !errors.Is(err, helmrepo.ErrDigestMismatch) {
			t.Errorf("err = %v, want ErrDigestMismatch", err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		bad := spec
		bad.Password = "wrong-pw-42"
		_, err := newClient(t, nil, false).Resolve(ctx, bad, helmrepo.ChartRef{Name: "app"})
		t.Logf("error: %v", err)
		if !errors.Is(err, helmrepo.ErrAuthentication) {
			t.Errorf("err = %v, want ErrAuthentication", err)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-pw-42") {
			t.Errorf("err leaks the password: %v", err)
		}
	})
}

func TestIndexRevalidationWithoutETag(t *testing.T) {
	srv := helmserver.New(t, helmserver.Options{NoETag: true})
	srv.AddChart(t, helmserver.Chart("app", "1.0.0"))
	spec := helmrepo.Spec{URL: srv.URL()}
	c := newCache(t)
	ctx := context.Background()
	if _, err := newClient(t, c, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	if _, err := newClient(t, c, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	want := []helmserver.Request{{Method: "GET", Path: "/index.yaml", Status: 304}}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("requests of the second pull (-want +got):\n%s", diff)
	}

	// A changed index is downloaded and its new version seen.
	srv.AddChart(t, helmserver.Chart("app", "1.1.0"))
	ch, err := newClient(t, c, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != "1.1.0" {
		t.Errorf("after the index changed: version %s, want 1.1.0", ch.Version)
	}
}

func TestOCIPlainHTTP(t *testing.T) {
	reg := ociregistry.New(t, ociregistry.Options{})
	want := reg.PushChart(t, "charts", helmserver.Chart("web", "0.3.0"))
	ctx := context.Background()
	spec := helmrepo.Spec{URL: reg.URL("charts"), PlainHTTP: true}
	ch, err := newClient(t, nil, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != "0.3.0" || ch.Digest != want {
		t.Errorf("got %s, want 0.3.0@%s", ch.Revision(), want)
	}
	spec.PlainHTTP = false
	if _, err := newClient(t, nil, false).Pull(ctx, spec, helmrepo.ChartRef{Name: "web"}); err == nil {
		t.Error("an http registry was reached over https without plain_http")
	}
}
