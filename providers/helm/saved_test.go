package helm_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-gitops/strata/providers/helm"
)

// TestChartArchiveRoundTrip packages a chart and loads it back: the loaded
// chart renders the same (same metadata, values and templates).
func TestChartArchiveRoundTrip(t *testing.T) {
	ch := demoChart("1.2.3")
	b, err := helm.ChartArchive(ch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := helm.LoadChartArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ch.Metadata, got.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ch.Values, got.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	want := map[string]string{}
	for _, f := range ch.Templates {
		want[f.Name] = string(f.Data)
	}
	have := map[string]string{}
	for _, f := range got.Templates {
		have[f.Name] = string(f.Data)
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	if _, err := helm.LoadChartArchive(b[:len(b)/2]); err == nil {
		t.Error("a truncated archive loaded")
	}
}

// TestCheck refuses a plan whose release got another revision, and one
// given other values, without changing anything.
func TestCheck(t *testing.T) {
	t.Parallel()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-check")
	spec := helm.ReleaseSpec{Name: "app", Namespace: ns, Chart: demoChart("1.0.0"), Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))
	spec.Values = map[string]any{"greeting": "one"}
	p := plan(t, m, spec)
	if err := m.Check(context.Background(), p); err != nil {
		t.Fatalf("check of a fresh plan: %v", err)
	}
	// A plan read back from a file, given its chart and values again.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for values, wantStale := range map[string]bool{"one": false, "two": true} {
		var saved helm.ReleasePlan
		if err := json.Unmarshal(b, &saved); err != nil {
			t.Fatal(err)
		}
		saved.Spec.Chart, saved.Spec.Values = demoChart("1.0.0"), map[string]any{"greeting": values}
		if err := m.Check(context.Background(), &saved); errors.Is(err, helm.ErrStalePlan) != wantStale {
			t.Errorf("check of the saved plan with greeting %s: %v, want stale %v", values, err, wantStale)
		}
	}
	spec.Values = map[string]any{"greeting": "three"}
	apply(t, m, plan(t, m, spec))
	if err := m.Check(context.Background(), p); !errors.Is(err, helm.ErrStalePlan) {
		t.Errorf("check after another upgrade: %v, want ErrStalePlan", err)
	}
}
