package testcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
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
