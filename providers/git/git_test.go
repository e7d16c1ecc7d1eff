package git_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/internal/testserver/gitserver"
	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/git"
)

const (
	user = "alice"
	pass = "s3cret-p4ss"
)

// fixture is a repository with every kind of ref, served over HTTP (basic
// auth) and SSH.
type fixture struct {
	srv    *gitserver.Server
	ssh    *gitserver.SSHServer
	sshKey []byte
	repo   *gitserver.Repo
	key    *openpgp.Entity
	pub    string
	// commits by name
	c map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{srv: gitserver.New(t, gitserver.Options{Username: user, Password: pass}), c: map[string]string{}}
	f.key, f.pub = gitserver.NewPGPKey(t, "maintainer")
	r := f.srv.NewRepo(t, "app.git")
	f.repo = r
	f.c["first"] = r.Commit(t, map[string]string{"README.md": "v0", "deploy/app.yaml": "kind: A\n"}, gitserver.CommitOptions{}).String()
	f.c["v1.0.0"] = r.Commit(t, map[string]string{"deploy/app.yaml": "kind: B\n"}, gitserver.CommitOptions{SignKey: f.key}).String()
	r.Tag(t, "v1.0.0", plumbing(f.c["v1.0.0"]))
	f.c["v1.1.0"] = r.Commit(t, map[string]string{"deploy/app.yaml": "kind: C\n"}, gitserver.CommitOptions{SignKey: f.key}).String()
	f.c["v1.1.0-tag"] = r.AnnotatedTag(t, "v1.1.0", plumbing(f.c["v1.1.0"]), f.key).String()
	f.c["v2.0.0-rc.1"] = r.Commit(t, map[string]string{"deploy/app.yaml": "kind: D\n"}, gitserver.CommitOptions{}).String()
	r.AnnotatedTag(t, "v2.0.0-rc.1", plumbing(f.c["v2.0.0-rc.1"]), nil)
	f.c["main"] = r.Commit(t, map[string]string{
		"deploy/app.yaml":      "kind: E\n",
		"deploy/logo.png":      "png",
		"docs/guide.md":        "guide",
		".sourceignore":        "docs/\n",
		"deploy/.sourceignore": "*.tmp\n",
		"deploy/scratch.tmp":   "tmp",
		"scripts/run.sh":       "#!/bin/sh\n",
	}, gitserver.CommitOptions{SignKey: f.key}).String()
	r.Checkout(t, "dev")
	f.c["dev"] = r.Commit(t, map[string]string{"dev.txt": "dev"}, gitserver.CommitOptions{}).String()
	f.c["pr"] = r.Commit(t, map[string]string{"pr.txt": "pr"}, gitserver.CommitOptions{}).String()
	r.SetRef(t, "refs/pull/42/head", plumbing(f.c["pr"]))
	r.Checkout(t, "main")
	// refs/pull/42/head is one commit ahead of dev.
	r.SetRef(t, "refs/heads/dev", plumbing(f.c["dev"]))
	pemKey, pub := gitserver.NewClientKey(t, "key-passphrase")
	f.sshKey = pemKey
	f.ssh = f.srv.StartSSH(t, pub)
	return f
}

