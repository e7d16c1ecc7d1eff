package bolt

import (
	"testing"

	"github.com/strata-gitops/strata/state"
)

func TestObjectCodec(t *testing.T) {
	o := state.Object{
		Address: "kustomization.app/Deployment.apps/web/api", Block: "kustomization.app", Group: "apps", Version: "v1",
		Kind: "Deployment", Namespace: "web", Name: "api", Digest: "sha256:abc", UID: "u-1", ResourceVersion: "42", FieldsHash: "f00d",
	}
	var scratch []byte
	got, err := decodeObject([]byte(o.Address), encodeObject(nil, &o), &scratch)
	if err != nil || got != o {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, o)
	}

	// A record written by an older strata (format 1, no FieldsHash).
	v1 := []byte{objectFormatV1}
	for _, f := range []string{o.Block, o.Group, o.Version, o.Kind, o.Namespace, o.Name, o.Digest, o.UID, o.ResourceVersion} {
		v1 = appendString(v1, f)
	}
	want := o
	want.FieldsHash = ""
	if got, err := decodeObject([]byte(o.Address), v1, &scratch); err != nil || got != want {
		t.Fatalf("format 1: %+v, %v; want %+v", got, err, want)
	}

	if _, err := decodeObject([]byte(o.Address), append([]byte{9}, v1[1:]...), &scratch); err == nil {
		t.Error("an unknown format decodes")
	}
	if _, err := decodeObject([]byte(o.Address), v1[:len(v1)-1], &scratch); err == nil {
		t.Error("a truncated record decodes")
	}
}
