// Package backend opens the state store a stack's `strata { backend ... }`
// block names, from plain settings, so that the CLI and the engine open
// stores the same way without state importing the stack language.
package backend

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-gitops/strata/internal/confine"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/bolt"
	"github.com/strata-gitops/strata/state/crypt"
	"github.com/strata-gitops/strata/state/kube"
)

// Config holds a backend's settings.
type Config struct {
	// Type is "local" (the default) or "kubernetes".
	Type string
	// Path is the local backend's file; relative paths are joined to Dir.
	// Default bolt.DefaultPath.
	Path string
	// Dir is the stack directory, which the stack's local file must stay
	// inside, also through symbolic links (see confine.ResolveNew): the
	// stack may come from a pull request. A file in its .strata directory
	// (the default) is opened only if no component of its path there is a
	// symbolic link (see confine.InWorkDir).
	Dir string
	// Anywhere says that Path was named by the person running strata
	// (--state) or by a saved plan, not by the stack: it is not confined
	// to Dir.
	Anywhere bool
	// Namespace and Name locate the kubernetes backend's state.
	Namespace, Name string
	// Kubeconfig and Context select the cluster of the kubernetes backend;
	// empty means $KUBECONFIG or ~/.kube/config and its current context.
	Kubeconfig, Context string
	// RESTConfig, when set, is used instead of Kubeconfig and Context.
	RESTConfig *rest.Config
	// LeaseDuration of the kubernetes lock; default kube's.
	LeaseDuration time.Duration
	// RequestTimeout bounds each request of the kubernetes backend when
	// the REST config sets no timeout; default 30 seconds, half the
	// default lease, so that an API server that stops answering fails the
	// run (or the lease renewal) instead of holding it. State writes go on
	// after an interrupt, so the context alone does not bound them.
	RequestTimeout time.Duration
	// OnRenewError receives the failed renewals of the kubernetes lock
	// (kube.Options.OnRenewError).
	OnRenewError func(lockID string, err error)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Key, when set, encrypts the state at rest (see state/crypt); an
	// encrypted state cannot be read without it.
	Key *crypt.Key
}

// DefaultRequestTimeout is the default of Config.RequestTimeout.
const DefaultRequestTimeout = 30 * time.Second

// Open opens the store described by c. It does not contact the backend.
func Open(c Config) (state.Store, error) {
	switch c.Type {
	case "", "local":
		p := c.Path
		if p == "" {
			p = bolt.DefaultPath
		}
		if !filepath.IsAbs(p) && c.Dir != "" {
			p = filepath.Join(c.Dir, p)
		}
		if c.Dir != "" {
			if err := confine.InWorkDir(c.Dir, p); err != nil {
				return nil, fmt.Errorf("state file: %w", err)
			}
			if err := confined(c, p); err != nil {
				return nil, err
			}
		}
		return bolt.Open(bolt.Options{Path: p, Now: c.Now, Key: c.Key})
	case "kubernetes":
		if c.Namespace == "" {
			return nil, errors.New("kubernetes backend: namespace is required")
		}
		cfg := c.RESTConfig
		if cfg == nil {
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			rules.ExplicitPath = c.Kubeconfig
			var err error
			cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
				&clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
			if err != nil {
				return nil, fmt.Errorf("kubernetes backend: %w", err)
			}
		}
		cfg = rest.CopyConfig(cfg)
		if cfg.Timeout == 0 {
			cfg.Timeout = c.RequestTimeout
			if cfg.Timeout <= 0 {
				cfg.Timeout = DefaultRequestTimeout
			}
		}
		return kube.Open(kube.Options{Config: cfg, Namespace: c.Namespace, Name: c.Name, LeaseDuration: c.LeaseDuration,
			OnRenewError: c.OnRenewError, Now: c.Now, Key: c.Key})
	}
	return nil, fmt.Errorf("unknown state backend %q: use local or kubernetes", c.Type)
}

// Describe returns a short description of where the state is, for
// messages: the file, or "kubernetes NAMESPACE/NAME".
func Describe(c Config) string {
	if c.Type == "kubernetes" {
		return fmt.Sprintf("kubernetes %s/%s", c.Namespace, c.Name)
	}
	p := c.Path
	if p == "" {
		p = bolt.DefaultPath
	}
	if !filepath.IsAbs(p) && c.Dir != "" {
		p = filepath.Join(c.Dir, p)
	}
	return p
}

// confined checks that the stack's local file p (relative to the working
// directory, as c.Dir may be, or absolute) stays inside the stack
// directory, unless c.Anywhere.
func confined(c Config, p string) error {
	if c.Anywhere {
		return nil
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if _, err := confine.ResolveNew(dir, rel); err != nil {
		return fmt.Errorf("state file %s: a stack names its state file only inside its directory, because strata creates and writes it; name a file elsewhere with --state FILE",
			strings.Replace(err.Error(), confine.ErrOutside.Error(), "outside the stack directory", 1))
	}
	return nil
}