func newFetcher(t *testing.T, opts git.Options) *git.Fetcher {
	t.Helper()
	if opts.Cache == nil {
		c, err := cache.Open(cache.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		opts.Cache = c
	}
	if opts.KnownHostsFiles == nil {
		opts.KnownHostsFiles = []string{} // never the developer's own file
	}
	f, err := git.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) httpSpec(ref git.Ref) git.Spec {
	return git.Spec{URL: f.srv.HTTPURL("app.git"), Ref: ref, Auth: git.Auth{Username: user, Password: pass}}
}

func (f *fixture) sshSpec(ref git.Ref) git.Spec {
	return git.Spec{URL: f.ssh.URL("app.git"), Ref: ref, Auth: git.Auth{
		SSHPrivateKey: f.sshKey, SSHPassphrase: "key-passphrase", KnownHosts: f.ssh.KnownHosts(),
	}}
}

func (f *fixture) fileSpec(ref git.Ref) git.Spec {
	return git.Spec{URL: "file://" + f.srv.GitDir("app.git"), Ref: ref}
}

func TestResolveAndFetchEveryRefKind(t *testing.T) {
	f := newFixture(t)
	tests := map[string]struct {
		ref      git.Ref
		commit   string
		revision string
	}{
		"default HEAD":             {ref: git.Ref{}, commit: "main", revision: "main@sha1:"},
		"branch":                   {ref: git.Ref{Branch: "main"}, commit: "main", revision: "main@sha1:"},
		"other branch":             {ref: git.Ref{Branch: "dev"}, commit: "dev", revision: "dev@sha1:"},
		"lightweight tag":          {ref: git.Ref{Tag: "v1.0.0"}, commit: "v1.0.0", revision: "v1.0.0@sha1:"},
		"annotated tag":            {ref: git.Ref{Tag: "v1.1.0"}, commit: "v1.1.0", revision: "v1.1.0@sha1:"},
		"semver range":             {ref: git.Ref{SemVer: ">= 1.0, < 2.0"}, commit: "v1.1.0", revision: "v1.1.0@sha1:"},
		"semver pessimistic":       {ref: git.Ref{SemVer: "~> 1.0.0"}, commit: "v1.0.0", revision: "v1.0.0@sha1:"},
		"semver skips pre-release": {ref: git.Ref{SemVer: ">= 1.0"}, commit: "v1.1.0", revision: "v1.1.0@sha1:"},
		"semver names pre-release": {ref: git.Ref{SemVer: "2.0.0-rc.1"}, commit: "v2.0.0-rc.1", revision: "v2.0.0-rc.1@sha1:"},
		"exact commit":             {ref: git.Ref{Commit: "first"}, commit: "first", revision: "sha1:"},
		"commit on branch":         {ref: git.Ref{Branch: "main", Commit: "v1.0.0"}, commit: "v1.0.0", revision: "main@sha1:"},
		"pull request ref":         {ref: git.Ref{Name: "refs/pull/42/head"}, commit: "pr", revision: "refs/pull/42/head@sha1:"},
	}
	transports := map[string]func(git.Ref) git.Spec{"http": f.httpSpec, "ssh": f.sshSpec, "file": f.fileSpec}
	for tname, spec := range transports {
		fetcher := newFetcher(t, git.Options{})
		for name, tt := range tests {
			t.Run(tname+"/"+name, func(t *testing.T) {
				ref := tt.ref
				if ref.Commit != "" {
					ref.Commit = f.c[ref.Commit]
				}
				want := f.c[tt.commit]
				res, err := fetcher.Resolve(context.Background(), spec(ref))
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				if res.Commit != want || res.Revision != tt.revision+want {
					t.Errorf("Resolve = %s (%s), want %s (%s)", res.Commit, res.Revision, want, tt.revision+want)
				}
				art, err := fetcher.Fetch(context.Background(), spec(ref))
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if art.Revision != tt.revision+want {
					t.Errorf("Fetch revision = %s, want %s", art.Revision, tt.revision+want)
				}
				if !strings.HasPrefix(art.Digest, "sha256:") || len(art.Digest) != 71 {
					t.Errorf("digest = %q", art.Digest)
				}
				if _, err := os.Stat(filepath.Join(art.Dir, "deploy", "app.yaml")); err != nil {
					t.Errorf("artifact lacks deploy/app.yaml: %v", err)
				}
			})
		}
	}
}

func TestFetchTreeAppliesIgnoreRules(t *testing.T) {
	f := newFixture(t)
	fetcher := newFetcher(t, git.Options{})
	spec := f.httpSpec(git.Ref{Branch: "main"})
	spec.Ignore = []string{"scripts/", "!deploy/logo.png"}
	art, err := fetcher.Fetch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	got := listTree(t, art.Dir)
	want := []string{
		".sourceignore",
		"README.md",
		"deploy/.sourceignore",
		"deploy/app.yaml",
		"deploy/logo.png", // re-included over the default *.png exclusion
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("artifact tree (-want +got):\n%s", diff)
	}

	// Same tree without the extra patterns: scripts stay (executable), the
	// png goes (Flux default), docs/ and *.tmp go (.sourceignore files).
	art2, err := fetcher.Fetch(context.Background(), f.httpSpec(git.Ref{Branch: "main"}))
	if err != nil {
		t.Fatal(err)
	}
	got2 := listTree(t, art2.Dir)
	want2 := []string{".sourceignore", "README.md", "deploy/.sourceignore", "deploy/app.yaml", "scripts/run.sh"}
	if diff := cmp.Diff(want2, got2); diff != "" {
		t.Errorf("artifact tree (-want +got):\n%s", diff)
	}
	info, err := os.Stat(filepath.Join(art2.Dir, "scripts", "run.sh"))
	if err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("scripts/run.sh should be executable: %v %v", info, err)
	}
	if art.Digest == art2.Digest {
		t.Errorf("different trees have the same digest %s", art.Digest)
	}
}

