package kube_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
	"github.com/strata-gitops/strata/providers/kube"
)

// requestCounter counts the requests of a Manager by method, with "dry"
// added for dry runs.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// countingManager returns a Manager of the test cluster whose requests c
// counts.
func countingManager(t *testing.T, c *requestCounter) *kube.Manager {
	t.Helper()
	c.n = map[string]int{}
	cfg := testcluster.Get(t).RESTConfig()
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			k := r.Method
			if r.URL.Query().Has("dryRun") {
				k += " dry"
			}
			c.mu.Lock()
			c.n[k]++
			c.mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	m, err := kube.NewManager(cfg, kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFreshApplyRequests checks the requests of a plan and an apply of
// objects new to the cluster: one dry run per object and a few reads for
// the diff (lists and the admission configuration, not one per object),
// then one apply per object and nothing else (no read before or after a
// write): the API server's work per object is what bounds an apply of
// many objects.
func TestFreshApplyRequests(t *testing.T) {
	ctx := context.Background()
	ns := testcluster.Get(t).Namespace(t, "fresh-apply")
	var y strings.Builder
	const n = 60
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: NS}\ndata: {k: v}\n", i)
		case 1:
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: NS}\nspec: {clusterIP: None, ports: [{port: 80}]}\n", i)
		case 2:
			fmt.Fprintf(&y, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-%d, namespace: NS}\nrules: []\n", i)
		}
	}
	objs := render(t, map[string]string{"kustomization.yaml": "resources: [objects.yaml]\n", "objects.yaml": y.String()}, ns, "")
	var c requestCounter
	m := countingManager(t, &c)
	opts := kube.DiffOptions{Stack: stack, Block: "kustomization.fresh"}
	cs, err := m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.Count(kube.ActionCreate); got != n {
		t.Fatalf("%d creates, want %d", got, n)
	}
	diff := c.take()
	if diff["PATCH dry"] != n || diff["PATCH"] != 0 || diff["GET"] > 10 || len(diff) > 2 {
		t.Errorf("the diff of %d new objects sent %v, want %d dry runs and at most 10 reads", n, diff, n)
	}
	if _, err := m.Apply(ctx, cs, kube.ApplyOptions{Stack: stack, Block: "kustomization.fresh"}, nil); err != nil {
		t.Fatal(err)
	}
	if apply := c.take(); apply["PATCH"] != n || len(apply) != 1 {
		t.Errorf("the apply of %d new objects sent %v, want %d applies and nothing else", n, apply, n)
	}
}
