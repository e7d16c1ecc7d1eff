package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// dryRunRequest is what a fake server saw of a dry run.
type dryRunRequest struct {
	Method, Path, Query, ContentType, Accept string
	Body                                     string
}

// fakeDryRunServer returns a rest.Config for a server that serves the
// discovery of ConfigMaps, lists none, answers every apply of ConfigMap
// "big" in namespace ns with answer, and records the applies it saw.
func fakeDryRunServer(t *testing.T, answer []byte) (*rest.Config, func() []dryRunRequest) {
	t.Helper()
	var mu sync.Mutex
	var seen []dryRunRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api":
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case r.URL.Path == "/apis":
			fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
		case r.URL.Path == "/api/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["get","list","patch"]}]}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/configmaps":
			fmt.Fprint(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
		case r.Method == http.MethodPatch && r.URL.Path == "/api/v1/namespaces/ns/configmaps/big":
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen = append(seen, dryRunRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Accept"), string(body)})
			mu.Unlock()
			_, _ = w.Write(answer)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}, func() []dryRunRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]dryRunRequest(nil), seen...)
	}
}

// bigDryRunAnswer returns a ConfigMap "big" of n keys as a dry run of its
// create answers it (no resourceVersion), with strata's managed fields.
func bigDryRunAnswer(t *testing.T, n int) (desired *unstructured.Unstructured, answer []byte) {
	t.Helper()
	data := map[string]any{}
	for i := range n {
		data[fmt.Sprintf("key-%d", i)] = fmt.Sprintf("value-%d", i)
	}
	answer, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big", "namespace": "ns", "uid": "u-1", "creationTimestamp": "2026-12-01T00:00:00Z",
			"labels": map[string]any{LabelStack: "s"},
			"managedFields": []any{map[string]any{"manager": FieldManager, "operation": "Apply", "apiVersion": "v1",
				"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:data": map[string]any{"f:key-0": map[string]any{}}}}}},
		"data": data,
		"n":    int64(3), "f": 1.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	desired = &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big", "namespace": "ns"}, "data": data}}
	return desired, answer
}

// TestDryRunAsDynamicClient checks that the plan's dry run sends the
// dynamic client's request (method, path, parameters, content type and
// body) and gives the object the dynamic client decodes.
func TestDryRunAsDynamicClient(t *testing.T) {
	desired, answer := bigDryRunAnswer(t, 50)
	cfg, seen := fakeDryRunServer(t, answer)
	m, err := NewManager(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ts, err := m.prepare(ctx, []*unstructured.Unstructured{desired}, Owner{Stack: "s", Block: "kustomization.k"}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	tg := ts[0]
	for _, as := range []string{FieldManager, "kustomize-controller"} {
		opts := dryRunOptions()
		opts.FieldManager = as
		want, err := tg.ri.Apply(ctx, tg.ref.Name, tg.obj, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.dryRun(ctx, tg, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want.Object, got.Object); d != "" {
			t.Errorf("as %s: the dry run's object differs from the dynamic client's (-dynamic +strata):\n%s", as, d)
		}
		reqs := seen()
		if len(reqs) < 2 {
			t.Fatalf("as %s: the server saw %d requests, want 2", as, len(reqs))
		}
		dyn, own := reqs[len(reqs)-2], reqs[len(reqs)-1]
		dyn.Body = compactJSON(t, dyn.Body) // the dynamic client's encoder ends with a newline
		if own != dyn {
			t.Errorf("as %s: request %+v, the dynamic client's %+v", as, own, dyn)
		}
	}
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDiffDecodesDryRunOnce checks that the diff of a new object decodes
// the dry run's answer once and keeps it, normalized, as the change's
// After: the whole diff allocates less than the dynamic client's dry run
// alone, which scanned the answer three times to decode it (and normalize
// copied it whole afterwards).
func TestDiffDecodesDryRunOnce(t *testing.T) {
	desired, answer := bigDryRunAnswer(t, 500)
	cfg, _ := fakeDryRunServer(t, answer)
	m, err := NewManager(cfg, Options{ExactDiff: true}) // no admission lists: the dry run alone
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	objs := []*unstructured.Unstructured{desired}
	opts := DiffOptions{Stack: "s", Block: "kustomization.k"}
	cs, err := m.Diff(ctx, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Changes) != 1 || cs.Changes[0].Action != ActionCreate {
		t.Fatalf("changes %+v, want one create", cs.Changes)
	}
	after := cs.Changes[0].After.Object
	md, _ := after["metadata"].(map[string]any)
	if _, ok := md["managedFields"]; ok || md["uid"] != nil || md["creationTimestamp"] != nil || after["n"] != int64(3) || after["f"] != 1.5 {
		t.Errorf("after %v: want the answer normalized, its numbers as the dynamic client decodes them", after)
	}

	diff := testing.AllocsPerRun(10, func() {
		if _, err := m.Diff(ctx, objs, opts); err != nil {
			t.Fatal(err)
		}
	})
	ts, err := m.prepare(ctx, objs, opts.owner(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	dynamic := testing.AllocsPerRun(10, func() {
		if _, err := ts[0].ri.Apply(ctx, ts[0].ref.Name, ts[0].obj, dryRunOptions()); err != nil {
			t.Fatal(err)
		}
	})
	if diff >= dynamic {
		t.Errorf("the diff of a new object allocated %.0f times, the dynamic client's dry run alone %.0f", diff, dynamic)
	}
}

// TestApplySendsAndDigestsTheSameBytes checks that an apply sends the
// bytes json.Marshal gives for the object and records the digest of the
// object without its resourceVersion precondition, also when it sent one.
func TestApplySendsAndDigestsTheSameBytes(t *testing.T) {
	desired, answer := bigDryRunAnswer(t, 20)
	cfg, seen := fakeDryRunServer(t, answer)
	m, err := NewManager(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := ApplyOptions{Stack: "s", StackID: "id", Block: "kustomization.k"}
	want := desired.DeepCopy()
	SetOwner([]*unstructured.Unstructured{want}, opts.owner())
	SetDigest(want)
	for _, c := range []struct {
		action      Action
		ifUnchanged bool
		rv          string
	}{{ActionCreate, false, ""}, {ActionUpdate, false, ""}, {ActionUpdate, true, "7"}} {
		opts.IfUnchanged = c.ifUnchanged
		got, err := m.applyOne(context.Background(), Change{Ref: RefOf(desired), Action: c.action, Desired: desired, LiveResourceVersion: c.rv}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != Digest(want) {
			t.Errorf("%s (if unchanged %v): digest %s, want %s", c.action, c.ifUnchanged, got.Digest, Digest(want))
		}
		sent := want.DeepCopy()
		sent.SetResourceVersion(c.rv)
		body, err := json.Marshal(sent.Object)
		if err != nil {
			t.Fatal(err)
		}
		reqs := seen()
		if last := reqs[len(reqs)-1]; last.Body != string(body) {
			t.Errorf("%s (if unchanged %v): sent %s, want %s", c.action, c.ifUnchanged, last.Body, body)
		}
	}
}
