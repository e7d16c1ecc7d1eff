package testcluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// NodeName is the kwok node every cluster registers.
const NodeName = "kwok-node-0"

// Options configure Start.
type Options struct {
	// Dir holds the cluster's data, certificates, kubeconfig and logs. It is
	// created if needed.
	Dir string
	// Binaries are the built components (see Build).
	Binaries Binaries
	// Progress receives one line per startup step; nil discards.
	Progress io.Writer
	// DieWithParent makes the kernel kill every component when the process
	// that started it dies, so that a crashed or killed test run leaves
	// nothing behind. Leave it off for a cluster that must outlive its
	// starter (make cluster-up).
	DieWithParent bool
}

// Cluster is a running control plane. Its methods are safe for concurrent
// use.
type Cluster struct {
	dir    string
	info   clusterInfo
	config *rest.Config

	mu    sync.Mutex
	procs []*exec.Cmd // started by this process; nil when attached

	kubectlMu sync.Mutex // guards kubectl
	kubectl   string     // path of the harness's kubectl, once known
}

// clusterInfo is persisted as cluster.json so that other processes can
// attach to the cluster and stop it.
type clusterInfo struct {
	Server   string         `json:"server"`
	BinDir   string         `json:"bin_dir"`
	Versions Versions       `json:"versions"`
	Kubectl  string         `json:"kubectl,omitempty"`
	PIDs     []componentPID `json:"pids"`
}

type componentPID struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
}

// Start launches etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok on free loopback ports and returns once the API
// server is ready and the kwok node is Ready. On failure everything started
// so far is stopped and the error carries the tails of the component logs.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"pki", "certs", "logs", "users"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	c = &Cluster{dir: dir, info: clusterInfo{BinDir: opts.Binaries.Dir, Versions: opts.Binaries.Versions, Kubectl: opts.Binaries.Kubectl}}
	defer func() {
		if err != nil {
			tails := c.LogTails(25)
			c.Stop()
			err = fmt.Errorf("%w\n%s", err, tails)
		}
	}()
	start := time.Now()
	pki := filepath.Join(dir, "pki")
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(pki, "tokens.csv"), []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := writeCA(filepath.Join(pki, "client-ca.crt"), filepath.Join(pki, "client-ca.key")); err != nil {
		return nil, err
	}
	if err := writeServiceAccountKeys(filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	bin := opts.Binaries

	fmt.Fprintf(progress, "testcluster: starting etcd on 127.0.0.1:%d\n", etcdClient)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	if err := c.spawn(opts, "etcd", bin.Path("etcd"),
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL,
		"--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", etcdPeer),
		"--unsafe-no-fsync", "--log-level", "warn", "--quota-backend-bytes", "4294967296",
	); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, nil, etcdURL+"/health", 30*time.Second); err != nil {
		return nil, fmt.Errorf("etcd did not become healthy: %w", err)
	}

	fmt.Fprintf(progress, "testcluster: starting kube-apiserver on 127.0.0.1:%d\n", apiPort)
	if err := c.spawn(opts, "kube-apiserver", bin.Path("kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--secure-port", strconv.Itoa(apiPort),
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--cert-dir", filepath.Join(dir, "certs"),
		"--token-auth-file", filepath.Join(pki, "tokens.csv"),
		"--client-ca-file", filepath.Join(pki, "client-ca.crt"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range", "10.0.0.0/16", // room for the Services of a whole test run
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount",
		"--max-requests-inflight", "800",
		"--max-mutating-requests-inflight", "400",
		"--v", "1",
	); err != nil {
		return nil, err
	}
	c.info.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if err := waitHTTP(ctx, map[string]string{"Authorization": "Bearer " + token}, c.info.Server+"/readyz", 90*time.Second); err != nil {
		return nil, fmt.Errorf("kube-apiserver did not become ready: %w", err)
	}
	caData, err := os.ReadFile(filepath.Join(dir, "certs", "apiserver.crt"))
	if err != nil {
		return nil, fmt.Errorf("reading the API server certificate: %w", err)
	}
	c.config = &rest.Config{
		Host:            c.info.Server,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caData},
		QPS:             -1, // no client-side throttling against a test cluster
	}
	kubeconfig := c.Kubeconfig()
	if err := writeKubeconfig(kubeconfig, c.config, "admin"); err != nil {
		return nil, err
	}

	fmt.Fprintf(progress, "testcluster: starting kube-controller-manager, kube-scheduler and kwok\n")
	if err := c.spawn(opts, "kube-controller-manager", bin.Path("kube-controller-manager"),
		"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file", filepath.Join(pki, "sa.key"),
		"--root-ca-file", filepath.Join(dir, "certs", "apiserver.crt"),
		"--use-service-account-credentials=false",
		"--controllers", "*,-nodeipam",
		"--kube-api-qps", "500", "--kube-api-burst", "1000",
		"--concurrent-deployment-syncs", "20", "--concurrent-replicaset-syncs", "20",
	); err != nil {
		return nil, err
	}
	if err := c.spawn(opts, "kube-scheduler", bin.Path("kube-scheduler"),
		"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--leader-elect=false", "--secure-port=0",
		"--kube-api-qps", "500", "--kube-api-burst", "1000",
	); err != nil {
		return nil, err
	}
	if err := c.spawn(opts, "kwok", bin.Path("kwok"),
		"--kubeconfig", kubeconfig,
		"--config", bin.stagesFile(),
		"--manage-all-nodes=true",
		"--cidr", "10.0.0.1/24",
		"--node-ip", "10.0.0.1",
		"--server-address", "127.0.0.1:0",
	); err != nil {
		return nil, err
	}
	if err := c.writeInfo(); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "testcluster: registering node %s\n", NodeName)
	if err := c.waitReady(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "testcluster: ready in %s (Kubernetes %s, kubeconfig %s)\n",
		time.Since(start).Round(100*time.Millisecond), bin.Versions.Kubernetes, kubeconfig)
	return c, nil
}