func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestSecondFetchOfUnchangedSourceDownloadsNothing(t *testing.T) {
	f := newFixture(t)
	c, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	spec := f.httpSpec(git.Ref{Branch: "main"})
	first, err := newFetcher(t, git.Options{Cache: c}).Fetch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.srv.UploadPacks(); n != 1 {
		t.Fatalf("cold fetch made %d upload-pack requests, want 1", n)
	}
	f.srv.ResetRequests()
	// A new fetcher on the same cache directory: a later run.
	second, err := newFetcher(t, git.Options{Cache: c}).Fetch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.srv.UploadPacks(); n != 0 {
		t.Errorf("warm fetch made %d upload-pack requests, want 0 (only the ref listing)", n)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("warm artifact differs (-cold +warm):\n%s", diff)
	}

	// The branch moves: the next fetch downloads again and sees the change.
	f.repo.Commit(t, map[string]string{"deploy/app.yaml": "kind: F\n"}, gitserver.CommitOptions{})
	third, err := newFetcher(t, git.Options{Cache: c}).Fetch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if third.Revision == first.Revision || third.Digest == first.Digest {
		t.Errorf("moved branch not seen: %s %s", third.Revision, third.Digest)
	}
	if n := f.srv.UploadPacks(); n != 1 {
		t.Errorf("fetch after a push made %d upload-pack requests, want 1", n)
	}
}

