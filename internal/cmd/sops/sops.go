package sops

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// The tools, by the module that provides them.
var tools = []struct{ name, module, pkg string }{
	{"sops", "github.com/getsops/sops/v3", "github.com/getsops/sops/v3/cmd/sops"},
	{"age-keygen", "filippo.io/age", "filippo.io/age/cmd/age-keygen"},
}

// Binary returns the path of the named tool ("sops" or "age-keygen") of
// the version go.mod requires, building it on first use. Concurrent
// callers, in one process or several, are safe: the binary is built to a
// temporary name and renamed.
func Binary(ctx context.Context, name string) (string, error) {
	for _, tl := range tools {
		if tl.name == name {
			return build(ctx, tl.name, tl.module, tl.pkg)
		}
	}
	return "", fmt.Errorf("unknown tool %s", name)
}

func build(ctx context.Context, name, module, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("%s version from go.mod: %w", module, err)
	}
	dir, err := testcluster.CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name+"-"+strings.TrimSpace(string(out)))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("tool cache dir: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	fmt.Fprintf(os.Stderr, "building %s from the module cache (once; cached in %s)\n", name, bin)
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", tmp, pkg).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build %s: %w\n%s", name, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("install %s: %w", name, err)
	}
	fmt.Fprintf(os.Stderr, "built %s in %s\n", name, time.Since(start).Round(time.Second))
	return bin, nil
}

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Tool returns the path of the named tool, building it first if needed;
// it fails the test if that is not possible.
func Tool(t testing.TB, name string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	p, err := Binary(context.Background(), name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	built[name] = p
	return p
}

// AgeKey is an age key pair made by age-keygen.
type AgeKey struct {
	// File is the identity file age-keygen wrote (with its comments).
	File string
	// Identity is the secret key, AGE-SECRET-KEY-1...
	Identity string
	// Recipient is the public key, age1...
	Recipient string
}

// NewAgeKey makes a new age key pair with age-keygen in a temporary
// directory of the test.
func NewAgeKey(t testing.TB) AgeKey {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keys.txt")
	if out, err := exec.Command(Tool(t, "age-keygen"), "-o", file).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	k := AgeKey{File: file}
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			k.Identity = line
		case strings.HasPrefix(line, "# public key: "):
			k.Recipient = strings.TrimPrefix(line, "# public key: ")
		}
	}
	if k.Identity == "" || k.Recipient == "" {
		t.Fatalf("age-keygen wrote no key pair:\n%s", data)
	}
	return k
}

// Encrypt encrypts the file at path in place with sops for the given
// arguments (e.g. "--age", recipient, "--encrypted-regex", "^(data|stringData)$").
// sops runs in the file's directory with an empty HOME and none of the
// SOPS_* variables of the environment, so that no user configuration
// applies.
func Encrypt(t testing.TB, path string, args ...string) {
	t.Helper()
	cmd := Command(t, append(append([]string{"--encrypt"}, args...), "--in-place", path)...)
	cmd.Dir = filepath.Dir(path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sops --encrypt %s: %v\n%s", path, err, out)
	}
}

// Command returns a sops command with args, in an environment without
// user configuration (see Encrypt); add variables to its Env as needed.
func Command(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(Tool(t, "sops"), args...)
	env := []string{"HOME=" + t.TempDir()}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOPS_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "GNUPGHOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}
