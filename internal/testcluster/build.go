package testcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Versions pins the components of the test cluster.
type Versions struct {
	Kubernetes string // k8s.io/kubernetes, e.g. v1.37.2
	Etcd       string // go.etcd.io/etcd/server/v3
	Kwok       string // sigs.k8s.io/kwok
}

// DefaultVersions are the versions of ../shared/TESTCLUSTER.md.
var DefaultVersions = Versions{Kubernetes: "v1.37.2", Etcd: "v3.6.16", Kwok: "v0.8.0"}

func (v Versions) key() string {
	return "k8s-" + v.Kubernetes + "_etcd-" + v.Etcd + "_kwok-" + v.Kwok
}

// stagingModules are the modules that k8s.io/kubernetes replaces with its
// staging directories; an outside module must pin each to the matching
// v0.x.y release instead (the replace block of kubernetes' own go.mod).
var stagingModules = []string{
	"api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime",
	"client-go", "cloud-provider", "cluster-bootstrap", "code-generator",
	"component-base", "component-helpers", "controller-manager", "cri-api",
	"cri-client", "cri-streaming", "csi-translation-lib", "dynamic-resource-allocation",
	"endpointslice", "externaljwt", "kms", "kube-aggregator", "kube-controller-manager",
	"kube-proxy", "kube-scheduler", "kubectl", "kubelet", "metrics", "mount-utils",
	"pod-security-admission", "sample-apiserver", "sample-cli-plugin",
	"sample-controller", "streaming",
}

// Binaries is a directory of built components, and the kubectl of the same
// Kubernetes version.
type Binaries struct {
	Dir      string
	Versions Versions
	// Kubectl is the path of kubectl, alone in its directory (so that the
	// directory can go on PATH). It is cached beside Dir rather than in it,
	// so that adding it kept the existing caches valid.
	Kubectl string
}

// Path returns the path of the named component binary.
func (b Binaries) Path(name string) string { return filepath.Join(b.Dir, name) }

// stagesFile is the kwok Stage configuration copied out of the kwok module.
func (b Binaries) stagesFile() string { return filepath.Join(b.Dir, "kwok-stages.yaml") }

var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// CacheDir returns the directory where built binaries are kept:
// $STRATA_CLUSTER_CACHE, else $XDG_CACHE_HOME/strata/testcluster, else
// ~/.cache/strata/testcluster.
func CacheDir() (string, error) {
	if d := os.Getenv("STRATA_CLUSTER_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache directory: %w (set STRATA_CLUSTER_CACHE)", err)
	}
	return filepath.Join(d, "strata", "testcluster"), nil
}

// Build returns the cached binaries for v, building what is missing first.
// Progress of a build goes to progress; a cached set returns at once. Two
// processes building at once serialise on a file lock.
func Build(ctx context.Context, v Versions, progress io.Writer) (Binaries, error) {
	root, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	bins := Binaries{Dir: filepath.Join(root, v.key()), Versions: v}
	if err := buildComponents(ctx, root, bins, progress); err != nil {
		return Binaries{}, err
	}
	if bins.Kubectl, err = BuildKubectl(ctx, v, progress); err != nil {
		return Binaries{}, err
	}
	return bins, nil
}

// buildComponents builds the control plane's binaries into bins.Dir unless
// they are cached there.
func buildComponents(ctx context.Context, root string, bins Binaries, progress io.Writer) error {
	if bins.complete() {
		return nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(root, bins.Versions.key()+".lock"), progress)
	if err != nil {
		return err
	}
	defer unlock()
	if bins.complete() { // built by another process while we waited
		return nil
	}
	return build(ctx, bins, progress)
}

func (b Binaries) complete() bool {
	for _, c := range append(components, "kwok-stages.yaml") {
		if fi, err := os.Stat(b.Path(c)); err != nil || fi.Size() == 0 {
			return false
		}
	}
	return true
}

