package testcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EnvCluster names the environment variable that points tests at a running
// cluster's directory (set by `make test` for the whole run).
const EnvCluster = "STRATA_TEST_CLUSTER"

// The cluster of the running test binary. Main sets it before any test
// runs and nothing changes it afterwards; a test binary is one process, so
// this is the one place where package state is the right tool.
var (
	current    *Cluster
	currentErr error
	currentMu  sync.Mutex
)

// Main runs the tests of a package with a cluster: the shared one named by
// $STRATA_TEST_CLUSTER, or a private one started now and stopped when the
// tests end, fail or are interrupted. Under go test -short it starts
// nothing and tests that call Get are skipped. Call it from TestMain. It
// does not return.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// -short runs the tests that need no cluster; Get skips the others.
		return m.Run()
	}
	if dir := os.Getenv(EnvCluster); dir != "" {
		c, err := Attach(dir)
		setCurrent(c, err)
		code := m.Run()
		if code != 0 && c != nil {
			fmt.Fprintf(os.Stderr, "\ntest cluster logs:\n%s", c.LogTails(20))
		}
		return code
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bins, err := Build(ctx, DefaultVersions, os.Stderr)
	if err != nil {
		setCurrent(nil, err)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "strata-testcluster-")
	if err != nil {
		setCurrent(nil, err)
		return m.Run()
	}
	c, err := Start(ctx, Options{Dir: dir, Binaries: bins, Progress: os.Stderr, DieWithParent: true})
	setCurrent(c, err)
	if err != nil {
		os.RemoveAll(dir)
		return m.Run()
	}
	// Ctrl-C or a kill: stop the components before dying. (A SIGKILL of the
	// test binary is covered by DieWithParent.)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		c.Stop()
		os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "testcluster: stopped on %s\n", s)
		os.Exit(1)
	}()
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "\ntest cluster logs:\n%s", c.LogTails(20))
	}
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
	}
	os.RemoveAll(dir)
	return code
}

func setCurrent(c *Cluster, err error) {
	currentMu.Lock()
	defer currentMu.Unlock()
	current, currentErr = c, err
}

// Get returns the cluster of this test binary. It fails the test if the
// package has no TestMain calling Main, or if the cluster did not start
// (with the reason and the component logs). Under go test -short, where
// Main starts no cluster, it skips the test.
func Get(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("test cluster: skipped under -short (this test needs a Kubernetes API server; run without -short)")
	}
	currentMu.Lock()
	c, err := current, currentErr
	currentMu.Unlock()
	switch {
	case err != nil:
		t.Fatalf("test cluster: %v", err)
	case c == nil:
		t.Fatal("test cluster: the package's TestMain must call testcluster.Main(m)")
	}
	return c
}

// Namespace creates a namespace with a unique name that starts with prefix
// and deletes it when the test ends.
func (c *Cluster) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	name := UniqueName(prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	return name
}

// UniqueName returns prefix followed by a random suffix, usable as the name
// of a cluster-scoped object that must not collide with other tests sharing
// the cluster.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	prefix = strings.ToLower(strings.Trim(prefix, "-"))
	if prefix == "" {
		prefix = "t"
	}
	if len(prefix) > 50 {
		prefix = prefix[:50]
	}
	return prefix + "-" + hex.EncodeToString(b)
}
