package kube

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/state"
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
	wg       sync.WaitGroup
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
		onRenewError: opts.OnRenewError, renewal: map[string]context.CancelFunc{},
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

// index is the decoded index Secret.
type index struct {
	secret   *corev1.Secret // nil when there is none yet
	version  int
	lineage  string
	serial   uint64
	set      string // chunk set ID (encoding 3: a digest of segments); empty: no state yet
	chunks   int
	digest   string
	encoding string
	segments []string // encoding 3: the segment IDs, header first
	fence    string
}

// references reports whether the index names the chunk or segment Secret.
func (s *Store) references(ix index, secretName, set string) bool {
	if ix.encoding != payloadEncodingSegments {
		return set == ix.set
	}
	for _, id := range ix.segments {
		if s.segmentName(id) == secretName {
			return true
		}
	}
	return false
}

func (s *Store) getIndex(ctx context.Context) (index, error) {
	sec, err := s.client.CoreV1().Secrets(s.ns).Get(ctx, s.indexName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return index{}, nil
	}
	if err != nil {
		return index{}, fmt.Errorf("reading %s: %w", s, err)
	}
	ix := index{secret: sec, lineage: string(sec.Data["lineage"]), set: string(sec.Data["set"]),
		digest: string(sec.Data["digest"]), encoding: string(sec.Data["encoding"]), fence: string(sec.Data["fence"])}
	if v := sec.Data["version"]; v != nil {
		if ix.version, err = strconv.Atoi(string(v)); err != nil {
			return index{}, fmt.Errorf("%s: invalid index version: %w", s, err)
		}
	}
	if ix.version > indexVersion {
		return index{}, fmt.Errorf("%s: state schema version %d is newer than this strata supports (%d): upgrade strata", s, ix.version, indexVersion)
	}
	if v := sec.Data["serial"]; v != nil {
		if ix.serial, err = strconv.ParseUint(string(v), 10, 64); err != nil {
			return index{}, fmt.Errorf("%s: invalid index serial: %w", s, err)
		}
	}
	if v := sec.Data["chunks"]; v != nil {
		if ix.chunks, err = strconv.Atoi(string(v)); err != nil {
			return index{}, fmt.Errorf("%s: invalid index chunk count: %w", s, err)
		}
	}
	if v := string(sec.Data["segments"]); v != "" {
		ix.segments = strings.Split(v, ",")
	}
	return ix, nil
}

func (ix index) data() map[string][]byte {
	return map[string][]byte{
		"version":  []byte(strconv.Itoa(indexVersion)),
		"lineage":  []byte(ix.lineage),
		"serial":   []byte(strconv.FormatUint(ix.serial, 10)),
		"set":      []byte(ix.set),
		"chunks":   []byte(strconv.Itoa(ix.chunks)),
		"digest":   []byte(ix.digest),
		"encoding": []byte(ix.encoding),
		"segments": []byte(strings.Join(ix.segments, ",")),
		"fence":    []byte(ix.fence),
	}
}

// indexVersion is the version written into the index: the state schema
// version plus one since the segment layout (encoding 3), so that a strata
// from before it refuses the index instead of rewriting it (taking a lock
// rewrites the index) in a layout it does not know.
const indexVersion = state.SchemaVersion + 1

func (s *Store) segmentName(id string) string {
	return fmt.Sprintf("strata-state-%s-s-%s", s.name, id)
}

func (s *Store) chunkName(set string, i int) string {
	return fmt.Sprintf("strata-state-%s-%s-%d", s.name, set, i)
}

// errReplaced means the chunk set named by the index was replaced while
// being read.
var errReplaced = errors.New("state replaced while reading")

