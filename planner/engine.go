package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/internal/buildinfo"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/providers/source"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/backend"
	"github.com/strata-gitops/strata/state/crypt"
)

// DefaultParallelism is how many blocks apply at once unless told otherwise.
const DefaultParallelism = 4

// Options configure an Engine. Zero values take the defaults.
type Options struct {
	// Dir is the stack directory (default ".").
	Dir string
	// Vars are --var and --var-file values in command line order.
	Vars []config.VarArg
	// Targets limits the plan to these block (or object) addresses and the
	// blocks they depend on.
	Targets []string
	// Destroy plans the removal of everything in the state.
	Destroy bool
	// Adopt lists kustomization or object addresses whose objects that
	// exist without strata's labels the plan takes over (apply --adopt).
	Adopt []string
	// Parallelism bounds how many blocks apply at once, and how many
	// kustomizations Plan renders and diffs at once (default 4).
	Parallelism int
	// Kubeconfig and Context override the stack's cluster block.
	Kubeconfig, Context string
	// StatePath overrides the local backend's file.
	StatePath string
	// Environment selects one of the stack's environment blocks (see
	// config.LoadOptions.Environment).
	Environment string
	// RESTConfig, when set, is used instead of a kubeconfig (tests).
	RESTConfig *rest.Config
	// Providers, when set, are the engine's clients of the cluster and the
	// sources instead of the real ones (tests pass fakes). Fields left nil
	// are connected as usual.
	Providers *Providers
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Version is strata's version (default buildinfo.Version).
	Version string
	// Encryption is the key of the state for an engine on a saved plan
	// (ForPlan), which has no stack to take it from; Load takes the
	// stack's encryption block and ignores it.
	Encryption *crypt.Key
	// OnEvent receives progress; it is called from several goroutines, one
	// call at a time. Nil discards events.
	OnEvent func(Event)
}

func (o Options) withDefaults() Options {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = buildinfo.Version
	}
	return o
}

// Engine plans and applies one stack. It is not safe for concurrent use.
type Engine struct {
	opts    Options
	dir     string        // absolute stack directory
	stack   *config.Stack // nil for an engine opened on a saved plan
	graph   *graph.Graph  // the stack's dependency graph, built by Load
	name    string        // the strata.dev/stack label value
	stackID string        // the strata.dev/stack-id label value: the state lineage, set by Plan and Drift
	backend plan.Backend
	// stateAnywhere: backend's file was named by the person running strata
	// (--state) or by a saved plan, so it is not confined to the stack.
	stateAnywhere bool
	cluster       plan.Cluster

	store  state.Store
	lockID string
	lock   lockGuard // the lease of lockID, checked before every cluster write

	// connMu guards restCfg and prov: connectCluster and connectSources
	// create the providers, once each, on the first use of the cluster and
	// of the sources (or Options.Providers gives them).
	connMu  sync.Mutex
	restCfg *rest.Config // the cluster's configuration, unguarded (the state store's)
	prov    Providers

	artifacts map[string]*source.Artifact // fetched sources by address
	// fluxAdopted are the addresses the plan adopts from each Flux
	// object, guarded by mu.
	fluxAdopted map[fluxKey][]string
	mu          sync.Mutex                   // guards releases
	releases    map[string]*helm.ReleasePlan // planned releases by address
	// valuesFrom are the values_from references of the releases as read
	// at plan time, by address.
	valuesFrom map[string]*valuesFrom

	// key encrypts the state and saved plans; nil: not encrypted.
	key *crypt.Key

	// secrets are the sensitive values of the stack (or, for a saved
	// plan, those its objects locate), kept out of every output.
	secrets *plan.Secrets

	evMu sync.Mutex

	// renderSecret authenticates the render cache (kustomize.Cache): the
	// secret of the artifact cache, read once.
	renderSecret func() []byte

	// reads are the cluster reads that the diffs of the plan under way
	// share (kube.SharedReads); nil outside Plan.
	reads *kube.SharedReads
}

