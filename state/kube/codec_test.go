package kube

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/gzip"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/state"
	"github.com/strata-gitops/strata/state/statetest"
)

func TestPayloadCodec(t *testing.T) {
	objs := []state.Object{
		{Address: "kustomization.a/ConfigMap/x/one", Block: "kustomization.a", Version: "v1", Kind: "ConfigMap", Namespace: "x", Name: "one",
			Digest: "sha256:1", UID: "u1", ResourceVersion: "7", FieldsHash: "h1"},
		{Address: "kustomization.a/Namespace/x", Block: "kustomization.a", Version: "v1", Kind: "Namespace", Name: "x", Digest: "sha256:2"},
	}
	p := &payload{Snapshot: &state.Snapshot{Objects: objs, Blocks: []state.Block{{Address: "kustomization.a"}}}}
	raw, err := encodePayload(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePayload(raw, payloadEncoding)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(objs, got.Snapshot.Objects); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}

	// A payload written by an older strata (encoding 1, no FieldsHash).
	h, _ := json.Marshal(header{Objects: len(objs)})
	v1 := binary.AppendUvarint(nil, uint64(len(h)))
	v1 = append(v1, h...)
	want := make([]state.Object, len(objs))
	for i, o := range objs {
		o.FieldsHash = ""
		want[i] = o
		for _, f := range []string{o.Address, o.Block, o.Group, o.Version, o.Kind, o.Namespace, o.Name, o.Digest, o.UID, o.ResourceVersion} {
			v1 = binary.AppendUvarint(v1, uint64(len(f)))
			v1 = append(v1, f...)
		}
	}
	got, err = decodePayload(v1, payloadEncodingV1)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got.Snapshot.Objects); d != "" {
		t.Errorf("encoding 1 (-want +got):\n%s", d)
	}
	if _, err := decodePayload(v1, payloadEncoding); err == nil {
		t.Error("an encoding 1 payload decodes as encoding 2")
	}
}

// encodePayload writes a payload in encoding 2, as strata did before
// encoding 3.
func encodePayload(p *payload) ([]byte, error) {
	h, err := json.Marshal(header{Blocks: p.Snapshot.Blocks, Releases: p.Snapshot.Releases, History: p.History, Objects: len(p.Snapshot.Objects)})
	if err != nil {
		return nil, err
	}
	size := binary.MaxVarintLen64 + len(h)
	for i := range p.Snapshot.Objects {
		for _, f := range objectFields(&p.Snapshot.Objects[i]) {
			size += 2 + len(*f)
		}
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(h)))
	b = append(b, h...)
	for i := range p.Snapshot.Objects {
		for _, f := range objectFields(&p.Snapshot.Objects[i]) {
			b = binary.AppendUvarint(b, uint64(len(*f)))
			b = append(b, *f...)
		}
	}
	return b, nil
}

