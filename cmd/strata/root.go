package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// exitError carries an exit code out of a command. Commands return it for
// the codes that scripts branch on (2: changes or drift); any other error
// exits with 1.
type exitError struct {
	code int
	err  error // may be nil when the output already said everything
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// errSilent is returned by commands that have already printed their
// diagnostics; run exits with 1 without printing anything more.
var errSilent = errors.New("error already reported")

// app holds what every command shares: the output streams and the process
// environment. There is no global state; tests build their own app.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

func newApp() *app {
	return &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
}

// run executes the command line and returns the process exit code.
func run(args []string) int {
	quietKlog()
	return newApp().run(args)
}

// quietKlog stops the lines client-go logs with klog, such as memcache.go's
// "Couldn't get current server API group list" printed before strata's own
// error when the API server is down: strata reports every error itself,
// once. klog's settings are process-wide, so only run, which owns the
// process, sets them, through a flag set of its own.
func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"stderrthreshold": "FATAL",
	} {
		_ = fs.Set(name, value) // TestAPIServerDownPrintsOnlyTheError notices a renamed flag
	}
	// Without files to write to, klog would create them in $TMPDIR.
	klog.SetOutput(io.Discard)
}

func (a *app) run(args []string) int {
	defer startProfiles(a.getenv, a.stderr)()
	root := a.rootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && !errors.Is(ee.err, errSilent) {
			fmt.Fprintf(a.stderr, "Error: %v\n", ee.err)
		}
		return ee.code
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(a.stderr, "Error: %v\n", err)
	}
	return 1
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "strata",
		Short: "Plan and apply GitOps stacks (sources, kustomizations, Helm releases) on Kubernetes",
		Long: `strata compiles a directory of HCL files (a stack of Git and Helm sources,
kustomizations and Helm releases) into a dependency graph, shows a plan of
exactly what would change in the cluster, and applies it in order.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.AddCommand(
		a.versionCmd(),
		a.planCmd(),
		a.applyCmd(),
		a.showCmd(),
		a.destroyCmd(),
		a.validateCmd(),
		a.fmtCmd(),
		a.graphCmd(),
		a.stateCmd(),
		a.forceUnlockCmd(),
		a.driftCmd(),
		a.statusCmd(),
		a.importCmd(),
	)
	return root
}