func lockFile(ctx context.Context, path string, progress io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !said {
			fmt.Fprintf(progress, "testcluster: another process is building the cluster binaries; waiting\n")
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// build compiles every component into a staging directory and renames it
// into place, so that an interrupted build leaves no half-filled cache.
func build(ctx context.Context, bins Binaries, progress io.Writer) error {
	v := bins.Versions
	work, err := os.MkdirTemp(filepath.Dir(bins.Dir), "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "bin")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(progress, "testcluster: first run on this machine: building Kubernetes %s, etcd %s and kwok %s from the Go module proxy (about 5-10 minutes on 2 cores; cached afterwards in %s)\n",
		v.Kubernetes, v.Etcd, v.Kwok, bins.Dir)

	// Kubernetes: one module that requires k8s.io/kubernetes and pins every
	// staging module.
	k8s := filepath.Join(work, "k8s")
	if err := writeModule(k8s, kubernetesGoMod(v), "k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler"); err != nil {
		return err
	}
	steps := []struct {
		what string
		dir  string
		args []string
	}{
		{"resolving Kubernetes modules", k8s, []string{"mod", "tidy"}},
	}
	ld := kubernetesLDFlags(v)
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		steps = append(steps, struct {
			what string
			dir  string
			args []string
		}{"building " + c, k8s, []string{"build", "-trimpath", "-ldflags", ld, "-o", filepath.Join(out, c), "k8s.io/kubernetes/cmd/" + c}})
	}
	etcd := filepath.Join(work, "etcd")
	if err := writeModule(etcd, fmt.Sprintf("module strata.local/etcdbuild\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n", v.Etcd), "go.etcd.io/etcd/server/v3"); err != nil {
		return err
	}
	steps = append(steps,
		struct {
			what string
			dir  string
			args []string
		}{"resolving etcd modules", etcd, []string{"mod", "tidy"}},
		struct {
			what string
			dir  string
			args []string
		}{"building etcd", etcd, []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(out, "etcd"), "go.etcd.io/etcd/server/v3"}},
		struct {
			what string
			dir  string
			args []string
		}{"building kwok", work, []string{"install", "-trimpath", "-ldflags", "-s -w", "sigs.k8s.io/kwok/cmd/kwok@" + v.Kwok}},
	)
	for i, s := range steps {
		if err := goCmd(ctx, s.dir, out, progress, fmt.Sprintf("[%d/%d] %s", i+1, len(steps), s.what), s.args...); err != nil {
			return err
		}
	}
	if err := writeStages(ctx, work, v.Kwok, filepath.Join(out, "kwok-stages.yaml")); err != nil {
		return err
	}
	os.RemoveAll(bins.Dir)
	if err := os.Rename(out, bins.Dir); err != nil {
		return err
	}
	fmt.Fprintf(progress, "testcluster: built in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// kubernetesGoMod is the go.mod of a module that builds commands of
// k8s.io/kubernetes v.Kubernetes: it requires kubernetes and pins every
// staging module to the matching v0.x.y release.
func kubernetesGoMod(v Versions) string {
	var gomod strings.Builder
	fmt.Fprintf(&gomod, "module strata.local/clusterbuild\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", v.Kubernetes)
	stagingVersion := "v0" + strings.TrimPrefix(v.Kubernetes, "v1")
	for _, m := range stagingModules {
		fmt.Fprintf(&gomod, "\tk8s.io/%s => k8s.io/%s %s\n", m, m, stagingVersion)
	}
	gomod.WriteString(")\n")
	return gomod.String()
}

// kubernetesLDFlags set the version a Kubernetes command reports (the
// server's /version, and kubectl's client version, which client-go keeps);
// without them both say v0.0.0-master.
func kubernetesLDFlags(v Versions) string {
	minor := append(strings.SplitN(strings.TrimPrefix(v.Kubernetes, "v"), ".", 3), "", "")
	var ld strings.Builder
	ld.WriteString("-s -w")
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fmt.Fprintf(&ld, " -X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean",
			pkg, v.Kubernetes, pkg, minor[0], pkg, minor[1], pkg)
	}
	return ld.String()
}

func writeModule(dir, gomod string, mains ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	var src strings.Builder
	src.WriteString("//go:build tools\n\npackage tools\n\nimport (\n")
	for _, m := range mains {
		fmt.Fprintf(&src, "\t_ %q\n", m)
	}
	src.WriteString(")\n")
	return os.WriteFile(filepath.Join(dir, "tools.go"), []byte(src.String()), 0o644)
}

// goCmd runs the go command and prints a progress line every 20 seconds.
func goCmd(ctx context.Context, dir, gobin string, progress io.Writer, what string, args ...string) error {
	start := time.Now()
	fmt.Fprintf(progress, "testcluster: %s\n", what)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s: go %s: %w\n%s", what, strings.Join(args, " "), err, tail(output.String(), 30))
			}
			return nil
		case <-tick.C:
			fmt.Fprintf(progress, "testcluster: %s [%s elapsed]\n", what, time.Since(start).Round(time.Second))
		}
	}
}

// writeStages concatenates the Stage documents that kwok ships in its module
// (node and pod lifecycles); without them kwok refuses to start.
func writeStages(ctx context.Context, work, version, dst string) error {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "sigs.k8s.io/kwok@"+version)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOWORK=off")
	outb, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("downloading kwok %s for its stages: %w", version, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(outb, &mod); err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, d := range []string{"node/fast", "node/heartbeat", "pod/fast"} {
		dir := filepath.Join(mod.Dir, "kustomize", "stage", d)
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return err
		}
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			buf.WriteString("---\n")
			buf.Write(b)
			buf.WriteString("\n")
		}
	}
	if buf.Len() == 0 {
		return fmt.Errorf("no kwok stages found in %s", mod.Dir)
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
