// Command testcluster builds, starts and stops the local Kubernetes cluster
// that strata's tests and demo run against.
//
//	testcluster build                  build and cache the binaries
//	                                   (the control plane and kubectl)
//	testcluster up   --dir DIR         start a cluster that keeps running
//	testcluster down --dir DIR         stop it
//	testcluster status --dir DIR       print the server version and nodes
//	testcluster run  --dir DIR -- CMD  start a cluster, run CMD with
//	                                   STRATA_TEST_CLUSTER and KUBECONFIG
//	                                   set and the harness's kubectl first
//	                                   on PATH, stop the cluster afterwards
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: testcluster build|up|down|status|run [--dir DIR] [-- CMD ARGS...]")
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", ".cluster", "cluster directory (data, kubeconfig, logs)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	code := 0
	switch args[0] {
	case "build":
		_, err = testcluster.Build(ctx, testcluster.DefaultVersions, os.Stderr)
	case "up":
		err = up(ctx, *dir)
	case "down":
		err = down(*dir)
	case "status":
		err = status(ctx, *dir)
	case "run":
		code, err = runWith(ctx, *dir, fs.Args())
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		return 1
	}
	return code
}

func start(ctx context.Context, dir string, dieWithParent bool) (*testcluster.Cluster, testcluster.Binaries, error) {
	if c, err := testcluster.Attach(dir); err == nil {
		// A leftover from an interrupted run: stop it before reusing dir.
		c.Stop()
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, testcluster.Binaries{}, err
	}
	bins, err := testcluster.Build(ctx, testcluster.DefaultVersions, os.Stderr)
	if err != nil {
		return nil, bins, err
	}
	c, err := testcluster.Start(ctx, testcluster.Options{Dir: dir, Binaries: bins, Progress: os.Stderr, DieWithParent: dieWithParent})
	return c, bins, err
}

// withKubectl puts the directory of the harness's kubectl first on path,
// so that the command run with the cluster (a test, a benchmark, a script)
// finds that kubectl whatever else is installed.
func withKubectl(path, kubectl string) string {
	if path == "" {
		return filepath.Dir(kubectl)
	}
	return filepath.Dir(kubectl) + string(os.PathListSeparator) + path
}

func up(ctx context.Context, dir string) error {
	c, bins, err := start(ctx, dir, false)
	if err != nil {
		return err
	}
	fmt.Printf("Cluster running. Use it with:\n  export KUBECONFIG=%s\n  export %s=%s\n  export PATH=%s:$PATH   # kubectl %s\nStop it with: make cluster-down\n",
		c.Kubeconfig(), testcluster.EnvCluster, c.Dir(), filepath.Dir(bins.Kubectl), bins.Versions.Kubernetes)
	return nil
}

func down(dir string) error {
	c, err := testcluster.Attach(dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "testcluster: no cluster in %s\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.Stop(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "testcluster: stopped the cluster in %s\n", c.Dir())
	return os.RemoveAll(c.Dir())
}

// runWith runs argv with a cluster that lives exactly as long as it.
func runWith(ctx context.Context, dir string, argv []string) (int, error) {
	if len(argv) == 0 {
		return 2, errors.New("run: no command given after --")
	}
	c, bins, err := start(ctx, dir, true)
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(c.Dir())
	defer c.Stop()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), testcluster.EnvCluster+"="+c.Dir(), "KUBECONFIG="+filepath.Clean(c.Kubeconfig()),
		"PATH="+withKubectl(os.Getenv("PATH"), bins.Kubectl))
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// The terminal's Ctrl-C reached the child too; give it a moment
		// to finish its cleanup, then stop the cluster.
		cmd.Process.Signal(os.Interrupt)
		err = <-done
		fmt.Fprintln(os.Stderr, "testcluster: interrupted; stopping the cluster")
		return 130, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "\ntest cluster logs (tails):\n%s", c.LogTails(15))
		return ee.ExitCode(), nil
	}
	return 0, err
}

func status(ctx context.Context, dir string) error {
	c, err := testcluster.Attach(dir)
	if err != nil {
		return err
	}
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("cluster in %s does not answer: %w", c.Dir(), err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("Kubernetes %s at %s (KUBECONFIG=%s)\n", v.GitVersion, c.Server(), c.Kubeconfig())
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATUS\tAGE")
	for _, n := range nodes.Items {
		st := "NotReady"
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				st = "Ready"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n.Name, st, time.Since(n.CreationTimestamp.Time).Round(time.Second))
	}
	return tw.Flush()
}
