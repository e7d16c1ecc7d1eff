package helm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	strkube "github.com/strata-gitops/strata/providers/kube"
)

// ErrStalePlan is returned by Apply when the release changed in Helm's
// storage since the plan was made, or when the chart or values given to
// apply a saved plan are not the planned ones.
var ErrStalePlan = errors.New("release changed since the plan was made")

// Options configures a Manager. The zero value is ready to use.
type Options struct {
	// Driver is Helm's storage driver: "secret" (the default, what the
	// Helm CLI uses) or "configmap".
	Driver string
	// Log receives Helm's debug messages; nil discards them.
	Log func(format string, args ...any)
	// PollInterval is how often a wait polls the objects (default 1s).
	PollInterval time.Duration
	// DefaultTimeout bounds operations whose spec sets none (default 5m).
	DefaultTimeout time.Duration
	// DefaultMaxHistory caps the revisions kept when a spec sets none
	// (default 10).
	DefaultMaxHistory int
}

func (o Options) withDefaults() Options {
	if o.Driver == "" {
		o.Driver = "secret"
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = 5 * time.Minute
	}
	if o.DefaultMaxHistory == 0 {
		o.DefaultMaxHistory = 10
	}
	return o
}

// Manager plans and applies Helm releases on one cluster. It is safe for
// concurrent use by several goroutines working on different releases.
type Manager struct {
	opts   Options
	config *rest.Config
	disc   discovery.CachedDiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	dyn    dynamic.Interface
	kube   *strkube.Manager
	caps   *capsCache // shared with the managers Impersonate returns
	// serviceAccount is "ns/name" when the manager impersonates.
	serviceAccount string
}

// capsCache holds the cluster's capabilities between plans.
type capsCache struct {
	mu   sync.Mutex
	caps *chartutil.Capabilities // nil: read on next use
}

// NewManager returns a Manager for the cluster of cfg.
func NewManager(cfg *rest.Config, opts Options) (*Manager, error) {
	if cfg == nil {
		return nil, errors.New("helm: nil rest config")
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("helm: discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("helm: dynamic client: %w", err)
	}
	km, err := strkube.NewManager(cfg, strkube.Options{})
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	disc := memory.NewMemCacheClient(dc)
	return &Manager{
		kube:   km,
		opts:   opts.withDefaults(),
		config: cfg,
		disc:   disc,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(disc),
		dyn:    dyn,
		caps:   &capsCache{},
	}, nil
}

// Impersonate returns a Manager whose every request impersonates the service
// account "namespace/name": Helm's storage (the release Secrets), the dry
// runs of a plan, install, upgrade, rollback, uninstall, the chart's CRDs,
// template lookups and waits, so that RBAC limits what a release can touch.
// It shares the discovery cache of m. An empty serviceAccount returns m.
func (m *Manager) Impersonate(serviceAccount string) (*Manager, error) {
	if serviceAccount == "" {
		return m, nil
	}
	imp, err := strkube.ImpersonationConfig(serviceAccount)
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	km, err := m.kube.Impersonate(serviceAccount)
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	cfg := rest.CopyConfig(m.config)
	cfg.Impersonate = imp
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("helm: dynamic client: %w", err)
	}
	n := *m
	n.config, n.dyn, n.kube, n.serviceAccount = cfg, dyn, km, serviceAccount
	return &n, nil
}

// ServiceAccount returns the impersonated service account ("ns/name"), or "".
func (m *Manager) ServiceAccount() string { return m.serviceAccount }

// getter is a genericclioptions.RESTClientGetter built from a rest.Config:
// Helm's action package needs one, and no kubeconfig file is involved.
type getter struct {
	m         *Manager
	namespace string
	// bound, when set, ends every request when it ends (readConfig).
	bound context.Context
}

func (g getter) ToRESTConfig() (*rest.Config, error) {
	cfg := rest.CopyConfig(g.m.config)
	if g.bound != nil {
		bindContext(cfg, g.bound)
	}
	return cfg, nil
}

func (g getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.m.disc, nil
}

func (g getter) ToRESTMapper() (meta.RESTMapper, error) { return g.m.mapper, nil }

func (g getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	cfg := clientcmdapi.NewConfig()
	cfg.Contexts["strata"] = &clientcmdapi.Context{Namespace: g.namespace}
	cfg.CurrentContext = "strata"
	return clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{})
}

// actionConfig returns a fresh Helm action configuration for one operation on
// releases of namespace. Waits use kstatus and stop when ctx ends.
func (m *Manager) actionConfig(ctx context.Context, namespace string) (*action.Configuration, error) {
	return m.newActionConfig(ctx, getter{m: m, namespace: namespace})
}

// readConfig is actionConfig for operations that only read (plans, drift
// checks): every request they make, Helm's own included, ends when ctx
// ends, so an interrupt stops them even when the API server does not
// answer.
func (m *Manager) readConfig(ctx context.Context, namespace string) (*action.Configuration, error) {
	return m.newActionConfig(ctx, getter{m: m, namespace: namespace, bound: ctx})
}

func (m *Manager) newActionConfig(ctx context.Context, g getter) (*action.Configuration, error) {
	namespace := g.namespace
	cfg := new(action.Configuration)
	if err := cfg.Init(g, namespace, m.opts.Driver, m.opts.Log); err != nil {
		return nil, fmt.Errorf("helm: init: %w", err)
	}
	kc, ok := cfg.KubeClient.(*kube.Client)
	if !ok {
		return nil, fmt.Errorf("helm: unexpected kube client %T", cfg.KubeClient)
	}
	kc.Namespace = namespace
	cfg.KubeClient = &waitClient{Client: kc, ctx: ctx, m: m}
	return cfg, nil
}
