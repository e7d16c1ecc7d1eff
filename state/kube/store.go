package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/crypt"
)

// Labels and annotations on the objects of a state.
const (
	LabelState      = "strata.dev/state"
	LabelRole       = "strata.dev/role"
	LabelSet        = "strata.dev/chunk-set"
	AnnotationLock  = "strata.dev/lock-info"
	secretType      = corev1.SecretType("strata.dev/state")
	managedByLabel  = "app.kubernetes.io/managed-by"
	indexRole       = "index"
	chunkRole       = "chunk"
	maxReadAttempts = 8
)

// Options configures a Store.
type Options struct {
	// Client talks to the cluster; when nil, one is made from Config.
	Client kubernetes.Interface
	// Config is used when Client is nil.
	Config *rest.Config
	// Namespace holds the state's Secrets and Lease; it must exist.
	Namespace string
	// Name names the state, so that one namespace can hold many; default
	// "default".
	Name string
	// LeaseDuration is how long a lock outlives its holder's last renewal,
	// as others see it; default 60s.
	LeaseDuration time.Duration
	// RenewInterval is how often the holder renews its lease; default a
	// third of LeaseDuration. A failed renewal is retried after a quarter
	// of it.
	RenewInterval time.Duration
	// RenewMargin is how long before its lease would run out the holder
	// stops counting its lock as held (state.Lease), to cover requests in
	// flight and clocks that run at different rates; default a quarter of
	// LeaseDuration. It is at most half of LeaseDuration.
	RenewMargin time.Duration
	// OnRenewError, when set, is called from the renewal goroutine with
	// every failed renewal of a held lock. The lock stays held until
	// LeaseDuration minus RenewMargin after the last good renewal.
	OnRenewError func(lockID string, err error)
	// ChunkSize is the largest segment of compressed state per Secret;
	// default 768 KiB (a Secret holds at most 1 MiB).
	ChunkSize int
	// Key, when set, encrypts the state's segments (see crypt.go); a state
	// encrypted with it cannot be read without it.
	Key *crypt.Key
	// Now is the clock; default time.Now. Lock expiry is measured with it
	// as durations only (it should read a monotonic clock, as time.Now
	// does), never compared with another host's clock.
	Now func() time.Time
}

// Store is a state.Store in a Kubernetes namespace.
type Store struct {
	client    kubernetes.Interface
	meta      metadata.Interface // nil without Options.Config
	ns, name  string
	lease     time.Duration
	renew     time.Duration
	margin    time.Duration
	chunkSize int
	now       func() time.Time

	onRenewError func(string, error)
	leases       state.Leases // the locks this store took

	mu      sync.Mutex
	renewal map[string]context.CancelFunc // lock ID -> stop renewing
	seen    observation                   // the Lease as last seen

	// The payload of the chunk set this store last read or wrote, so that
	// a run writing one block after another does not fetch the chunks it
	// wrote itself again.
	cacheSet string
	cache    *payload
	// The segments of that payload, by the SHA-256 of their uncompressed
	// content, so that a write compresses only the segments that changed.
	segCache map[[32]byte]segment
	// What this store last wrote, so that the next write encodes only what
	// changed since (see segmentMemo).
	memo *segmentMemo
	wg   sync.WaitGroup

	key        *crypt.Key     // nil: not encrypted
	rec        *crypt.Records // the state's data key, once opened; guarded by mu
	recWrapped []byte         // rec encrypted, as stored
}

var _ state.Store = (*Store)(nil)

// Open returns a store for the state opts.Name in opts.Namespace. It does
// not contact the cluster.
func Open(opts Options) (*Store, error) {
	if opts.Namespace == "" {
		return nil, errors.New("kubernetes state backend: namespace is required")
	}
	if opts.Name == "" {
		opts.Name = "default"
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = 60 * time.Second
	}
	if opts.RenewInterval <= 0 {
		opts.RenewInterval = opts.LeaseDuration / 3
	}
	if opts.RenewMargin <= 0 {
		opts.RenewMargin = opts.LeaseDuration / 4
	}
	opts.RenewMargin = min(opts.RenewMargin, opts.LeaseDuration/2)
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 768 << 10
	}
	opts.ChunkSize = max(opts.ChunkSize, 4<<10) // room for gzip's overhead
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var meta metadata.Interface
	if opts.Config != nil {
		m, err := metadata.NewForConfig(opts.Config)
		if err != nil {
			return nil, fmt.Errorf("kubernetes state backend: %w", err)
		}
		meta = m
	}
	if opts.Client == nil {
		if opts.Config == nil {
			return nil, errors.New("kubernetes state backend: a client or a REST config is required")
		}
		c, err := kubernetes.NewForConfig(opts.Config)
		if err != nil {
			return nil, fmt.Errorf("kubernetes state backend: %w", err)
		}
		opts.Client = c
	}
	return &Store{
		client: opts.Client, meta: meta, ns: opts.Namespace, name: opts.Name,
		lease: opts.LeaseDuration, renew: opts.RenewInterval, margin: opts.RenewMargin, chunkSize: opts.ChunkSize, now: opts.Now,
		onRenewError: opts.OnRenewError, renewal: map[string]context.CancelFunc{}, key: opts.Key,
	}, nil
}

func (s *Store) indexName() string { return "strata-state-" + s.name }
func (s *Store) leaseName() string { return "strata-lock-" + s.name }

// Namespace returns the namespace that holds the state.
func (s *Store) Namespace() string { return s.ns }

// String describes the store's location for messages.
func (s *Store) String() string { return fmt.Sprintf("kubernetes state %s/%s", s.ns, s.name) }

func (s *Store) labels(role string) map[string]string {
	return map[string]string{LabelState: s.name, LabelRole: role, managedByLabel: "strata"}
}

// Close stops renewing held leases; it does not release them, but their
// state.Lease is lost from then on.
func (s *Store) Close() error {
	s.mu.Lock()
	var ids []string
	for id, stop := range s.renewal {
		stop()
		delete(s.renewal, id)
		ids = append(ids, id)
	}
	s.mu.Unlock()
	s.wg.Wait()
	for _, id := range ids {
		s.leases.Lose(id, "is no longer renewed: the state store was closed")
	}
	return nil
}

// payload is what the chunks hold.
type payload struct {
	Snapshot *state.Snapshot      `json:"snapshot"`
	History  []state.HistoryEntry `json:"history"`
}

func (s *Store) segmentName(id string) string {
	return fmt.Sprintf("strata-state-%s-s-%s", s.name, id)
}

func (s *Store) chunkName(set string, i int) string {
	return fmt.Sprintf("strata-state-%s-%s-%d", s.name, set, i)
}

// requestParallelism is how many chunk requests run at once.
const requestParallelism = 16

// parallel runs fn(0..n-1), requestParallelism at a time, and returns the
// first error. A failure does not stop the other calls.
func parallel(n int, fn func(i int) error) error {
	var g errgroup.Group
	g.SetLimit(requestParallelism)
	for i := range n {
		g.Go(func() error { return fn(i) })
	}
	return g.Wait()
}