// readPayload reads the chunks the index names.
func (s *Store) readPayload(ctx context.Context, ix index) (*payload, error) {
	if ix.set == "" {
		return &payload{Snapshot: &state.Snapshot{Version: state.SchemaVersion}}, nil
	}
	switch ix.encoding {
	case payloadEncodingSegments:
		return s.readSegments(ctx, ix)
	case payloadEncoding, payloadEncodingV1:
	default:
		return nil, fmt.Errorf("%s: unknown payload encoding %q: upgrade strata", s, ix.encoding)
	}
	chunks := make([][]byte, ix.chunks)
	err := parallel(ix.chunks, func(i int) error {
		sec, err := s.client.CoreV1().Secrets(s.ns).Get(ctx, s.chunkName(ix.set, i), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return errReplaced
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", s, err)
		}
		chunks[i] = sec.Data["chunk"]
		return nil
	})
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(bytes.Join(chunks, nil))
	sum := sha256.Sum256(buf.Bytes())
	if hex.EncodeToString(sum[:]) != ix.digest {
		return nil, errReplaced
	}
	zr, err := gzip.NewReader(buf)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", s, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", s, err)
	}
	p, err := decodePayload(raw, ix.encoding)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", s, err)
	}
	p.Snapshot.Version, p.Snapshot.Lineage, p.Snapshot.Serial = state.SchemaVersion, ix.lineage, ix.serial
	return p, nil
}

// readSegments reads the segments an encoding-3 index names.
func (s *Store) readSegments(ctx context.Context, ix index) (*payload, error) {
	raws := make([][]byte, len(ix.segments))
	segs := make([]segment, len(ix.segments))
	err := parallel(len(ix.segments), func(i int) error {
		sec, err := s.client.CoreV1().Secrets(s.ns).Get(ctx, s.segmentName(ix.segments[i]), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return errReplaced
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", s, err)
		}
		data := sec.Data["chunk"]
		if segmentID(data) != segmentContent(ix.segments[i]) {
			return fmt.Errorf("reading %s: segment %s does not match its digest", s, sec.Name)
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("decoding %s: %w", s, err)
		}
		if raws[i], err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("decoding %s: %w", s, err)
		}
		segs[i] = segment{id: segmentContent(ix.segments[i]), data: data, key: sha256.Sum256(raws[i])}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.rememberSegments(segs)
	p, err := decodeSegments(raws)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", s, err)
	}
	p.Snapshot.Version, p.Snapshot.Lineage, p.Snapshot.Serial = state.SchemaVersion, ix.lineage, ix.serial
	return p, nil
}

// read returns a consistent index and payload, retrying when a writer
// replaced the chunks in between.
func (s *Store) read(ctx context.Context) (index, *payload, error) {
	for attempt := 0; ; attempt++ {
		ix, err := s.getIndex(ctx)
		if err != nil {
			return index{}, nil, err
		}
		if p := s.cached(ix); p != nil {
			return ix, p, nil
		}
		p, err := s.readPayload(ctx, ix)
		if err == nil {
			s.remember(ix.set, p)
			return ix, p, nil
		}
		if !errors.Is(err, errReplaced) || attempt == maxReadAttempts {
			return index{}, nil, err
		}
	}
}

// cached returns a copy of the cached payload when it is the one ix names.
func (s *Store) cached(ix index) *payload {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix.set == "" || ix.set != s.cacheSet {
		return nil
	}
	p := &payload{Snapshot: s.cache.Snapshot.Clone(), History: slices.Clone(s.cache.History)}
	p.Snapshot.Version, p.Snapshot.Lineage, p.Snapshot.Serial = state.SchemaVersion, ix.lineage, ix.serial
	return p
}

// remember caches a copy of p as the payload of set.
func (s *Store) remember(set string, p *payload) {
	c := &payload{Snapshot: p.Snapshot.Clone(), History: slices.Clone(p.History)}
	s.mu.Lock()
	s.cacheSet, s.cache = set, c
	s.mu.Unlock()
}

// Read implements state.Store.
func (s *Store) Read(ctx context.Context) (*state.Snapshot, error) {
	_, p, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return p.Snapshot, nil
}

// History implements state.Store.
func (s *Store) History(ctx context.Context) ([]state.HistoryEntry, error) {
	_, p, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return p.History, nil
}

