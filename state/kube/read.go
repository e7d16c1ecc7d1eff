package kube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/gzip"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/state"
)

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
		rec, err := s.readEncryption(ix)
		if err != nil {
			return nil, err
		}
		return s.readSegments(ctx, ix, rec)
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

// readSegments reads the segments an encoding-3 index names, opening
// them with rec (nil: not encrypted).
func (s *Store) readSegments(ctx context.Context, ix index, rec *segmentCipher) (*payload, error) {
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
		gz, err := rec.open(data)
		if err != nil {
			return fmt.Errorf("reading %s: %w", s, err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
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
// replaced the chunks in between. The payload is the caller's.
func (s *Store) read(ctx context.Context) (index, *payload, error) {
	return s.readShared(ctx, false)
}

// readShared is read; when shared, the payload may be the store's cache,
// which the caller must not change (Write, which only compares with it and
// builds a new payload).
func (s *Store) readShared(ctx context.Context, shared bool) (index, *payload, error) {
	for attempt := 0; ; attempt++ {
		ix, err := s.getIndex(ctx)
		if err != nil {
			return index{}, nil, err
		}
		if _, err := s.readEncryption(ix); err != nil {
			return index{}, nil, err
		}
		if p := s.cached(ix, shared); p != nil {
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

// cached returns a copy of the cached payload (the cache itself when
// shared) when it is the one ix names.
func (s *Store) cached(ix index, shared bool) *payload {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix.set == "" || ix.set != s.cacheSet {
		return nil
	}
	if shared {
		return s.cache
	}
	p := &payload{Snapshot: s.cache.Snapshot.Clone(), History: slices.Clone(s.cache.History)}
	p.Snapshot.Version, p.Snapshot.Lineage, p.Snapshot.Serial = state.SchemaVersion, ix.lineage, ix.serial
	return p
}

// remember caches a copy of p as the payload of set and returns the copy,
// which nothing changes.
func (s *Store) remember(set string, p *payload) *payload {
	c := &payload{Snapshot: p.Snapshot.Clone(), History: slices.Clone(p.History)}
	s.mu.Lock()
	s.cacheSet, s.cache = set, c
	s.mu.Unlock()
	return c
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
