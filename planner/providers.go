package planner

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/providers/cache"
	"github.com/strata-gitops/strata/providers/git"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/helmrepo"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/providers/oci"
	"github.com/strata-gitops/strata/providers/source"
)

// Kube is what the engine needs from the Kubernetes cluster, acting as one
// identity: plan (Diff, Prepare), apply and prune (Apply, Wait), saved-plan
// checks (Mapping, Get) and drift (ScanMetadata). kube.Manager is the real
// one. Rendering is kustomize's and needs no cluster.
type Kube interface {
	// Diff plans the changes of one block (see kube.Manager.Diff).
	Diff(ctx context.Context, objs []*unstructured.Unstructured, opts kube.DiffOptions) (*kube.ChangeSet, error)
	// Apply carries out a change set, prunes included (kube.Manager.Apply).
	Apply(ctx context.Context, cs *kube.ChangeSet, opts kube.ApplyOptions, events chan<- kube.Event) (*kube.ApplyResult, error)
	// Wait waits until the objects are ready (kube.Manager.Wait).
	Wait(ctx context.Context, refs []kube.ObjectRef, opts kube.WaitOptions, events chan<- kube.Event) error
	// Prepare adds to a rendered object what Diff and Apply add
	// (kube.Manager.Prepare).
	Prepare(ctx context.Context, obj *unstructured.Unstructured, o kube.Owner) (*meta.RESTMapping, error)
	// ScanMetadata reads the live metadata of objects (kube.Manager.ScanMetadata).
	ScanMetadata(ctx context.Context, refs []kube.ObjectRef, opts kube.ScanOptions) ([]kube.LiveMetadata, error)
	// Mapping returns the REST mapping of a kind (kube.Manager.Mapping).
	Mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error)
	// Get reads one live object (kube.Manager.Get).
	Get(ctx context.Context, resource schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error)
}

// Helm is what the engine needs from Helm, acting as one identity: release
// plans and their saved-plan check, apply, uninstall, and the release
// history and drift of strata drift. helm.Manager is the real one.
type Helm interface {
	Plan(ctx context.Context, spec helm.ReleaseSpec) (*helm.ReleasePlan, error)
	Check(ctx context.Context, p *helm.ReleasePlan) error
	Apply(ctx context.Context, p *helm.ReleasePlan, events chan<- helm.Event) (*helm.Result, error)
	UninstallHooks(ctx context.Context, name, namespace string, disabled bool) ([]helm.Hook, error)
	Uninstall(ctx context.Context, name, namespace string, opts helm.UninstallOptions, events chan<- helm.Event) (*helm.Result, error)
	History(ctx context.Context, name, namespace string) ([]*release.Release, error)
	Drift(ctx context.Context, name, namespace string) ([]kube.Change, error)
}

// GitSource fetches Git sources (git.Fetcher is the real one).
type GitSource interface {
	Fetch(ctx context.Context, spec git.Spec) (*source.Artifact, error)
	Resolve(ctx context.Context, spec git.Spec) (git.Resolved, error)
}

// OCISource fetches manifests from OCI artifacts (oci.Client is the real
// one).
type OCISource interface {
	Fetch(ctx context.Context, spec oci.Spec) (*source.Artifact, error)
	Resolve(ctx context.Context, spec oci.Spec) (oci.Resolved, error)
}

// ChartSource resolves and pulls charts from Helm repositories, HTTP or
// OCI (helmrepo.Client is the real one).
type ChartSource interface {
	Pull(ctx context.Context, spec helmrepo.Spec, ref helmrepo.ChartRef) (*helmrepo.Chart, error)
	Resolve(ctx context.Context, spec helmrepo.Spec, ref helmrepo.ChartRef) (helmrepo.ChartVersion, error)
}

// Compile-time checks that the real providers are what the engine needs.
var (
	_ Kube        = (*kube.Manager)(nil)
	_ Helm        = (*helm.Manager)(nil)
	_ GitSource   = (*git.Fetcher)(nil)
	_ ChartSource = (*helmrepo.Client)(nil)
	_ OCISource   = (*oci.Client)(nil)
)

// Providers are the engine's clients of the cluster and of the sources.
// Kube and Helm return the client that impersonates a service account
// ("namespace/name"; "" is strata's own credentials). Every field is safe
// for concurrent use: the apply walk calls them from several goroutines.
//
// Options.Providers injects them (tests pass fakes); otherwise the engine
// connects the real ones, once, on first use: ClusterProviders when it
// first talks to the cluster, SourceProviders when it first fetches.
type Providers struct {
	Kube   func(serviceAccount string) (Kube, error)
	Helm   func(serviceAccount string) (Helm, error)
	Git    GitSource
	Charts ChartSource
	OCI    OCISource
}

