package git_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/strata-gitops/strata/internal/testserver/gitserver"
	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/git"
)

// BenchmarkFetch50MB measures resolve+fetch of a ~50 MB repository (500
// incompressible 100 KiB files, two commits of history) over smart HTTP,
// cold (empty cache) and warm (cached revision), next to
// `git clone --depth 1` of the same repository in the same run:
//
//	go test -run '^$' -bench Fetch50MB -benchtime 5x ./providers/git/
func BenchmarkFetch50MB(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Fatal("the benchmark compares with the git binary, which is not on PATH")
	}
	srv := gitserver.New(b, gitserver.Options{})
	repo := srv.NewRepo(b, "big.git")
	const files, size = 500, 100 << 10
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, size)
	for round := range 2 { // some history, so depth matters
		for i := range files {
			if round == 1 && i%10 != 0 {
				continue
			}
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			p := filepath.Join(repo.Dir, fmt.Sprintf("dir%02d", i%20), fmt.Sprintf("f%03d.bin", i))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, buf, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		runGit(b, repo.Dir, "add", "-A")
		runGit(b, repo.Dir, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", fmt.Sprint("round ", round))
	}
	// Servers keep repositories packed; loose objects would make the
	// server's pack-objects, not the clients, dominate the figures.
	runGit(b, repo.Dir, "repack", "-adq")
	url := srv.HTTPURL("big.git")
	// Neither the defaults nor our ignore rules may hide the payload.
	spec := git.Spec{URL: url, Ref: git.Ref{Branch: "main"}, Ignore: []string{"!*.bin"}}
	ctx := context.Background()

	newFetcher := func(b *testing.B, dir string) *git.Fetcher {
		c, err := cache.Open(cache.Options{Dir: dir, MaxBytes: -1})
		if err != nil {
			b.Fatal(err)
		}
		f, err := git.New(git.Options{Cache: c, KnownHostsFiles: []string{}})
		if err != nil {
			b.Fatal(err)
		}
		return f
	}

	b.Run("strata-cold", func(b *testing.B) {
		b.SetBytes(files * size)
		for b.Loop() {
			b.StopTimer()
			dir := b.TempDir()
			f := newFetcher(b, dir)
			b.StartTimer()
			art, err := f.Fetch(ctx, spec)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if n := countFiles(b, art.Dir); n != files {
				b.Fatalf("artifact has %d files, want %d", n, files)
			}
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
	b.Run("strata-warm", func(b *testing.B) {
		dir := b.TempDir()
		if _, err := newFetcher(b, dir).Fetch(ctx, spec); err != nil {
			b.Fatal(err)
		}
		srv.ResetRequests()
		b.SetBytes(files * size)
		for b.Loop() {
			// A new fetcher per iteration: a later run on the same cache.
			if _, err := newFetcher(b, dir).Fetch(ctx, spec); err != nil {
				b.Fatal(err)
			}
		}
		if n := srv.UploadPacks(); n != 0 {
			b.Fatalf("warm fetches transferred objects %d times", n)
		}
	})
	b.Run("strata-resolve", func(b *testing.B) {
		f := newFetcher(b, b.TempDir())
		for b.Loop() {
			if _, err := f.Resolve(ctx, spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("git-clone-depth1", func(b *testing.B) {
		b.SetBytes(files * size)
		for b.Loop() {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			runGit(b, "", "clone", "-q", "--depth", "1", "--branch", "main", url, filepath.Join(dir, "c"))
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
}

func runGit(b *testing.B, dir string, args ...string) {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func countFiles(b *testing.B, dir string) int {
	b.Helper()
	n := 0
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
