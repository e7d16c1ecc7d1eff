package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChangedPaths(t *testing.T) {
	a := map[string]any{"replicaCount": 1.0, "image": map[string]any{"tag": "1"}, "gone": true}
	b := map[string]any{"replicaCount": 2.0, "image": map[string]any{"tag": "1", "pull": "x"}, "new": 1.0}
	want := []string{"values.gone", "values.image.pull", "values.new", "values.replicaCount"}
	if d := cmp.Diff(want, changedPaths("values", a, b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := changedPaths("values", nil, map[string]any{}); len(got) != 0 {
		t.Errorf("nil vs empty: %v", got)
	}
}