func TestSegmentsCodec(t *testing.T) {
	for _, tc := range []struct{ blocks, objects int }{{300, 3000}, {3, 30000}, {1, 0}} {
		snap := statetest.Snapshot(tc.blocks, tc.objects, "a")
		p := &payload{Snapshot: snap, History: []state.HistoryEntry{{Serial: 1, Operation: "apply"}}}
		segs, err := encodeSegments(p, 64<<10, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		raws := make([][]byte, len(segs))
		for i, sg := range segs {
			if len(sg.data) > 64<<10 {
				t.Errorf("%d blocks: segment %d holds %d bytes", tc.blocks, i, len(sg.data))
			}
			zr, err := gzip.NewReader(bytes.NewReader(sg.data))
			if err != nil {
				t.Fatal(err)
			}
			if raws[i], err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		got, err := decodeSegments(raws)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(snap.Objects, got.Snapshot.Objects, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("%d blocks: objects (-want +got):\n%s", tc.blocks, d)
		}
		if tc.objects == 0 {
			continue
		}

		// Changing one block changes the header and the segments of the run
		// that holds it, nothing else.
		block := snap.Objects[len(snap.Objects)/2].Block
		objs := append([]state.Object(nil), snap.BlockObjects(block)...)
		for i := range objs {
			objs[i].ResourceVersion += "0"
		}
		snap.SetBlockObjects(block, objs)
		again, err := encodeSegments(p, 64<<10, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		old := map[string]bool{}
		for _, sg := range segs {
			old[sg.id] = true
		}
		changed := 0
		for _, sg := range again {
			if !old[sg.id] {
				changed++
			}
		}
		alone, err := encodeSegments(&payload{Snapshot: &state.Snapshot{Objects: objs}}, 64<<10, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if limit := len(alone) + 1; changed > limit { // its own segments, the header, its run
			t.Errorf("%d blocks: one block changed %d of %d segments, want at most %d", tc.blocks, changed, len(again), limit)
		}
	}
}

// TestUpgradeFromEncoding2 checks that a state an earlier strata wrote (one
// chunk set of the whole payload, encoding 2) reads, and that the next
// write replaces it with segments and deletes the old chunks.
func TestUpgradeFromEncoding2(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "state-upgrade")
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	// An hour ahead: the old chunks count as old enough to be orphans if
	// anything mistook them for unused.
	later := func() time.Time { return time.Now().Add(time.Hour) }
	s, err := Open(Options{Config: c.RESTConfig(), Namespace: ns, Name: "old", Now: later})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()

	snap := statetest.Snapshot(3, 300, "a")
	snap.Normalize()
	raw, err := encodePayload(&payload{Snapshot: snap})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	secrets := cs.CoreV1().Secrets(ns)
	if _, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.chunkName("old1", 0), Labels: map[string]string{LabelState: "old", LabelRole: chunkRole, LabelSet: "old1"}},
		Type:       secretType,
		Data:       map[string][]byte{"chunk": buf.Bytes()},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lineage := "0d2c9a4e-5c8e-4f0a-b3e5-2f9f3d6a1c77"
	if _, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.indexName(), Labels: map[string]string{LabelState: "old", LabelRole: indexRole}},
		Type:       secretType,
		Data: map[string][]byte{"version": []byte(strconv.Itoa(state.SchemaVersion)), "lineage": []byte(lineage), "serial": []byte("4"),
			"set": []byte("old1"), "chunks": []byte("1"), "digest": []byte(hex.EncodeToString(sum[:])), "encoding": []byte("2")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Taking the lock rewrites the index (the fence) and looks for orphans.
	lock, err := s.Lock(ctx, state.LockInfo{Operation: "apply", Who: "test@host"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != 4 || got.Lineage != lineage {
		t.Errorf("serial %d lineage %q, want 4 %q", got.Serial, got.Lineage, lineage)
	}
	if d := cmp.Diff(snap.Objects, got.Objects); d != "" {
		t.Fatalf("objects (-written +read):\n%s", d)
	}

	got.Objects = got.Objects[1:]
	if err := s.Write(ctx, got, state.WriteOptions{LockID: lock}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(ctx, lock); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Get(ctx, s.chunkName("old1", 0), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the old chunk is still there after a write: %v", err)
	}
	fresh, err := Open(Options{Config: c.RESTConfig(), Namespace: ns, Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := fresh.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if back.Serial != 5 || len(back.Objects) != len(snap.Objects)-1 {
		t.Errorf("after the write: serial %d, %d objects; want 5, %d", back.Serial, len(back.Objects), len(snap.Objects)-1)
	}
	ix, err := fresh.getIndex(ctx)
	if err != nil || ix.encoding != payloadEncodingSegments {
		t.Errorf("index encoding %q (%v), want %q", ix.encoding, err, payloadEncodingSegments)
	}
}

// TestSegmentsLongHistory checks that a header larger than a segment (a
// long history) is split and reads back.
func TestSegmentsLongHistory(t *testing.T) {
	snap := statetest.Snapshot(2, 10, "a")
	p := &payload{Snapshot: snap}
	for i := range 20000 {
		p.History = append(p.History, state.HistoryEntry{Serial: uint64(i + 1), Operation: "apply", Who: "ci@runner-" + strconv.Itoa(i)})
	}
	segs, err := encodeSegments(p, 64<<10, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	raws := make([][]byte, len(segs))
	for i, sg := range segs {
		if len(sg.data) > 64<<10 {
			t.Errorf("segment %d holds %d bytes", i, len(sg.data))
		}
		zr, err := gzip.NewReader(bytes.NewReader(sg.data))
		if err != nil {
			t.Fatal(err)
		}
		if raws[i], err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := decodeSegments(raws)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.History) != 20000 || got.History[19999].Who != "ci@runner-19999" || len(got.Snapshot.Objects) != 10 {
		t.Errorf("read back %d history entries, %d objects", len(got.History), len(got.Snapshot.Objects))
	}
}

// TestSegmentsAfterMatchFullEncoding checks that the segments a write
// makes from the memo of the previous write are those of a full encoding
// of the same payload, byte for byte (the format is unchanged), with
// small blocks, large blocks cut into pieces of their own, and blocks
// changed, added and removed, and that the segments of unchanged blocks
// come from the memo.
func TestSegmentsAfterMatchFullEncoding(t *testing.T) {
	for _, tc := range []struct{ blocks, objects int }{{300, 3000}, {3, 30000}, {40, 4000}} {
		snap := statetest.Snapshot(tc.blocks, tc.objects, "a")
		p := &payload{Snapshot: snap}
		_, memo, err := encodeSegmentsAfter(p, 64<<10, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 4 {
			memo.bind(slices.Clone(snap.Objects), "set", nil)
			block := snap.Objects[(round+1)*len(snap.Objects)/5].Block
			objs := append([]state.Object(nil), snap.BlockObjects(block)...)
			for i := range objs {
				objs[i].ResourceVersion += strconv.Itoa(round)
			}
			switch round {
			case 1:
				objs = objs[1:]
			case 2:
				snap.Remove(snap.Objects[0].Block)
			case 3:
				more := state.Object{Block: "kustomization.zz", Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "x"}
				more.Address = more.Addr().Address(more.Block)
				snap.SetBlockObjects(more.Block, []state.Object{more})
			}
			snap.SetBlockObjects(block, objs)
			p.History = append(p.History, state.HistoryEntry{Serial: uint64(round), Operation: "apply"})
			full, err := encodeSegments(p, 64<<10, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []segment
			got, memo, err = encodeSegmentsAfter(p, 64<<10, nil, nil, memo)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(full) {
				t.Fatalf("%d blocks, round %d: %d segments after the memo, %d in full", tc.blocks, round, len(got), len(full))
			}
			for i := range full {
				if got[i].id != full[i].id || !bytes.Equal(got[i].data, full[i].data) || got[i].key != full[i].key {
					t.Errorf("%d blocks, round %d: segment %d differs from the full encoding's", tc.blocks, round, i)
				}
			}
		}
	}
}

// TestSegmentMemoReuses checks that a write after one block changed
// encodes and joins only the segments that hold that block: the others
// are the memo's.
func TestSegmentMemoReuses(t *testing.T) {
	snap := statetest.Snapshot(100, 10000, "a")
	p := &payload{Snapshot: snap}
	_, memo, err := encodeSegmentsAfter(p, 64<<10, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	memo.bind(slices.Clone(snap.Objects), "set", nil)
	objs := append([]state.Object(nil), snap.BlockObjects("kustomization.k007")...)
	for i := range objs {
		objs[i].ResourceVersion += "1"
	}
	snap.SetBlockObjects("kustomization.k007", objs)
	raws, _, err := splitSegmentsAfter(p, 64<<10, memo)
	if err != nil {
		t.Fatal(err)
	}
	joined := 0
	for _, r := range raws {
		if r.raw != nil {
			joined++
		}
	}
	alone, _, err := splitSegmentsAfter(&payload{Snapshot: &state.Snapshot{Objects: objs}}, 64<<10, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The header, and the block's own segments or its run (alone holds a
	// header too).
	if limit := len(alone) + 1; joined > limit {
		t.Errorf("after one block changed, %d of %d segments were encoded again, want at most %d", joined, len(raws), limit)
	}
}