// Attach returns the cluster started in dir by another process.
func Attach(dir string) (*Cluster, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		return nil, fmt.Errorf("no test cluster in %s: %w", dir, err)
	}
	c := &Cluster{dir: dir}
	if err := json.Unmarshal(b, &c.info); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "cluster.json"), err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig of the test cluster: %w", err)
	}
	cfg.QPS = -1
	c.config = cfg
	return c, nil
}

// Dir returns the cluster's directory.
func (c *Cluster) Dir() string { return c.dir }

// Kubeconfig returns the path of the admin kubeconfig.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.dir, "kubeconfig") }

// Server returns the API server's URL.
func (c *Cluster) Server() string { return c.info.Server }

// RESTConfig returns a fresh copy of the admin (system:masters) client
// configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// Clientset returns an admin clientset.
func (c *Cluster) Clientset() (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(c.RESTConfig())
}

// User is a client identity of the cluster, authenticated by a client
// certificate signed by the cluster's client CA. It has no rights until RBAC
// grants it some.
type User struct {
	Name       string
	Groups     []string
	Config     *rest.Config
	Kubeconfig string
}

// User creates a user named name in groups (any names: the API server takes
// them from the certificate).
func (c *Cluster) User(name string, groups ...string) (*User, error) {
	pki := filepath.Join(c.dir, "pki")
	certPEM, keyPEM, err := signClientCert(filepath.Join(pki, "client-ca.crt"), filepath.Join(pki, "client-ca.key"), name, groups)
	if err != nil {
		return nil, fmt.Errorf("issuing a certificate for %s: %w", name, err)
	}
	cfg := rest.AnonymousClientConfig(c.config)
	cfg.CertData = certPEM
	cfg.KeyData = keyPEM
	u := &User{Name: name, Groups: groups, Config: cfg}
	f, err := os.CreateTemp(filepath.Join(c.dir, "users"), safeName(name)+"-*.kubeconfig")
	if err != nil {
		return nil, err
	}
	f.Close()
	u.Kubeconfig = f.Name()
	if err := writeKubeconfig(u.Kubeconfig, cfg, name); err != nil {
		return nil, err
	}
	return u, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

func writeKubeconfig(path string, cfg *rest.Config, user string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["strata-test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["strata-test"] = &clientcmdapi.Context{Cluster: "strata-test", AuthInfo: user, Namespace: "default"}
	kc.CurrentContext = "strata-test"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// spawn starts one component with its output in logs/NAME.log.
func (c *Cluster) spawn(opts Options, name, path string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(c.dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(path, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = c.dir
	// A process group of its own: a Ctrl-C at the terminal reaches the
	// harness, which stops the components in order, instead of killing
	// etcd under a running API server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if opts.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, cmd)
	c.info.PIDs = append(c.info.PIDs, componentPID{Name: name, PID: cmd.Process.Pid})
	c.mu.Unlock()
	return c.writeInfo()
}

func (c *Cluster) writeInfo() error {
	c.mu.Lock()
	b, err := json.MarshalIndent(c.info, "", "  ")
	c.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.dir, "cluster.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.dir, "cluster.json"))
}

// Stop stops every component in reverse start order, by PID: SIGTERM, then
// SIGKILL after a grace period. It works for clusters started by this
// process and for attached ones, and is safe to call more than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	pids := append([]componentPID(nil), c.info.PIDs...)
	procs := c.procs
	c.info.PIDs = nil
	c.procs = nil
	c.mu.Unlock()
	waited := map[int]chan struct{}{}
	for _, p := range procs {
		done := make(chan struct{})
		waited[p.Process.Pid] = done
		go func(p *exec.Cmd) { p.Wait(); close(done) }(p)
	}
	var errs []error
	for i := len(pids) - 1; i >= 0; i-- {
		p := pids[i]
		if !c.ours(p.PID) {
			continue
		}
		syscall.Kill(p.PID, syscall.SIGTERM)
		if !waitGone(p.PID, waited[p.PID], 10*time.Second) {
			syscall.Kill(p.PID, syscall.SIGKILL)
			if !waitGone(p.PID, waited[p.PID], 5*time.Second) {
				errs = append(errs, fmt.Errorf("%s (pid %d) did not stop", p.Name, p.PID))
			}
		}
	}
	if err := c.writeInfo(); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ours reports whether pid is still one of this cluster's components (and
// not a reused PID of some other program).
func (c *Cluster) ours(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// A zombie of ours: reaped by Wait, nothing to signal.
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			return false
		}
	}
	return strings.HasPrefix(string(b), c.info.BinDir+"/")
}

func waitGone(pid int, done chan struct{}, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		if done != nil {
			select {
			case <-done:
				return true
			case <-deadline:
				return false
			}
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
				return true // exited; its parent reaps it
			}
		}
		select {
		case <-deadline:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LogTails returns the last n lines of every component log, for printing
// when something failed.
func (c *Cluster) LogTails(n int) string {
	var b strings.Builder
	for _, name := range components {
		data, err := os.ReadFile(filepath.Join(c.dir, "logs", name+".log"))
		if err != nil || len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s (last %d lines of %s)\n%s\n", name, n, filepath.Join(c.dir, "logs", name+".log"), tail(string(data), n))
	}
	return b.String()
}

// waitReady registers the kwok node and waits for it to be Ready and for
// the controller manager to have created the default service account.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": "", "type": "kwok",
			},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("512Gi"), corev1.ResourcePods: resource.MustParse("2000")},
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("512Gi"), corev1.ResourcePods: resource.MustParse("2000")},
			NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "fake", OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
	for {
		_, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("registering node %s: %w", NodeName, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var why string
	for {
		why = ""
		n, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		switch {
		case err != nil:
			why = err.Error()
		case !nodeReady(n):
			why = "node " + NodeName + " is not Ready"
		case hasTaint(n, "node.kubernetes.io/not-ready"):
			why = "node " + NodeName + " still has the not-ready taint"
		default:
			if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
				why = "waiting for the default service account: " + err.Error()
			}
		}
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready after %s: %s", timeout, why)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitHTTP(ctx context.Context, headers map[string]string, url string, timeout time.Duration) error {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // readiness probe only; the kubeconfig pins the CA
	}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s: %s", url, timeout, last)
}

// PIDs returns the process IDs of the running components by name.
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for _, p := range c.info.PIDs {
		m[p.Name] = p.PID
	}
	return m
}
