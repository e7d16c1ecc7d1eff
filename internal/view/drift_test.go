package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDriftHumanSymbols: each kind of drifted object has its symbol: ~
// changed, - deleted, + created by an interrupted apply and not recorded.
func TestDriftHumanSymbols(t *testing.T) {
	var b bytes.Buffer
	if err := DriftHuman(&b, fixedDrift(), DriftOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "~ ") || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "+ ") {
			got = append(got, l)
		}
	}
	want := []string{
		"~ kustomization.app/ConfigMap/ns/a edited",
		"- kustomization.app/ConfigMap/ns/b deleted",
		"+ kustomization.app/ConfigMap/ns/c created by an interrupted apply",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("drifted objects (-want +got):\n%s", d)
	}
}
