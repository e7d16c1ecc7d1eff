package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// appliedObject is what Apply keeps of the API server's answer to a
// server-side apply: the object's identity and its managed fields.
type appliedObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name            string                      `json:"name"`
		Namespace       string                      `json:"namespace"`
		UID             string                      `json:"uid"`
		ResourceVersion string                      `json:"resourceVersion"`
		ManagedFields   []metav1.ManagedFieldsEntry `json:"managedFields"`
	} `json:"metadata"`
}

// ref returns the reference of the applied object.
func (a *appliedObject) ref() ObjectRef {
	group, version := "", a.APIVersion
	if i := strings.LastIndex(a.APIVersion, "/"); i >= 0 {
		group, version = a.APIVersion[:i], a.APIVersion[i+1:]
	}
	return ObjectRef{Group: group, Version: version, Kind: a.Kind, Namespace: a.Metadata.Namespace, Name: a.Metadata.Name}
}

// serverApply sends obj as a server-side apply by strata's field manager,
// taking over conflicting fields, as the dynamic client's Apply does, and
// decodes of the answer only what Apply records: the dynamic client
// decodes the whole object into maps, which was most of the CPU time of
// an apply after the request itself. Errors are the API server's, as the
// dynamic client returns them.
func (m *Manager) serverApply(ctx context.Context, obj *unstructured.Unstructured) (*appliedObject, error) {
	ref := RefOf(obj)
	mp, err := m.Mapping(ctx, ref.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	ns := ""
	if mp.Scope.Name() == meta.RESTScopeNameNamespace {
		ns = ref.Namespace
		if msgs := rest.IsValidPathSegmentName(ns); len(msgs) > 0 {
			return nil, fmt.Errorf("invalid namespace %q: %v", ns, msgs)
		}
	}
	if msgs := rest.IsValidPathSegmentName(ref.Name); ref.Name == "" || len(msgs) > 0 {
		return nil, fmt.Errorf("invalid resource name %q: %v", ref.Name, msgs)
	}
	body, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ref, err)
	}
	data, err := m.raw.Patch(types.ApplyYAMLPatchType).AbsPath(append(resourcePath(mp.Resource, ns), ref.Name)...).
		SetHeader("Accept", "application/json").
		Param("fieldManager", FieldManager).
		Param("force", "true").
		Body(body).
		Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var got appliedObject
	if err := json.Unmarshal(data, &got); err != nil {
		return nil, fmt.Errorf("decode the answer to the apply of %s: %w", ref, err)
	}
	return &got, nil
}
