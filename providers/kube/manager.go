package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Options configures a Manager. Zero values take the defaults.
type Options struct {
	// Concurrency is how many requests run in parallel (default 32).
	Concurrency int
	// QPS and Burst override the client-side rate limit of the rest.Config
	// when it has none (defaults 1000 and 2000: the API server's own
	// priority and fairness is the limit that matters).
	QPS   float32
	Burst int
	// ExactDiff makes Diff send a dry run for every object. By default an
	// object whose live version carries the digest of the very configuration
	// being diffed (AnnotationDigest) and already holds every field value of
	// it is a no-op without a dry run: applying the same configuration again
	// cannot change it. ExactDiff also shows what mutating webhooks would do
	// on a re-apply of an unchanged object.
	ExactDiff bool
	// RequestTimeout bounds each request of the dynamic client (default 2
	// minutes), so that an API server that stops answering fails the run
	// instead of holding it. Discovery keeps client-go's own 32 seconds.
	// Cancelling the context of a call stops its requests at once.
	RequestTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.QPS <= 0 {
		o.QPS = 1000
	}
	if o.Burst <= 0 {
		o.Burst = 2000
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 2 * time.Minute
	}
	return o
}

// Manager diffs, applies, prunes and waits for objects of one cluster. It is
// safe for concurrent use.
type Manager struct {
	cfg    *rest.Config
	opts   Options
	dyn    dynamic.Interface
	raw    rest.Interface // the client of dyn, for listObjects
	mapper *mapper
	// serviceAccount is "ns/name" when the manager impersonates.
	serviceAccount string
	// own is the client without impersonation: it reads the cluster's
	// admission configuration (see admissionScope), which decides only
	// which objects are dry-run, never what is written.
	own dynamic.Interface
}

// NewManager returns a Manager for the cluster of cfg (which it copies).
func NewManager(cfg *rest.Config, opts Options) (*Manager, error) {
	opts = opts.withDefaults()
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = opts.QPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = opts.Burst
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = opts.RequestTimeout
	}
	dyn, raw, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, opts: opts, dyn: dyn, raw: raw, mapper: newMapper(dc), own: dyn}, nil
}

// Impersonate returns a Manager whose every request impersonates the service
// account "namespace/name", so that RBAC limits what it can touch. It shares
// the discovery cache of m. An empty serviceAccount returns m.
func (m *Manager) Impersonate(serviceAccount string) (*Manager, error) {
	if serviceAccount == "" {
		return m, nil
	}
	imp, err := ImpersonationConfig(serviceAccount)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(m.cfg)
	cfg.Impersonate = imp
	dyn, raw, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, opts: m.opts, dyn: dyn, raw: raw, mapper: m.mapper, serviceAccount: serviceAccount, own: m.own}, nil
}

// ImpersonationConfig returns the impersonation settings of a rest.Config
// that acts as the service account "namespace/name".
func ImpersonationConfig(serviceAccount string) (rest.ImpersonationConfig, error) {
	ns, name, ok := strings.Cut(serviceAccount, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return rest.ImpersonationConfig{}, fmt.Errorf("service account %q: want namespace/name", serviceAccount)
	}
	return rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + name}, nil
}

// ServiceAccount returns the impersonated service account ("ns/name"), or "".
func (m *Manager) ServiceAccount() string { return m.serviceAccount }

// Dynamic returns the dynamic client the manager uses (impersonating if m
// does).
func (m *Manager) Dynamic() dynamic.Interface { return m.dyn }

// Mapping returns the REST mapping of a group and kind (version optional).
// A kind unknown to the cached discovery triggers a refresh unless the cache
// was just refreshed.
// Discovery requests are made with ctx, so cancelling it stops them.
func (m *Manager) Mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	return m.mapper.mapping(ctx, gvk)
}

// Get reads the live object name of resource, in namespace ("" for a
// cluster-scoped object), impersonating if m does.
func (m *Manager) Get(ctx context.Context, resource schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error) {
	ri := m.dyn.Resource(resource)
	if namespace != "" {
		return ri.Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	return ri.Get(ctx, name, metav1.GetOptions{})
}

// ResetMapping forgets the cached discovery, e.g. after CRDs were created.
func (m *Manager) ResetMapping() { m.mapper.reset() }

// mapper is a discovery-backed RESTMapper. It is safe for concurrent use.
type mapper struct {
	rm *restmapper.DeferredDiscoveryRESTMapper

	// found are the mappings of versioned kinds found since the last
	// reset: the deferred mapper's own lookup (through its priority and
	// multi mappers) cost more than the list requests of a large block
	// when repeated for every object.
	mu    sync.RWMutex
	found map[schema.GroupVersionKind]*meta.RESTMapping
}

func newMapper(dc discovery.DiscoveryInterface) *mapper {
	cached := memory.NewMemCacheClientWithContext(discovery.ToDiscoveryInterfaceWithContext(dc))
	return &mapper{rm: restmapper.NewDeferredDiscoveryRESTMapperWithContext(cached), found: map[schema.GroupVersionKind]*meta.RESTMapping{}}
}

func (p *mapper) reset() {
	p.mu.Lock()
	p.found = map[schema.GroupVersionKind]*meta.RESTMapping{}
	p.mu.Unlock()
	p.rm.Reset()
}

func (p *mapper) mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	p.mu.RLock()
	mp := p.found[gvk]
	p.mu.RUnlock()
	if mp != nil {
		return mp, nil
	}
	var versions []string
	if gvk.Version != "" {
		versions = []string{gvk.Version}
	}
	// The deferred mapper refreshes discovery once by itself when it meets
	// an unknown kind and its cache is not fresh. Errors are not kept: the
	// next lookup of an unknown kind may find it.
	mp, err := p.rm.RESTMappingWithContext(ctx, gvk.GroupKind(), versions...)
	if err != nil {
		return nil, err
	}
	if gvk.Version != "" { // the preferred version may change with a refresh
		p.mu.Lock()
		p.found[gvk] = mp
		p.mu.Unlock()
	}
	return mp, nil
}

// resource returns the dynamic client for the object's resource and
// namespace, and whether it is namespaced.
func (m *Manager) resource(ctx context.Context, ref ObjectRef) (dynamic.ResourceInterface, bool, error) {
	mp, err := m.Mapping(ctx, ref.GroupVersionKind())
	if err != nil {
		return nil, false, err
	}
	if mp.Scope.Name() == meta.RESTScopeNameNamespace {
		return m.dyn.Resource(mp.Resource).Namespace(ref.Namespace), true, nil
	}
	return m.dyn.Resource(mp.Resource), false, nil
}
