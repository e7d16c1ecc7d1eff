package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/strata-gitops/strata/internal/buildinfo"
	"github.com/strata-gitops/strata/internal/testcluster"
)

// benchVersions returns the line, logged by every benchmark that compares
// with kubectl, that names both tools' versions: strata's (and the Go
// toolchain that built it: the benchmarks run this package's code) and the
// harness's kubectl, which internal/testcluster builds from
// k8s.io/kubernetes/cmd/kubectl at the Kubernetes version of the API server
// it runs (never a kubectl found on PATH), with the version the API server
// reports beside it. internal/cmd/benchdoc lists the line under the run.
func benchVersions(b *testing.B, c *testcluster.Cluster) string {
	b.Helper()
	kubectl := c.KubectlPath(b)
	out, err := c.KubectlCommand(b, "version", "--client").Output()
	if err != nil {
		b.Fatalf("kubectl version: %v", err)
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

// benchProgress prints a timestamped progress line on standard error, at
// once (a benchmark's logs are printed when it ends), so that whoever runs
// `make bench` sees where it is; internal/cmd/benchdoc ignores the lines.
func benchProgress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "progress %s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// rotate returns the order in which round i runs its tools: the tools
// take turns at going first, so that a change in the machine's load
// during a round weighs on all of them alike.
func rotate[T any](tools []T, i int) []T {
	out := make([]T, 0, len(tools))
	for j := range tools {
		out = append(out, tools[(i+j)%len(tools)])
	}
	return out
}
