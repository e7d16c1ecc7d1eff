package kube

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestDecodeListAsDynamicClient checks that decodeList gives the objects
// the dynamic client's decoder gives for the same response: integers as
// int64, other numbers as float64, items without apiVersion and kind
// completed from the list, null items as empty objects.
func TestDecodeListAsDynamicClient(t *testing.T) {
	for name, data := range map[string]string{
		"typed list": `{"apiVersion":"v1","kind":"ConfigMapList","metadata":{"resourceVersion":"7"},"items":[` +
			`{"metadata":{"name":"a","namespace":"n","labels":{"x":"y"}},"data":{"k":"v\u00e9\n"}},` +
			`{"metadata":{"name":"b","generation":9007199254740993},"binaryData":{"b":"AAE="}}]}`,
		"numbers": `{"apiVersion":"apps/v1","kind":"DeploymentList","items":[{"spec":{"replicas":3,"ratio":0.5,` +
			`"big":1e3,"neg":-2,"huge":123456789012345678901234567890,"list":[1,2.5,"3",true,null,{"a":[]}]}}]}`,
		"items with kind": `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}},` +
			`{"kind":"OnlyKind"},{"apiVersion":"only/v1"}]}`,
		"null item":   `{"apiVersion":"v1","kind":"PodList","items":[null]}`,
		"empty":       `{"apiVersion":"v1","kind":"ServiceList","metadata":{},"items":[]}`,
		"no items":    `{"apiVersion":"v1","kind":"ServiceList"}`,
		"null values": `{"apiVersion":"v1","kind":"ConfigMapList","items":[{"metadata":{"name":"a","annotations":null},"data":null}]}`,
		"escapes": `{"apiVersion":"v1","kind":"ConfigMapList","items":[{"metadata":{"name":"a","labels":{"k\u00e9y":"v"}},` +
			`"data":{"s":"\u003c\u0026\u003e \ud83d\ude00 \ud800 \"q\" \\ \/ \t","u":"日本 é","bad":"` + "\xff" + `"}},` +
			`{"metadata":{"name":"b","labels":{"k\u00e9y":"w","kéy2":"x"}},"data":{}}]}`,
		"empty values": `{"apiVersion":"v1","kind":"ConfigMapList","metadata":{"continue":"c","remainingItemCount":3},` +
			`"items":[{"metadata":{"name":"a","labels":{},"finalizers":[]},"data":{"":""}},{}]}`,
		"repeated keys": `{"apiVersion":"v1","kind":"ConfigMapList","items":[{"metadata":{"name":"a"},"data":{"k":1}},` +
			`{"metadata":{"name":"b"},"data":{"k":-9223372036854775808,"big":9223372036854775808,"f":1.0,"e":2E-3}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var want unstructured.UnstructuredList
			if err := want.UnmarshalJSON([]byte(data)); err != nil {
				t.Fatal(err)
			}
			got, err := decodeList([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want.Items) {
				t.Fatalf("%d items, want %d", len(got), len(want.Items))
			}
			for i := range got {
				if diff := cmp.Diff(want.Items[i].Object, got[i].Object); diff != "" {
					t.Errorf("item %d (-want +got):\n%s", i, diff)
				}
				if w, g := fmt.Sprintf("%#v", want.Items[i].Object), fmt.Sprintf("%#v", got[i].Object); w != g {
					t.Errorf("item %d: value types differ:\n%s\nwant\n%s", i, g, w)
				}
			}
		})
	}
	for _, bad := range []string{`{"items":{}}`, `{"items":[1]}`, `{"items":["s"]}`, `[]`, `{"items":[{}]`, `{"items":[{}]} x`} {
		if _, err := decodeList([]byte(bad)); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

// TestListObjectsAsDynamicList lists labelled objects of the live cluster
// with listObjects and with the dynamic client, and wants the same
// objects: a core and a grouped resource in a namespace, and a
// cluster-scoped one.
func TestListObjectsAsDynamicList(t *testing.T) {
	c := testcluster.Get(t)
	ctx := context.Background()
	m, err := NewManager(c.RESTConfig(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := c.Namespace(t, "listobjects")
	label := testcluster.UniqueName("lo")
	cm := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dep := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	nsr := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	for i, name := range []string{"a", "b", "c"} {
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "labels": map[string]any{"test": label}},
			"data":     map[string]any{"i": strings.Repeat("x", i)}}}
		if _, err := m.dyn.Resource(cm).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	d := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "d", "labels": map[string]any{"test": label}},
		"spec": map[string]any{"replicas": int64(0), "selector": map[string]any{"matchLabels": map[string]any{"app": "d"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "d"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "nginx:1.27"}}}}}}}
	if _, err := m.dyn.Resource(dep).Namespace(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gvr     schema.GroupVersionResource
		ns, sel string
		atLeast int
	}{
		{cm, ns, "test=" + label, 3},
		{dep, ns, "test=" + label, 1},
		{nsr, "", "kubernetes.io/metadata.name=" + ns, 1},
		{cm, ns, "test=none", 0},
	} {
		// The controllers may update the Deployment's status between the
		// two lists: list again until both saw the same versions.
		var got []*unstructured.Unstructured
		var want *unstructured.UnstructuredList
		for try := 0; ; try++ {
			got, err = m.listObjects(ctx, tc.gvr, tc.ns, tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			want, err = m.dyn.Resource(tc.gvr).Namespace(tc.ns).List(ctx, metav1.ListOptions{LabelSelector: tc.sel})
			if err != nil {
				t.Fatal(err)
			}
			if try == 4 || sameVersions(got, want.Items) {
				break
			}
		}
		if len(got) != len(want.Items) || len(got) < tc.atLeast {
			t.Fatalf("%s: %d objects, the dynamic client lists %d (want at least %d)", tc.gvr.Resource, len(got), len(want.Items), tc.atLeast)
		}
		for i := range got {
			if diff := cmp.Diff(want.Items[i].Object, got[i].Object); diff != "" {
				t.Errorf("%s %d (-dynamic +listObjects):\n%s", tc.gvr.Resource, i, diff)
			}
		}
	}
	if _, err := m.listObjects(ctx, schema.GroupVersionResource{Group: "nothing.example", Version: "v1", Resource: "things"}, "", ""); err == nil {
		t.Error("listing a resource the cluster does not serve gave no error")
	}
}

// TestDiffReadsAdmissionWhileListing checks that Diff reads the cluster's
// admission configuration (four lists) while it lists the live objects,
// all at once, rather than one round trip after the other: each of those
// requests is held until all of them (and one list of live objects) are
// in flight, or five seconds passed.
func TestDiffReadsAdmissionWhileListing(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "admoverlap")
	b := &barrier{want: 5, done: make(chan struct{})}
	cfg := c.RESTConfig()
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &barrierTransport{next: rt, b: b} })
	m, err := NewManager(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, name := range []string{"a", "b"} {
		objs = append(objs, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": ns}, "data": map[string]any{"k": "v"}}})
	}
	start := time.Now()
	if _, err := m.Diff(context.Background(), objs, DiffOptions{Stack: "test", Block: "kustomization.overlap"}); err != nil {
		t.Fatal(err)
	}
	if n, late := b.result(); late > 0 {
		t.Errorf("the admission lists and the live list were not in flight together: %d requests waited in vain (%d of %d arrived; Diff took %s)",
			late, n, b.want, time.Since(start).Round(time.Millisecond))
	}
}

// barrier releases the requests it holds once want of them arrived, or
// each after five seconds (late).
type barrier struct {
	mu   sync.Mutex
	n    int
	late int
	want int
	done chan struct{}
}

func (b *barrier) wait() {
	b.mu.Lock()
	b.n++
	if b.n == b.want {
		close(b.done)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		b.mu.Lock()
		b.late++
		b.mu.Unlock()
	}
}

// result returns how many requests arrived and how many waited in vain.
func (b *barrier) result() (arrived, late int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.late
}

// barrierTransport holds the lists of the admission configuration and of
// live objects at a barrier.
type barrierTransport struct {
	next http.RoundTripper
	b    *barrier
}

func (t *barrierTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/admissionregistration.k8s.io/") ||
		strings.HasSuffix(r.URL.Path, "/configmaps") && r.URL.Query().Get("labelSelector") != "") {
		t.b.wait()
	}
	return t.next.RoundTrip(r)
}

// TestMappingKeptUntilReset checks that the manager looks a versioned
// kind up in discovery once until ResetMapping (every object of a block
// used to go through the deferred mapper's whole lookup), and that a kind
// without version is looked up each time (its preferred version may
// change with a refresh of discovery).
func TestMappingKeptUntilReset(t *testing.T) {
	c := testcluster.Get(t)
	ctx := context.Background()
	m, err := NewManager(c.RESTConfig(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dep := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	first, err := m.Mapping(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.Mapping(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Error("the mapping of apps/v1 Deployment was looked up twice")
	}
	m.ResetMapping()
	after, err := m.Mapping(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	if after == first {
		t.Error("ResetMapping kept the mapping")
	}
	if after.Resource.Resource != "deployments" || after.Scope.Name() != "namespace" {
		t.Errorf("mapping %v, scope %s", after.Resource, after.Scope.Name())
	}
	unversioned := schema.GroupVersionKind{Group: "apps", Kind: "Deployment"}
	a, err := m.Mapping(ctx, unversioned)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Mapping(ctx, unversioned)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("the mapping of a kind without version was kept")
	}
	if _, err := m.Mapping(ctx, schema.GroupVersionKind{Group: "nothing.example", Version: "v1", Kind: "Thing"}); err == nil {
		t.Error("an unknown kind mapped")
	}
}

// TestAdmissionReadsEachNamespaceOnce checks that the parallel diffs of a
// namespace's objects, all matched by an admission rule, read the
// namespace's labels once: each diff used to send its own read while the
// first one was under way, up to one per object.
func TestAdmissionReadsEachNamespaceOnce(t *testing.T) {
	var mu sync.Mutex
	reads := map[string]int{}
	s := &admissionScope{
		namespaces: map[string]*namespaceEntry{},
		rules: []admissionRule{{
			rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.OperationAll},
				Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
			namespaces: []*metav1.LabelSelector{{MatchLabels: map[string]string{"team": "a"}}},
		}},
		get: func(ctx context.Context, ns string) (labels.Set, error) {
			mu.Lock()
			reads[ns]++
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // an API server's answer
			if ns == "team-a" {
				return labels.Set{"team": "a"}, nil
			}
			return labels.Set{"team": "b"}, nil
		},
	}
	cm := &meta.RESTMapping{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}}
	var wg sync.WaitGroup
	covered := make([]bool, 64)
	for i := range covered {
		ns := "team-a"
		if i%2 == 1 {
			ns = "team-b"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			covered[i] = s.covers(context.Background(), &target{ref: ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "x"}, mapping: cm})
		}()
	}
	wg.Wait()
	for i, c := range covered {
		if want := i%2 == 0; c != want {
			t.Errorf("object %d: covered %v, want %v", i, c, want)
		}
	}
	if reads["team-a"] != 1 || reads["team-b"] != 1 {
		t.Errorf("namespace reads %v, want one each", reads)
	}
}

// TestDiffTakesEarlyLists checks that the shared lists StartPrefetch
// starts are under way before Diff is called, that Diff takes them instead
// of listing again (one list of the stack's ConfigMaps in all) and gives
// the same changes as without them.
func TestDiffTakesEarlyLists(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "earlylists")
	lt := &listCounter{}
	cfg := c.RESTConfig()
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { lt.next = rt; return lt })
	m, err := NewManager(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var objs []*unstructured.Unstructured
	var refs []ObjectRef
	for _, name := range []string{"a", "b", "c"} {
		o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": ns}, "data": map[string]any{"k": "v"}}}
		objs, refs = append(objs, o), append(refs, RefOf(o))
	}
	opts := DiffOptions{Stack: "test-" + ns, Block: "kustomization.early"}
	cs, err := m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, cs, ApplyOptions{Stack: opts.Stack, Block: opts.Block}, nil); err != nil {
		t.Fatal(err)
	}
	without, err := m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	before := lt.count()
	next := lt.next1()
	withEarly := opts
	withEarly.Shared = NewSharedReads()
	m.StartPrefetch(ctx, withEarly.Shared, refs, opts.Stack)
	select {
	case <-next:
	case <-time.After(10 * time.Second):
		t.Fatal("StartPrefetch sent no list of the ConfigMaps")
	}
	got, err := m.Diff(ctx, objs, withEarly)
	if err != nil {
		t.Fatal(err)
	}
	if n := lt.count() - before; n != 1 {
		t.Errorf("%d lists of the ConfigMaps for StartPrefetch and Diff, want 1", n)
	}
	if diff := cmp.Diff(summaries(without), summaries(got)); diff != "" {
		t.Errorf("Diff with early lists differs (-without +with):\n%s", diff)
	}
	for _, ch := range got.Changes {
		if ch.Action != ActionNoop {
			t.Errorf("%s: %s, want no change", ch.Ref, ch.Action)
		}
	}
}

func summaries(cs *ChangeSet) []string {
	var out []string
	for _, c := range cs.Changes {
		out = append(out, fmt.Sprintf("%s %s %v", c.Ref, c.Action, c.Fields))
	}
	return out
}

// listCounter counts the lists of ConfigMaps by label.
type listCounter struct {
	next    http.RoundTripper
	mu      sync.Mutex
	n       int
	waiting chan struct{} // closed at the next list
}

// next1 returns a channel closed at the next list.
func (l *listCounter) next1() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waiting = make(chan struct{})
	return l.waiting
}

func (l *listCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/configmaps") && r.URL.Query().Get("labelSelector") != "" {
		l.mu.Lock()
		l.n++
		if l.waiting != nil {
			close(l.waiting)
			l.waiting = nil
		}
		l.mu.Unlock()
	}
	return l.next.RoundTrip(r)
}

func (l *listCounter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// sameVersions reports whether two lists hold the same objects at the
// same resource versions, in the same order.
func sameVersions(a []*unstructured.Unstructured, b []unstructured.Unstructured) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].GetUID() != b[i].GetUID() || a[i].GetResourceVersion() != b[i].GetResourceVersion() {
			return false
		}
	}
	return true
}
