package helm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// Binary returns the path of the Helm CLI of the Helm version go.mod
// requires, building it on first use. Concurrent callers, in one process or
// several, are safe: the binary is built to a temporary name and renamed.
func Binary(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", "helm.sh/helm/v3").Output()
	if err != nil {
		return "", fmt.Errorf("helm version from go.mod: %w", err)
	}
	dir, err := testcluster.CacheDir()
	if err != nil {
		return "", err
	}
	version := strings.TrimSpace(string(out))
	bin := filepath.Join(dir, "helm-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("helm cache dir: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", tmp,
		"-ldflags", "-X helm.sh/helm/v3/internal/version.version="+version, "helm.sh/helm/v3/cmd/helm").CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build helm: %w\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("install helm: %w", err)
	}
	return bin, nil
}

// Command returns a command running the Helm CLI with args against the
// cluster of kubeconfig, with Helm's own config, cache and data under home
// (so no user configuration leaks in).
func Command(ctx context.Context, bin, kubeconfig, home string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+kubeconfig,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	return cmd
}
