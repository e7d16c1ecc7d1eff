package helm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/strata-gitops/strata/providers/helm"
)

// TestHistory checks that History returns a release's revisions oldest
// first, none for a release that does not exist, and impersonates as the
// manager does.
func TestHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, c := newManager(t)
	ns := c.Namespace(t, "helm-hist")
	r := newChartRepo(t, demoChart("1.0.0"), demoChart("1.1.0"))
	spec := helm.ReleaseSpec{Name: "web", Namespace: ns, Chart: r.chart(t, "demo", "1.0.0"),
		Values: map[string]any{"password": "x"}, Timeout: time.Minute}
	apply(t, m, plan(t, m, spec))
	spec.Chart = r.chart(t, "demo", "1.1.0")
	apply(t, m, plan(t, m, spec))

	hist, err := m.History(ctx, "web", ns)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, h.Chart.Metadata.Version+"@"+h.Info.Status.String())
	}
	if want := "1.0.0@superseded 1.1.0@deployed"; strings.Join(got, " ") != want {
		t.Errorf("history = %v, want %s", got, want)
	}
	if hist[0].Version != 1 || hist[1].Version != 2 {
		t.Errorf("revisions %d, %d, want 1, 2", hist[0].Version, hist[1].Version)
	}

	none, err := m.History(ctx, "none", ns)
	if err != nil || len(none) != 0 {
		t.Errorf("history of a release never installed: %v, %v, want empty", none, err)
	}

	imp, err := m.Impersonate(ns + "/nobody")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imp.History(ctx, "web", ns); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "system:serviceaccount:"+ns+":nobody") {
		t.Errorf("impersonated history: %v, want forbidden for the service account", err)
	}
}