// Load loads the stack in opts.Dir. Errors in the stack come back as
// diagnostics, rendered by the caller with the stack's files (Stack).
func Load(opts Options) (*Engine, hcl.Diagnostics) {
	opts = opts.withDefaults()
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid stack directory", Detail: err.Error()}}
	}
	st, diags := config.Load(opts.Dir, config.LoadOptions{Vars: opts.Vars, Getenv: opts.Getenv, Version: opts.Version,
		Environment: opts.Environment, StatePathUnused: opts.StatePath != ""})
	e := &Engine{opts: opts, dir: dir, stack: st, name: StackName(dir),
		artifacts: map[string]*source.Artifact{}, releases: map[string]*helm.ReleasePlan{}, valuesFrom: map[string]*valuesFrom{},
		fluxAdopted: map[fluxKey][]string{}, renderSecret: sync.OnceValue(cacheSecret)}
	e.useProviders()
	if diags.HasErrors() {
		return e, diags
	}
	// A cycle is an error in the stack's files, reported like the others
	// (file:line and the source), not one line at plan time.
	g, gd := graph.Build(st)
	if diags = append(diags, gd...); gd.HasErrors() {
		return e, diags
	}
	e.graph = g
	e.secrets = plan.NewSecrets(st.SensitiveValues()...)
	if enc := st.Strata.Encryption; enc != nil {
		// Each private key of an identity file is a secret of its own.
		for _, line := range strings.Split(enc.AgeIdentity.Reveal(), "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "AGE-SECRET-KEY-") {
				e.secrets.Add(line)
			}
		}
	}
	if e.key, err = EncryptionKey(st.Strata.Encryption); err != nil {
		enc := st.Strata.Encryption
		return e, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid encryption key", Detail: e.secrets.Scrub(err.Error()),
			Subject: enc.DeclRange.Ptr()}}
	}
	e.backend = plan.Backend{Type: st.Strata.Backend.Type}
	switch st.Strata.Backend.Type {
	case "", "local":
		e.backend.Type = "local"
		p := st.Strata.Backend.Path
		if opts.StatePath != "" {
			p = opts.StatePath
		}
		if p == "" {
			p = config.DefaultStatePath
		}
		if !filepath.IsAbs(p) {
			base := dir
			if opts.StatePath != "" {
				base, _ = os.Getwd()
			}
			p = filepath.Join(base, p)
		}
		e.backend.Path = p
		e.stateAnywhere = opts.StatePath != ""
	default:
		be := st.Strata.Backend
		e.backend.Namespace, e.backend.Name = be.Namespace, be.Name
		e.backend.Kubeconfig, e.backend.Context = expandHome(be.Kubeconfig, opts.Getenv), be.Context
	}
	e.cluster = plan.Cluster{Kubeconfig: expandHome(st.Cluster.Kubeconfig, opts.Getenv), Context: st.Cluster.Context}
	return e, diags
}

// ForPlan opens an engine that applies the saved plan p. It uses the state
// backend and cluster the plan names; Options.Kubeconfig, Context and
// StatePath override them.
func ForPlan(p *plan.Plan, opts Options) (*Engine, error) {
	opts = opts.withDefaults()
	e := &Engine{opts: opts, dir: p.Dir, name: p.Stack, stackID: p.StackID, backend: p.Backend, cluster: p.Cluster,
		releases: map[string]*helm.ReleasePlan{}, valuesFrom: map[string]*valuesFrom{}, key: opts.Encryption,
		renderSecret: sync.OnceValue(cacheSecret), stateAnywhere: true}
	e.useProviders()
	if opts.StatePath != "" {
		abs, err := filepath.Abs(opts.StatePath)
		if err != nil {
			return nil, err
		}
		e.backend = plan.Backend{Type: "local", Path: abs}
	}
	if e.name == "" {
		return nil, errors.New("saved plan names no stack")
	}
	if e.stackID == "" {
		return nil, errors.New("saved plan names no stack id (it was made by an older strata): run strata plan again")
	}
	return e, nil
}

// useProviders takes the providers of Options.Providers, if any.
func (e *Engine) useProviders() {
	if e.opts.Providers != nil {
		e.prov = *e.opts.Providers
	}
}

