package planner

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// requestLog counts the requests a client sends, by method and path
// (namespaces folded into NS).
type requestLog struct {
	mu        sync.Mutex
	counts    map[string]int
	selectors map[string]bool // the label selectors of the lists
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		p := r.URL.Path
		if i := strings.Index(p, "/namespaces/"); i >= 0 {
			rest := strings.SplitN(p[i+len("/namespaces/"):], "/", 2)
			if len(rest) == 2 {
				p = p[:i] + "/namespaces/NS/" + rest[1]
			}
		}
		l.mu.Lock()
		l.counts[r.Method+" "+p]++
		if sel := r.URL.Query().Get("labelSelector"); sel != "" && l.selectors != nil {
			l.selectors[sel] = true
		}
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPlanSharesReadsBetweenBlocks plans, unchanged, a stack of 8
// kustomizations whose objects (ConfigMaps and Services) live in two
// namespaces, and wants the stack's live objects listed once per kind and
// namespace (4 lists) and the admission configuration read once (4
// requests): every block used to list each of its kinds itself (16 lists,
// each filtered by the API server over every object of the kind in the
// namespace) and to read the admission configuration again (32 requests),
// which made a stack of 100 kustomizations send 900 requests where 106
// do. The lists of a plan of the whole stack select the stack's objects
// without naming each of its blocks (a selector that grew with the stack
// and went with every list); a plan of one target lists the objects of
// that block only, not every block's of the namespace.
func TestPlanSharesReadsBetweenBlocks(t *testing.T) {
	c := testcluster.Get(t)
	nss := []string{c.Namespace(t, "shared-a"), c.Namespace(t, "shared-b")}
	files := map[string]string{"main.hcl": ""}
	const blocks = 8
	for i := 0; i < blocks; i++ {
		n := fmt.Sprintf("k%d", i)
		ns := nss[i%2]
		files["main.hcl"] += fmt.Sprintf("kustomization %q {\n  path = %q\n  wait = false\n}\n", n, n)
		var y strings.Builder
		for j := 0; j < 3; j++ {
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%s-%d, namespace: %s}\ndata: {k: v}\n", n, j, ns)
			fmt.Fprintf(&y, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%s-%d, namespace: %s}\nspec: {clusterIP: None, ports: [{port: 80}]}\n", n, j, ns)
		}
		files[n+"/objects.yaml"] = y.String()
	}
	dir := writeStack(t, files)
	applyStack(t, testOptions(c, dir))

	log := &requestLog{counts: map[string]int{}, selectors: map[string]bool{}}
	opts := testOptions(c, dir)
	opts.RESTConfig.WrapTransport = log.wrap
	_, p := planStack(t, opts)
	if p.HasChanges() || p.HasErrors() {
		t.Fatalf("plan of the unchanged stack: changes %v, errors %v", changed(p), p.Errors)
	}
	lists, admission := 0, 0
	for k, n := range log.counts {
		switch {
		case strings.HasPrefix(k, "GET /api/v1/namespaces/NS/configmaps"), strings.HasPrefix(k, "GET /api/v1/namespaces/NS/services"):
			if k == "GET /api/v1/namespaces/NS/configmaps" || k == "GET /api/v1/namespaces/NS/services" {
				lists += n
			}
		case strings.HasPrefix(k, "GET /apis/admissionregistration.k8s.io/"):
			admission += n
		}
	}
	if lists != 4 || admission != 4 {
		t.Errorf("%d lists of the stack's objects (want 4: one per kind and namespace), %d reads of the admission configuration (want 4: once)\n%v",
			lists, admission, log.counts)
	}

	for sel := range log.selectors {
		if strings.Contains(sel, " in (") {
			t.Errorf("the plan of the whole stack listed with the selector %q, want the stack's objects without naming every block", sel)
		}
	}

	target := &requestLog{counts: map[string]int{}, selectors: map[string]bool{}}
	opts = testOptions(c, dir)
	opts.RESTConfig.WrapTransport = target.wrap
	opts.Targets = []string{"kustomization.k0"}
	if _, p = planStack(t, opts); p.HasChanges() || p.HasErrors() {
		t.Fatalf("plan of kustomization.k0: changes %v, errors %v", changed(p), p.Errors)
	}
	for sel := range target.selectors {
		if strings.HasPrefix(sel, "strata.dev/stack=") && !strings.HasSuffix(sel, "strata.dev/block in (kustomization.k0)") &&
			!strings.HasSuffix(sel, "strata.dev/block=kustomization.k0") {
			t.Errorf("the plan of kustomization.k0 listed with the selector %q, want its objects only", sel)
		}
	}
}
