package kube

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/state"
)

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
	// encryption is the data key of an encrypted state, age-encrypted.
	encryption []byte
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
		digest: string(sec.Data["digest"]), encoding: string(sec.Data["encoding"]), fence: string(sec.Data["fence"]),
		encryption: sec.Data["encryption"]}
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
	d := map[string][]byte{
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
	if ix.encryption != nil {
		d["encryption"] = ix.encryption
	}
	return d
}

// indexVersion is the version written into the index: the state schema
// version plus one since the segment layout (encoding 3), so that a strata
// from before it refuses the index instead of rewriting it (taking a lock
// rewrites the index) in a layout it does not know.
const indexVersion = state.SchemaVersion + 1

// segmentContent returns the content ID of an index entry ("ID-WRITE").
func segmentContent(entry string) string {
	id, _, _ := strings.Cut(entry, "-")
	return id
}
