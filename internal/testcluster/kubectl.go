package testcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectlKey names kubectl's cache directory. kubectl has its own entry,
// beside the control plane's, so that adding it to the harness did not
// invalidate the binaries already cached.
func (v Versions) kubectlKey() string { return "kubectl-" + v.Kubernetes }

// KubectlDir returns the directory that holds the kubectl of Kubernetes
// version v (built or not): the one to put on PATH.
func KubectlDir(v Versions) (string, error) {
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, v.kubectlKey()), nil
}

// BuildKubectl returns the path of the kubectl of Kubernetes version
// v.Kubernetes, building and caching it first if needed (k8s.io/kubernetes/
// cmd/kubectl, with the version flags of the API server, so that `kubectl
// version` reports the same version). Two processes building at once
// serialise on a file lock.
func BuildKubectl(ctx context.Context, v Versions, progress io.Writer) (string, error) {
	dir, err := KubectlDir(v)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kubectl")
	if usable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, dir+".lock", progress)
	if err != nil {
		return "", err
	}
	defer unlock()
	if usable(bin) { // built by another process while we waited
		return bin, nil
	}
	if err := buildKubectl(ctx, v, dir, progress); err != nil {
		return "", err
	}
	return bin, nil
}

func usable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

// buildKubectl builds kubectl into a staging directory and renames it to
// dir, so that an interrupted build leaves no half-filled cache.
func buildKubectl(ctx context.Context, v Versions, dir string, progress io.Writer) error {
	work, err := os.MkdirTemp(filepath.Dir(dir), "build-kubectl-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "bin")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(progress, "testcluster: building kubectl %s from the Go module proxy (a few minutes the first time; cached afterwards in %s)\n", v.Kubernetes, dir)
	mod := filepath.Join(work, "k8s")
	if err := writeModule(mod, kubernetesGoMod(v), "k8s.io/kubernetes/cmd/kubectl"); err != nil {
		return err
	}
	if err := goCmd(ctx, mod, out, progress, "[1/2] resolving Kubernetes modules", "mod", "tidy"); err != nil {
		return err
	}
	if err := goCmd(ctx, mod, out, progress, "[2/2] building kubectl", "build", "-trimpath", "-ldflags", kubernetesLDFlags(v),
		"-o", filepath.Join(out, "kubectl"), "k8s.io/kubernetes/cmd/kubectl"); err != nil {
		return err
	}
	os.RemoveAll(dir)
	if err := os.Rename(out, dir); err != nil {
		return err
	}
	fmt.Fprintf(progress, "testcluster: built kubectl in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// KubectlPath returns the path of the harness's kubectl, of the cluster's
// Kubernetes version, building it on first use; it fails the test if that
// is not possible. Tests run this binary by path, never a kubectl found on
// PATH.
func (c *Cluster) KubectlPath(t testing.TB) string {
	t.Helper()
	c.kubectlMu.Lock()
	defer c.kubectlMu.Unlock()
	if c.kubectl != "" {
		return c.kubectl
	}
	if usable(c.info.Kubectl) {
		c.kubectl = c.info.Kubectl
		return c.kubectl
	}
	// A cluster started before the harness built kubectl, or a cache
	// emptied since: build it now.
	bin, err := BuildKubectl(context.Background(), c.info.Versions, os.Stderr)
	if err != nil {
		t.Fatalf("test cluster: kubectl: %v", err)
	}
	c.kubectl = bin
	return bin
}

// KubectlCommand returns a command that runs the harness's kubectl with
// args against the cluster (as its admin), for tests that handle the
// command's result themselves.
func (c *Cluster) KubectlCommand(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	return exec.Command(c.KubectlPath(t), append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
}

// Kubectl runs the harness's kubectl with args against the cluster (as its
// admin) and returns its combined output; it fails the test if kubectl
// fails.
func (c *Cluster) Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.KubectlCommand(t, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