// owner returns the ownership labels of block addr.
func (e *Engine) owner(addr string) kube.Owner {
	return kube.Owner{Stack: e.name, StackID: e.stackID, Block: addr}
}

// Stack returns the loaded stack, or nil for an engine on a saved plan.
func (e *Engine) Stack() *config.Stack { return e.stack }

// StackName returns the name of the stack in dir: its directory's base name
// made into a valid label value. It is the value of the strata.dev/stack
// label on every object the stack applies. Two stacks may have the same
// name (teamA/app and teamB/app); what tells them apart is the stack id,
// the lineage of the state, in the strata.dev/stack-id label.
func StackName(dir string) string {
	name := strings.ToLower(filepath.Base(filepath.Clean(dir)))
	name = labelUnsafe.ReplaceAllString(name, "-")
	name = strings.Trim(name, "-_.")
	if len(name) > 63 {
		name = strings.Trim(name[:63], "-_.")
	}
	if name == "" {
		name = "stack"
	}
	return name
}

var labelUnsafe = regexp.MustCompile(`[^a-z0-9._-]+`)

func expandHome(p string, getenv func(string) string) string {
	if strings.HasPrefix(p, "~/") {
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

// Store returns the state store, opening it on first use.
func (e *Engine) Store() (state.Store, error) {
	if e.store != nil {
		return e.store, nil
	}
	c := backend.Config{Type: e.backend.Type, Path: e.backend.Path, Dir: e.dir, Anywhere: e.stateAnywhere, Namespace: e.backend.Namespace, Name: e.backend.Name,
		Kubeconfig: e.backend.Kubeconfig, Context: e.backend.Context, Now: e.opts.Now, Key: e.key,
		OnRenewError: func(id string, err error) {
			e.emit(Event{Type: LockRenewFailed, Err: err, Message: "renewing the state lock " + id + " failed; retrying"})
		}}
	if c.Type == "kubernetes" && c.Kubeconfig == "" && c.Context == "" {
		// The stack's cluster, as the engine talks to it (without the
		// guard: the store renews and fences the lock itself).
		e.connMu.Lock()
		cfg, err := e.clusterConfig()
		e.connMu.Unlock()
		if err != nil {
			return nil, err
		}
		c.RESTConfig = cfg
	}
	s, err := backend.Open(c)
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	e.store = s
	return e.store, nil
}

// Lock takes the state lock for op ("plan", "apply", "destroy"), waiting up
// to timeout for another holder. From then on until Unlock, every request
// of the engine that can change the cluster is sent only while the lock's
// lease is known to be held (see lockGuard).
func (e *Engine) Lock(ctx context.Context, op string, timeout time.Duration) error {
	s, err := e.Store()
	if err != nil {
		return err
	}
	info := state.LockInfo{Operation: op, Who: state.Who(e.opts.Getenv), Created: e.opts.Now(), Version: e.opts.Version}
	id, err := state.LockWait(ctx, s, info, timeout)
	if err != nil {
		return err
	}
	e.lockID = id
	e.lock.hold(s.Lease(id))
	return nil
}

// LockID returns the ID of the lock taken by Lock, or "" when the engine
// holds none.
func (e *Engine) LockID() string { return e.lockID }

// Unlock releases the lock taken by Lock, if any.
func (e *Engine) Unlock(ctx context.Context) error {
	if e.lockID == "" {
		return nil
	}
	id := e.lockID
	e.lockID = ""
	e.lock.hold(nil)
	return e.store.Unlock(ctx, id)
}

// Close releases the engine's resources. It does not unlock.
func (e *Engine) Close() error {
	if e.store != nil {
		return e.store.Close()
	}
	return nil
}

// emit sends an event to Options.OnEvent, one at a time, with the
// stack's secrets scrubbed from its texts.
func (e *Engine) emit(ev Event) {
	if e.opts.OnEvent == nil {
		return
	}
	ev = e.scrubEvent(ev)
	e.evMu.Lock()
	defer e.evMu.Unlock()
	e.opts.OnEvent(ev)
}
