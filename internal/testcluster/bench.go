package testcluster

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/buildinfo"
)

// BenchVersions returns the line, logged by every benchmark that compares
// strata with kubectl, that names both tools' versions: strata's (and the
// Go toolchain that built it: the benchmarks run the module's code) and
// the cluster's kubectl, which the harness builds from
// k8s.io/kubernetes/cmd/kubectl at the Kubernetes version of the API
// server it runs (never a kubectl found on PATH), with the version the
// API server reports beside it. internal/cmd/benchdoc lists the line
// under the run.
func (c *Cluster) BenchVersions(t testing.TB) string {
	t.Helper()
	kubectl := c.KubectlPath(t)
	out, err := c.KubectlCommand(t, "version", "--client").Output()
	if err != nil {
		t.Fatalf("kubectl version: %v", err)
	}
	server := "unknown"
	if cs, err := c.Clientset(); err == nil {
		if v, err := cs.Discovery().ServerVersion(); err == nil {
			server = v.GitVersion
		}
	}
	return fmt.Sprintf("strata %s (%s, %s/%s); kubectl: %s, built by internal/testcluster from k8s.io/kubernetes/cmd/kubectl "+
		"at the API server's Kubernetes version (the server reports %s), run by path (%s)",
		buildinfo.Read().Version, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "; "), server, kubectl)
}

// BenchProgress prints a timestamped progress line on standard error at
// once (a benchmark's logs are printed when it ends), so that whoever
// runs `make bench` sees where it is; internal/cmd/benchdoc ignores the
// lines.
func BenchProgress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "progress %s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}