// Write implements state.Store.
func (s *Store) Write(ctx context.Context, snap *state.Snapshot, opts state.WriteOptions) error {
	snap.Normalize()
	snap.Version = state.SchemaVersion
	if err := snap.Validate(); err != nil {
		return err
	}
	ix, p, err := s.read(ctx)
	if err != nil {
		return err
	}
	held, err := s.holder(ctx, opts.LockID)
	if err != nil {
		return err
	}
	if err := state.CheckLock(held, opts.LockID); err != nil {
		return s.writeRefused(opts.LockID, fmt.Errorf("writing %s: %w", s, err))
	}
	if opts.LockID != "" && ix.fence != opts.LockID {
		return s.writeRefused(opts.LockID, fmt.Errorf("writing %s: lock %s was superseded by lock %s: %w", s, opts.LockID, ix.fence, state.ErrLockLost))
	}
	lineage, serial, changed, err := state.CheckWrite(ix.lineage, ix.serial, state.SameContent(p.Snapshot, snap), snap, opts.Force)
	if err != nil {
		return fmt.Errorf("writing %s: %w", s, err)
	}
	if !changed && opts.History == nil {
		return nil
	}
	if changed {
		p.Snapshot = snap
	}
	if opts.History != nil {
		e := *opts.History
		e.Serial = serial
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		e.Time = e.Time.UTC()
		p.History = append(p.History, e)
	}
	set, err := s.writePayload(ctx, ix, p, lineage, serial)
	if err != nil {
		return s.writeRefused(opts.LockID, err)
	}
	snap.Lineage, snap.Serial = lineage, serial
	s.remember(set, p)
	return nil
}

// writeRefused marks lock id lost when err says that it is, and returns
// err.
func (s *Store) writeRefused(id string, err error) error {
	if id != "" && errors.Is(err, state.ErrLockLost) {
		s.leases.Lose(id, "is no longer the lock of the state: a state write under it was refused")
	}
	return err
}

// writePayload stores p as segments, creating only those the current
// index does not name already, flips the index to them and returns the
// new set ID (a digest of the segment list).
func (s *Store) writePayload(ctx context.Context, ix index, p *payload, lineage string, serial uint64) (string, error) {
	s.mu.Lock()
	cache := s.segCache
	s.mu.Unlock()
	segs, err := encodeSegments(p, s.chunkSize, cache)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", s, err)
	}
	// An index entry is "ID-WRITE": the content ID, and the write that
	// created the Secret. Segments the current index names are kept; new
	// content gets Secrets named after this write, which no other index
	// can name, so that deleting the segments an index no longer names
	// can never hit a segment another index names.
	have := map[string]string{}
	if ix.encoding == payloadEncodingSegments {
		for _, e := range ix.segments {
			have[segmentContent(e)] = e
		}
	}
	write := randomSet()
	ids := make([]string, len(segs))
	var todo []segment
	var todoNames []string
	for i, sg := range segs {
		if e, ok := have[sg.id]; ok {
			ids[i] = e
			continue
		}
		ids[i] = sg.id + "-" + write
		have[sg.id] = ids[i]
		todo = append(todo, sg)
		todoNames = append(todoNames, ids[i])
	}
	list := strings.Join(ids, ",")
	sum := sha256.Sum256([]byte(list))
	next := index{secret: ix.secret, lineage: lineage, serial: serial, set: hex.EncodeToString(sum[:8]), encoding: payloadEncodingSegments,
		chunks: len(ids), digest: hex.EncodeToString(sum[:]), segments: ids, fence: ix.fence}
	secrets := s.client.CoreV1().Secrets(s.ns)
	err = parallel(len(todo), func(i int) error {
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.segmentName(todoNames[i]), Namespace: s.ns, Labels: s.labels(chunkRole)},
			Type:       secretType,
			Data:       map[string][]byte{"chunk": todo[i].data},
		}
		sec.Labels[LabelSet] = write
		_, err := secrets.Create(ctx, sec, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		s.deleteSegments(context.WithoutCancel(ctx), todoNames)
		return "", fmt.Errorf("writing %s: %w", s, err)
	}

	// The flip: one update with the resourceVersion read above.
	if ix.secret == nil {
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.indexName(), Namespace: s.ns, Labels: s.labels(indexRole)},
			Type:       secretType,
			Data:       next.data(),
		}, metav1.CreateOptions{})
	} else {
		sec := ix.secret.DeepCopy()
		sec.Data = next.data()
		_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
	}
	if err != nil {
		// Other errors may hide a flip that happened: then the new
		// segments are named, and deleteOrphans judges them later.
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			s.deleteSegments(context.WithoutCancel(ctx), todoNames)
			now, gerr := s.getIndex(ctx)
			if gerr == nil && now.fence != ix.fence {
				return "", fmt.Errorf("writing %s: lock %s was superseded by lock %s while writing: %w", s, ix.fence, now.fence, state.ErrLockLost)
			}
			return "", fmt.Errorf("writing %s: another writer changed the state while writing: %w", s, state.ErrStaleSerial)
		}
		return "", fmt.Errorf("writing %s: %w", s, err)
	}
	// What the old index named and the new one does not is garbage now.
	dctx := context.WithoutCancel(ctx)
	switch {
	case ix.encoding == payloadEncodingSegments:
		var old []string
		for _, e := range ix.segments {
			if !slices.Contains(ids, e) {
				old = append(old, e)
			}
		}
		s.deleteSegments(dctx, old)
	case ix.set != "":
		s.deleteSet(dctx, ix.set, ix.chunks)
	}
	s.rememberSegments(segs)
	return next.set, nil
}