func TestOfflineUsesPinnedCachedRevision(t *testing.T) {
	f := newFixture(t)
	c, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	online, err := newFetcher(t, git.Options{Cache: c}).Fetch(context.Background(), f.httpSpec(git.Ref{Branch: "main"}))
	if err != nil {
		t.Fatal(err)
	}
	offline := newFetcher(t, git.Options{Cache: c, Offline: true})
	f.srv.ResetRequests()
	pinned := f.httpSpec(git.Ref{Branch: "main", Commit: f.c["main"]})
	got, err := offline.Fetch(context.Background(), pinned)
	if err != nil {
		t.Fatalf("offline fetch of a cached pinned revision: %v", err)
	}
	if diff := cmp.Diff(online, got); diff != "" {
		t.Errorf("offline artifact (-online +offline):\n%s", diff)
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("offline fetch made %d requests", n)
	}
	_, err = offline.Fetch(context.Background(), f.httpSpec(git.Ref{Branch: "main", Commit: f.c["first"]}))
	if !errors.Is(err, git.ErrOffline) {
		t.Errorf("offline fetch of an uncached commit: err = %v, want ErrOffline", err)
	}
	_, err = offline.Resolve(context.Background(), f.httpSpec(git.Ref{Branch: "main"}))
	if !errors.Is(err, git.ErrOffline) {
		t.Errorf("offline resolve of a branch: err = %v, want ErrOffline", err)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	fetcher := newFetcher(t, git.Options{})
	otherHost := gitserver.New(t, gitserver.Options{}).StartSSH(t)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()

	tests := map[string]struct {
		spec    func() git.Spec
		is      error
		mention []string
		once    string // said exactly once
	}{
		"missing repository": {
			spec: func() git.Spec {
				return git.Spec{URL: "file://" + filepath.Join(t.TempDir(), "nothere.git"), Ref: git.Ref{Branch: "main"}}
			},
			once: "repository not found",
		},
		"wrong password": {
			spec: func() git.Spec {
				s := f.httpSpec(git.Ref{Branch: "main"})
				s.Auth.Password = "wrong-password-123"
				return s
			},
			is:      git.ErrAuthentication,
			mention: []string{"credentials", f.srv.HTTPURL("app.git")},
		},
		"password in url is masked": {
			spec: func() git.Spec {
				return git.Spec{URL: strings.Replace(f.srv.HTTPURL("app.git"), "http://", "http://alice:wrong-password-123@", 1), Ref: git.Ref{Branch: "main"}}
			},
			is: git.ErrAuthentication,
		},
		"no credentials": {
			spec: func() git.Spec { return git.Spec{URL: f.srv.HTTPURL("app.git")} },
			is:   git.ErrAuthentication,
		},
		"missing branch": {
			spec:    func() git.Spec { return f.httpSpec(git.Ref{Branch: "nope"}) },
			is:      git.ErrRefNotFound,
			mention: []string{`branch "nope" does not exist`},
		},
		"missing tag": {
			spec:    func() git.Spec { return f.httpSpec(git.Ref{Tag: "v9"}) },
			is:      git.ErrRefNotFound,
			mention: []string{`tag "v9"`},
		},
		"no semver match": {
			spec:    func() git.Spec { return f.httpSpec(git.Ref{SemVer: ">= 3.0"}) },
			is:      git.ErrRefNotFound,
			mention: []string{`no tag matches semver ">= 3.0"`},
		},
		"commit not on branch": {
			spec:    func() git.Spec { return f.httpSpec(git.Ref{Branch: "main", Commit: f.c["dev"]}) },
			is:      git.ErrRefNotFound,
			mention: []string{`commit not found on branch "main"`},
		},
		"unknown ssh host key": {
			spec: func() git.Spec {
				s := f.sshSpec(git.Ref{Branch: "main"})
				s.Auth.KnownHosts = otherHost.KnownHosts() // a different host's entry only
				return s
			},
			is:      git.ErrHostKey,
			mention: []string{"not in known_hosts", f.ssh.Addr},
		},
		"changed ssh host key": {
			spec: func() git.Spec {
				s := f.sshSpec(git.Ref{Branch: "main"})
				line := strings.Replace(string(otherHost.KnownHosts()), otherHost.Addr, f.ssh.Addr, 1)
				s.Auth.KnownHosts = []byte(strings.Replace(line, "[127.0.0.1]:"+port(otherHost.Addr), "[127.0.0.1]:"+port(f.ssh.Addr), 1))
				return s
			},
			is:      git.ErrHostKey,
			mention: []string{"does not match known_hosts"},
		},
		"no known_hosts at all": {
			spec: func() git.Spec {
				s := f.sshSpec(git.Ref{Branch: "main"})
				s.Auth.KnownHosts = nil
				return s
			},
			is: git.ErrHostKey,
		},
		"wrong ssh key passphrase": {
			spec: func() git.Spec {
				s := f.sshSpec(git.Ref{Branch: "main"})
				s.Auth.SSHPassphrase = "wrong-passphrase"
				return s
			},
			is:      git.ErrAuthentication,
			mention: []string{"passphrase"},
		},
		"missing ssh key passphrase": {
			spec: func() git.Spec {
				s := f.sshSpec(git.Ref{Branch: "main"})
				s.Auth.SSHPassphrase = ""
				return s
			},
			is:      git.ErrAuthentication,
			mention: []string{"passphrase"},
		},
		"unauthorized ssh key": {
			spec: func() git.Spec {
				s := f.sshSpec(git.Ref{Branch: "main"})
				s.Auth.SSHPrivateKey, _ = gitserver.NewClientKey(t, "")
				s.Auth.SSHPassphrase = ""
				return s
			},
			is: git.ErrAuthentication,
		},
		"unreachable http server": {
			spec:    func() git.Spec { return git.Spec{URL: "http://" + deadAddr + "/app.git"} },
			mention: []string{"cannot reach the server"},
		},
		"unreachable ssh server": {
			spec: func() git.Spec {
				s := f.sshSpec(git.Ref{Branch: "main"})
				s.URL = "ssh://git@" + deadAddr + "/app.git"
				return s
			},
			mention: []string{"cannot reach the server"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := fetcher.Fetch(context.Background(), tt.spec())
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err = %q, want it to mention %q", err, m)
				}
			}
			if tt.once != "" && strings.Count(err.Error(), tt.once) != 1 {
				t.Errorf("err = %q, want it to say %q once", err, tt.once)
			}
			for _, secret := range []string{pass, "wrong-password-123", "key-passphrase", "wrong-passphrase"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("err leaks a secret: %q", err)
				}
			}
		})
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	stranger, strangerPub := gitserver.NewPGPKey(t, "stranger")
	trusted := f.key.PrimaryKey.KeyIdString()
	f.repo.Checkout(t, "signed-by-stranger")
	strangerCommit := f.repo.Commit(t, map[string]string{"x": "y"}, gitserver.CommitOptions{SignKey: stranger}).String()
	f.repo.Tag(t, "v1.2.0", plumbing(f.c["main"]))
	f.repo.AnnotatedTag(t, "v1.3.0", plumbing(f.c["main"]), stranger)
	f.repo.Checkout(t, "main")

	tests := map[string]struct {
		ref     git.Ref
		keys    []string
		mode    git.VerifyMode
		wantErr []string // empty: must pass
	}{
		"signed branch head":        {ref: git.Ref{Branch: "main"}, keys: []string{f.pub}},
		"signed among several keys": {ref: git.Ref{Branch: "main"}, keys: []string{strangerPub, f.pub}},
		"several keys in one entry": {ref: git.Ref{Branch: "main"}, keys: []string{strangerPub + "\n" + f.pub}},
		"tag_and_head on a branch": {
			ref: git.Ref{Branch: "main"}, keys: []string{f.pub}, mode: git.VerifyTagAndHead,
			wantErr: []string{"needs a tag or semver ref"},
		},
		"signed tag and commit":   {ref: git.Ref{Tag: "v1.1.0"}, keys: []string{f.pub}},
		"semver picks signed tag": {ref: git.Ref{SemVer: "~> 1.1.0"}, keys: []string{f.pub}},
		"unsigned commit": {
			ref: git.Ref{Branch: "dev"}, keys: []string{f.pub},
			wantErr: []string{"commit " + f.c["dev"] + " is not signed", trusted},
		},
		"commit signed by another key": {
			ref: git.Ref{Branch: "signed-by-stranger"}, keys: []string{f.pub},
			wantErr: []string{"commit " + strangerCommit, "signed by key " + stranger.PrimaryKey.KeyIdString(), "not one of the trusted keys", trusted},
		},
		"lightweight tag cannot be verified": {
			ref: git.Ref{Tag: "v1.2.0"}, keys: []string{f.pub},
			wantErr: []string{"tag v1.2.0 is a lightweight tag", trusted},
		},
		"lightweight tag, head only": {ref: git.Ref{Tag: "v1.2.0"}, keys: []string{f.pub}, mode: git.VerifyHead},
		"tag signed by another key": {
			ref: git.Ref{Tag: "v1.3.0"}, keys: []string{f.pub},
			wantErr: []string{"tag v1.3.0", "signed by key " + stranger.PrimaryKey.KeyIdString()},
		},
		"unsigned annotated tag": {
			ref: git.Ref{Tag: "v2.0.0-rc.1"}, keys: []string{f.pub}, mode: git.VerifyTag,
			wantErr: []string{"tag v2.0.0-rc.1", "is not signed"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			fetcher := newFetcher(t, git.Options{})
			spec := f.httpSpec(tt.ref)
			spec.Verify = &git.Verify{PublicKeys: tt.keys, Mode: tt.mode}
			art, err := fetcher.Fetch(context.Background(), spec)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if art.Dir == "" {
					t.Fatal("no artifact")
				}
				return
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, git.ErrVerification) {
				t.Fatalf("err = %v, want ErrVerification", err)
			}
			for _, m := range tt.wantErr {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err = %q, want it to mention %q", err, m)
				}
			}
		})
	}
}

