package kube

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	kjson "sigs.k8s.io/json"
)

// newClients returns the dynamic client of cfg and a REST client for
// requests whose responses the manager decodes itself (listObjects), both
// on one HTTP client: they share its connections.
func newClients(cfg *rest.Config) (dynamic.Interface, rest.Interface, error) {
	dcfg := dynamic.ConfigFor(cfg)
	hc, err := rest.HTTPClientFor(dcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("http client: %w", err)
	}
	dyn, err := dynamic.NewForConfigAndClient(dcfg, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("dynamic client: %w", err)
	}
	dcfg.GroupVersion, dcfg.APIPath = nil, ""
	raw, err := rest.UnversionedRESTClientForConfigAndClient(dcfg, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("rest client: %w", err)
	}
	return dyn, raw, nil
}

// listObjects lists the objects of resource gvr in namespace ns ("" for a
// cluster-scoped resource) that match the label selector, as the dynamic
// client's List does, decoding the response in one pass: the dynamic
// client's decoder (unstructured.UnstructuredJSONScheme) decodes a list
// twice over and scans it a third time, which made decoding the largest
// cost of a no-change plan after rendering. The objects are the same:
// JSON numbers without a fraction are int64, and items without apiVersion
// and kind get those of the list.
func (m *Manager) listObjects(ctx context.Context, gvr schema.GroupVersionResource, ns, selector string) ([]*unstructured.Unstructured, error) {
	data, err := m.raw.Get().AbsPath(resourcePath(gvr, ns)...).
		SetHeader("Accept", "application/json").
		Param("labelSelector", selector).
		Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	return decodeList(data)
}

// decodeList decodes a list of objects in JSON.
func decodeList(data []byte) ([]*unstructured.Unstructured, error) {
	var list struct {
		APIVersion string           `json:"apiVersion"`
		Kind       string           `json:"kind"`
		Items      []map[string]any `json:"items"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &list); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	itemKind := strings.TrimSuffix(list.Kind, "List")
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i, item := range list.Items {
		if item == nil {
			item = map[string]any{}
		}
		u := &unstructured.Unstructured{Object: item}
		if u.GetKind() == "" && u.GetAPIVersion() == "" {
			u.SetKind(itemKind)
			u.SetAPIVersion(list.APIVersion)
		}
		out[i] = u
	}
	return out, nil
}

// resourcePath returns the path of the collection of gvr in namespace ns.
func resourcePath(gvr schema.GroupVersionResource, ns string) []string {
	p := []string{"/apis", gvr.Group, gvr.Version}
	if gvr.Group == "" {
		p = []string{"/api", gvr.Version}
	}
	if ns != "" {
		p = append(p, "namespaces", ns)
	}
	return append(p, gvr.Resource)
}