// deleteSegments deletes the segment Secrets of the index entries, best
// effort: a leftover is garbage that deleteOrphans removes later.
func (s *Store) deleteSegments(ctx context.Context, entries []string) {
	_ = parallel(len(entries), func(i int) error {
		_ = s.client.CoreV1().Secrets(s.ns).Delete(ctx, s.segmentName(entries[i]), metav1.DeleteOptions{})
		return nil
	})
}

// segmentContent returns the content ID of an index entry ("ID-WRITE").
func segmentContent(entry string) string {
	id, _, _ := strings.Cut(entry, "-")
	return id
}

// rememberSegments replaces the segment cache with segs.
func (s *Store) rememberSegments(segs []segment) {
	m := make(map[[32]byte]segment, len(segs))
	for _, sg := range segs {
		m[sg.key] = sg
	}
	s.mu.Lock()
	s.segCache = m
	s.mu.Unlock()
}

// orphanAge is how old a chunk of an unused set must be before a writer
// deletes it: sets left behind by writers that crashed before their flip.
// Younger ones may belong to a write still under way.
const orphanAge = 10 * time.Minute

// deleteOrphans deletes old chunks of sets other than current. It lists
// metadata only, so it costs little however large the state; without a
// metadata client (Options.Config unset) it does nothing.
func (s *Store) deleteOrphans(ctx context.Context, current index) {
	if s.meta == nil {
		return
	}
	list, err := s.meta.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(s.ns).List(ctx, metav1.ListOptions{
		LabelSelector: LabelState + "=" + s.name + "," + LabelRole + "=" + chunkRole,
	})
	if err != nil {
		return // best effort
	}
	for _, m := range list.Items {
		if !s.references(current, m.Name, m.Labels[LabelSet]) && s.now().Sub(m.CreationTimestamp.Time) > orphanAge {
			_ = s.client.CoreV1().Secrets(s.ns).Delete(ctx, m.Name, metav1.DeleteOptions{})
		}
	}
}

func (s *Store) deleteSet(ctx context.Context, set string, n int) {
	_ = parallel(n, func(i int) error {
		// Best effort: a leftover chunk is garbage, never read.
		_ = s.client.CoreV1().Secrets(s.ns).Delete(ctx, s.chunkName(set, i), metav1.DeleteOptions{})
		return nil
	})
}

// requestParallelism is how many chunk requests run at once.
const requestParallelism = 16

// parallel runs fn(0..n-1), requestParallelism at a time, and returns the
// first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, requestParallelism)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func randomSet() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
