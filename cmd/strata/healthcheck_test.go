package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/strata-gitops/strata/internal/testcluster"
)

// TestHealthCheckWaitsForCondition applies a custom resource with a health
// check on its Ready condition. Without status the resource counts as ready
// by kstatus' rules alone; with `condition = "Ready"` the apply waits while
// the stand-in operator reports Ready False, and finishes only after it
// reports Ready True.
func TestHealthCheckWaitsForCondition(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t, "hc")
	group := testcluster.UniqueName("hc") + ".strata.test"
	dir := filepath.Join(t.TempDir(), testcluster.UniqueName("hc"))
	writeFiles(t, dir, map[string]string{
		"main.hcl": `kustomization "crd" {
  path = "crd"
}
kustomization "app" {
  path    = "app"
  timeout = "60s"
  health_check {
    api_version = "` + group + `/v1"
    kind        = "Widget"
    name        = "w"
    namespace   = "` + ns + `"
    condition   = "Ready"
  }
  depends_on = [kustomization.crd]
}
`,
		"crd/crd.yaml": widgetCRD(group),
		"app/w.yaml":   "apiVersion: " + group + "/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: " + ns + "\nspec:\n  size: 1\n",
	})
	kc := "--kubeconfig=" + c.Kubeconfig()
	t.Cleanup(func() {
		runCLI(t, "destroy", dir, kc, "--auto-approve")
	})

	widgets := dynamic.NewForConfigOrDie(c.RESTConfig()).Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}).Namespace(ns)
	ready := make(chan time.Time, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go func() {
		w := waitForObject(ctx, widgets, "w")
		if w == nil {
			return
		}
		time.Sleep(1500 * time.Millisecond)
		setCondition(ctx, widgets, "w", "False", "Creating")
		time.Sleep(1500 * time.Millisecond)
		ready <- time.Now()
		setCondition(ctx, widgets, "w", "True", "Ready")
	}()

	code, stdout, stderr := runCLI(t, "apply", dir, kc, "--auto-approve")
	done := time.Now()
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	select {
	case at := <-ready:
		if done.Before(at) {
			t.Errorf("apply finished at %s, before the Ready condition was set at %s", done.Format(time.StampMilli), at.Format(time.StampMilli))
		}
	default:
		t.Fatalf("apply finished before the operator set the Ready condition\n%s", stdout)
	}
	if !strings.Contains(stdout, "kustomization.app: Complete after") {
		t.Errorf("apply output:\n%s", stdout)
	}
}

// widgetCRD is a namespaced CRD of kind Widget in group, with a status
// subresource.
func widgetCRD(group string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.` + group + `
spec:
  group: ` + group + `
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
}

// waitForObject polls until the object name exists, or ctx ends (nil).
func waitForObject(ctx context.Context, ri dynamic.ResourceInterface, name string) *unstructured.Unstructured {
	for {
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return u
		}
		// Not found, or the CRD not served yet: poll again.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// setCondition writes the object's status as an operator would: the
// observed generation and one Ready condition. Conflicts are retried.
func setCondition(ctx context.Context, ri dynamic.ResourceInterface, name, status, reason string) {
	for ctx.Err() == nil {
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return
		}
		_ = unstructured.SetNestedField(u.Object, map[string]any{
			"observedGeneration": u.GetGeneration(),
			"conditions": []any{map[string]any{
				"type": "Ready", "status": status, "reason": reason,
				"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}},
		}, "status")
		if _, err := ri.UpdateStatus(ctx, u, metav1.UpdateOptions{}); err == nil || !apierrors.IsConflict(err) {
			return
		}
	}
}