func TestHTTPSWithCustomCA(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{Username: user, Password: pass, TLS: true})
	r := srv.NewRepo(t, "tls.git")
	h := r.Commit(t, map[string]string{"a.yaml": "a: 1\n"}, gitserver.CommitOptions{})
	fetcher := newFetcher(t, git.Options{})
	spec := git.Spec{URL: srv.HTTPURL("tls.git"), Auth: git.Auth{Password: pass, Username: user}, CABundle: srv.CABundle()}
	art, err := fetcher.Fetch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if art.Revision != "main@sha1:"+h.String() {
		t.Errorf("revision = %s", art.Revision)
	}
	spec.CABundle = nil
	_, err = fetcher.Fetch(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: err = %v, want a certificate error", err)
	}
}

func TestPinServesEveryRefKindOffline(t *testing.T) {
	f := newFixture(t)
	c, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	online := newFetcher(t, git.Options{Cache: c})
	offline := newFetcher(t, git.Options{Cache: c, Offline: true})
	refs := map[string]git.Ref{
		"HEAD":          {},
		"branch":        {Branch: "dev"},
		"annotated tag": {Tag: "v1.1.0"},
		"semver":        {SemVer: "~> 1.0"},
		"ref name":      {Name: "refs/pull/42/head"},
	}
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) {
			spec := f.httpSpec(ref)
			spec.Verify = nil
			want, err := online.Fetch(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			pinned, err := git.Pin(spec, want.Revision)
			if err != nil {
				t.Fatal(err)
			}
			f.srv.ResetRequests()
			got, err := offline.Fetch(context.Background(), pinned)
			if err != nil {
				t.Fatalf("offline fetch of %+v: %v", pinned.Ref, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pinned artifact (-online +offline):\n%s", diff)
			}
			if n := len(f.srv.Requests()); n != 0 {
				t.Errorf("offline fetch made %d requests", n)
			}
			// Online, a pinned spec fetches the pinned commit even when
			// not cached.
			got, err = newFetcher(t, git.Options{}).Fetch(context.Background(), pinned)
			if err != nil {
				t.Fatalf("online fetch of %+v: %v", pinned.Ref, err)
			}
			if got.Revision != want.Revision || got.Digest != want.Digest {
				t.Errorf("pinned fetch = %s %s, want %s %s", got.Revision, got.Digest, want.Revision, want.Digest)
			}
		})
	}

	t.Run("moved tag", func(t *testing.T) {
		spec := f.httpSpec(git.Ref{Tag: "v1.0.0", Commit: f.c["first"]})
		_, err := newFetcher(t, git.Options{}).Fetch(context.Background(), spec)
		if !errors.Is(err, git.ErrRefNotFound) || !strings.Contains(err.Error(), `tag "v1.0.0" now points at commit `+f.c["v1.0.0"]) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("foreign revision", func(t *testing.T) {
		if _, err := git.Pin(f.httpSpec(git.Ref{Branch: "main"}), "dev@sha1:"+f.c["dev"]); err == nil {
			t.Error("Pin accepted a revision of another branch")
		}
		if _, err := git.Pin(f.httpSpec(git.Ref{Branch: "main"}), "1.0.0@sha256:abc"); err == nil {
			t.Error("Pin accepted a non-Git revision")
		}
	})
}

// A commit verified through a branch must not let an unsigned tag at the
// same commit through on the strength of the cache.
func TestVerifiedCacheEntryDoesNotVouchForTags(t *testing.T) {
	f := newFixture(t)
	f.repo.AnnotatedTag(t, "v3.0.0", plumbing(f.c["main"]), nil) // unsigned tag, signed commit
	c, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fetcher := newFetcher(t, git.Options{Cache: c})
	branch := f.httpSpec(git.Ref{Branch: "main"})
	branch.Verify = &git.Verify{PublicKeys: []string{f.pub}}
	if _, err := fetcher.Fetch(context.Background(), branch); err != nil {
		t.Fatal(err)
	}
	tag := f.httpSpec(git.Ref{Tag: "v3.0.0"})
	tag.Verify = &git.Verify{PublicKeys: []string{f.pub}}
	_, err = fetcher.Fetch(context.Background(), tag)
	if !errors.Is(err, git.ErrVerification) {
		t.Errorf("unsigned tag at a cached, verified commit: err = %v, want ErrVerification", err)
	}
}
