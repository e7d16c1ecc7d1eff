package cache_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/providers/cache"
)

func open(t *testing.T, opts cache.Options) *cache.Cache {
	t.Helper()
	c, err := cache.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fill(content string) func(string) error {
	return func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644)
	}
}

func TestPutGet(t *testing.T) {
	dir := t.TempDir()
	c := open(t, cache.Options{Dir: dir})
	if _, ok, err := c.Get("k"); ok || err != nil {
		t.Fatalf("Get on empty cache = %v, %v", ok, err)
	}
	e, err := c.Put("k", map[string]string{"digest": "sha256:1"}, fill("hello"))
	if err != nil {
		t.Fatal(err)
	}
	// A second Open of the same directory (a later run) sees the entry.
	got, ok, err := open(t, cache.Options{Dir: dir}).Get("k")
	if err != nil || !ok {
		t.Fatalf("Get = %v, %v", ok, err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("entry (-put +get):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(got.Dir, "f"))
	if err != nil || string(b) != "hello" || got.Size != 5 {
		t.Errorf("content %q size %d err %v", b, got.Size, err)
	}
	// Put never overwrites: keys name immutable content.
	again, err := c.Put("k", nil, fill("other"))
	if err != nil || again.Meta["digest"] != "sha256:1" {
		t.Errorf("second Put = %+v, %v", again, err)
	}
	// A failing fill leaves nothing behind.
	boom := errors.New("boom")
	if _, err := c.Put("bad", nil, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Put error = %v", err)
	}
	if _, ok, _ := c.Get("bad"); ok {
		t.Error("failed Put left an entry")
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("tmp not cleaned: %v", left)
	}
}

func TestFiles(t *testing.T) {
	c := open(t, cache.Options{Dir: t.TempDir()})
	if _, err := c.ReadFile("idx"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile on missing = %v", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := c.WriteFile("idx", []byte(v)); err != nil {
			t.Fatal(err)
		}
		b, err := c.ReadFile("idx")
		if err != nil || string(b) != v {
			t.Errorf("ReadFile = %q, %v; want %q", b, err, v)
		}
	}
}

func TestPruneRemovesLeastRecentlyUsed(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := open(t, cache.Options{Dir: t.TempDir(), MaxBytes: 25, MinAge: time.Hour, Now: clock})
	for i, k := range []string{"a", "b", "c"} {
		now = now.Add(time.Duration(i+1) * 2 * time.Hour)
		if _, err := c.Put(k, nil, fill("0123456789")); err != nil {
			t.Fatal(err)
		}
	}
	// 30 bytes > 25: "a" (oldest use) went when "c" was put.
	present := func() []string {
		var out []string
		for _, k := range []string{"a", "b", "c", "d"} {
			if _, ok, err := c.Get(k); err != nil {
				t.Fatal(err)
			} else if ok {
				out = append(out, k)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"b", "c"}, present()); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	// Using "b" now makes "c" the least recently used; all were just used
	// (within MinAge), so nothing may go yet even though we are over.
	now = now.Add(2 * time.Hour)
	if _, _, err := c.Get("c"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if _, _, err := c.Get("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put("d", nil, fill("0123456789")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "d"}, present()); diff != "" {
		t.Errorf("entries after LRU prune (-want +got):\n%s", diff)
	}
}

func TestPruneSparesRecentlyUsed(t *testing.T) {
	c := open(t, cache.Options{Dir: t.TempDir(), MaxBytes: 5, MinAge: time.Hour})
	for _, k := range []string{"a", "b"} {
		if _, err := c.Put(k, nil, fill("0123456789")); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"a", "b"} {
		if _, ok, _ := c.Get(k); !ok {
			t.Errorf("entry %s in use by this run was pruned", k)
		}
	}
}

func TestConcurrentPutSameKey(t *testing.T) {
	c := open(t, cache.Options{Dir: t.TempDir()})
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.Put("same", nil, fill("content"))
			if err != nil {
				t.Error(err)
				return
			}
			dirs[i] = e.Dir
		}()
	}
	wg.Wait()
	for _, d := range dirs[1:] {
		if d != dirs[0] {
			t.Errorf("entries in different places: %s vs %s", d, dirs[0])
		}
	}
}

// TestTwoProcessesShareCache runs two processes filling and pruning the
// same cache at once; every entry either process reports must be whole.
func TestTwoProcessesShareCache(t *testing.T) {
	if dir := os.Getenv("STRATA_CACHE_CHILD"); dir != "" {
		fillAsChild(t, dir)
		return
	}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessesShareCache$")
		cmd.Env = append(os.Environ(), "STRATA_CACHE_CHILD="+dir, "STRATA_CACHE_CHILD_ID="+strconv.Itoa(i))
		out, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() { out.Close() })
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			b, _ := os.ReadFile(cmd.Stdout.(*os.File).Name())
			t.Fatalf("child failed: %v\n%s", err, b)
		}
	}
	c := open(t, cache.Options{Dir: dir, MaxBytes: -1})
	for i := range 50 {
		k := fmt.Sprintf("k%d", i)
		if e, ok, err := c.Get(k); err != nil {
			t.Fatal(err)
		} else if ok {
			b, err := os.ReadFile(filepath.Join(e.Dir, "f"))
			if err != nil || string(b) != k {
				t.Errorf("entry %s holds %q, %v", k, b, err)
			}
		}
	}
}

// fillAsChild is the work of one child process of
// TestTwoProcessesShareCache.
func fillAsChild(t *testing.T, dir string) {
	t.Helper()
	// Small bound, no protection: the two processes prune each other's
	// entries while filling.
	c := open(t, cache.Options{Dir: dir, MaxBytes: 40, MinAge: time.Nanosecond})
	for i := range 50 {
		k := fmt.Sprintf("k%d", i)
		e, err := c.Put(k, nil, fill(k))
		if err != nil {
			t.Fatal(err)
		}
		if e.Key != k {
			t.Fatalf("Put(%s) returned entry %s", k, e.Key)
		}
	}
}