// ClusterProviders returns the real Kubernetes and Helm providers for cfg.
// Each shares one discovery cache among all the identities it acts as.
func ClusterProviders(cfg *rest.Config) (kubeAs func(string) (Kube, error), helmAs func(string) (Helm, error), err error) {
	km, err := kube.NewManager(cfg, kube.Options{})
	if err != nil {
		return nil, nil, err
	}
	hm, err := helm.NewManager(cfg, helm.Options{})
	if err != nil {
		return nil, nil, err
	}
	kubeAs = func(sa string) (Kube, error) {
		m, err := km.Impersonate(sa)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	helmAs = func(sa string) (Helm, error) {
		m, err := hm.Impersonate(sa)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return kubeAs, helmAs, nil
}

// SourceProviders returns the real Git, chart and OCI artifact providers
// (the Git, Charts and OCI fields), which share the artifact cache under
// the stack directory dir.
func SourceProviders(dir string, now func() time.Time) (Providers, error) {
	cdir := filepath.Join(dir, cache.DefaultDir)
	if err := confine.InWorkDir(dir, cdir); err != nil {
		return Providers{}, fmt.Errorf("artifact cache: %w", err)
	}
	c, err := cache.Open(cache.Options{Dir: cdir, Now: now, Secret: cacheSecret()})
	if err != nil {
		return Providers{}, err
	}
	f, err := git.New(git.Options{Cache: c})
	if err != nil {
		return Providers{}, err
	}
	cl, err := helmrepo.New(helmrepo.Options{Cache: c})
	if err != nil {
		return Providers{}, err
	}
	oc, err := oci.New(oci.Options{Cache: c})
	if err != nil {
		return Providers{}, err
	}
	return Providers{Git: f, Charts: cl, OCI: oc}, nil
}

// clusterConfig returns the cluster's configuration (unguarded), loading
// it on first use. The caller holds connMu.
func (e *Engine) clusterConfig() (*rest.Config, error) {
	if e.restCfg != nil {
		return e.restCfg, nil
	}
	cfg := e.opts.RESTConfig
	if cfg == nil {
		c, err := e.loadRESTConfig()
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	e.restCfg = cfg
	return cfg, nil
}

// connectCluster returns the engine's providers with Kube and Helm set,
// connecting them on first use with writes guarded by the state lock
// (see guarded). Callers that run in parallel (the apply walk) get the
// providers before they start.
func (e *Engine) connectCluster() (*Providers, error) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.prov.Kube != nil && e.prov.Helm != nil {
		return &e.prov, nil
	}
	cfg, err := e.clusterConfig()
	if err != nil {
		return nil, err
	}
	k, h, err := ClusterProviders(guarded(cfg, e.lock.check))
	if err != nil {
		return nil, err
	}
	if e.prov.Kube == nil {
		e.prov.Kube = k
	}
	if e.prov.Helm == nil {
		e.prov.Helm = h
	}
	return &e.prov, nil
}

// connectSources returns the engine's providers with Git and Charts set,
// creating them on first use.
func (e *Engine) connectSources() (*Providers, error) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.prov.Git != nil && e.prov.Charts != nil && e.prov.OCI != nil {
		return &e.prov, nil
	}
	real, err := SourceProviders(e.dir, e.opts.Now)
	if err != nil {
		return nil, err
	}
	if e.prov.Git == nil {
		e.prov.Git = real.Git
	}
	if e.prov.Charts == nil {
		e.prov.Charts = real.Charts
	}
	if e.prov.OCI == nil {
		e.prov.OCI = real.OCI
	}
	return &e.prov, nil
}

// kubeAs returns the Kubernetes client impersonating serviceAccount.
func (e *Engine) kubeAs(serviceAccount string) (Kube, error) {
	p, err := e.connectCluster()
	if err != nil {
		return nil, err
	}
	return p.Kube(serviceAccount)
}

// helmAs returns the Helm client impersonating serviceAccount
// ("namespace/name"; "" is strata's own credentials).
func (e *Engine) helmAs(serviceAccount string) (Helm, error) {
	p, err := e.connectCluster()
	if err != nil {
		return nil, err
	}
	return p.Helm(serviceAccount)
}

// loadRESTConfig reads the cluster configuration from the kubeconfig and
// context of the options, else of the stack, else the defaults.
func (e *Engine) loadRESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	kc := e.cluster.Kubeconfig
	if e.opts.Kubeconfig != "" {
		kc = e.opts.Kubeconfig
	}
	if kc != "" {
		rules.ExplicitPath = kc
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: e.cluster.Context}
	if e.opts.Context != "" {
		overrides.CurrentContext = e.opts.Context
	}
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster configuration: %w", err)
	}
	return c, nil
}

// cacheSecret returns the secret that authenticates the artifact cache
// (cache.Options.Secret): a cache in the stack's .strata may have been
// committed by a pull request, with any content under the keys strata
// would look up. It is kept outside every stack, in the user's cache
// directory (strata/cache-secret, created 0600 on first use); when that
// cannot be read or created, a secret of this process only, so that no
// cached content from before is trusted.
func cacheSecret() []byte {
	if d, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(d, "strata", "cache-secret")
		if b, err := readSecret(p); err == nil {
			return b
		}
		if b, err := createSecret(p); err == nil {
			return b
		}
		if b, err := readSecret(p); err == nil { // created meanwhile
			return b
		}
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func readSecret(p string) ([]byte, error) {
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("cache secret %s: not a regular file", p)
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("cache secret %s: unreadable or short", p)
	}
	return b, nil
}

func createSecret(p string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(p)
		return nil, err
	}
	return b, nil
}
