package kube

import (
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/state"
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
