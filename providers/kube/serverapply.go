package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/strata-gitops/strata/internal/jsonvalue"
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
	// digest is the Digest of the object sent, computed from the very
	// bytes of the request.
	digest string
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
// taking over conflicting fields, as the dynamic client's Apply does (the
// same bytes, encoded by jsonvalue, whose digest it keeps), and
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
	body, err := jsonvalue.Marshal(obj.Object) // json.Marshal's bytes
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
	got := appliedObject{digest: digestOf(body)}
	if err := json.Unmarshal(data, &got); err != nil {
		return nil, fmt.Errorf("decode the answer to the apply of %s: %w", ref, err)
	}
	return &got, nil
}

// dryRun sends the server-side apply dry run of t.obj with opts: the
// request the dynamic client's Apply sends (the same body, content type
// and parameters), with the answer decoded in one pass by jsonvalue into
// the values the dynamic client gives. The dynamic client scanned each
// answer three times (for its kind, to validate it, to decode it through
// reflection): most of the client's CPU time of a plan's dry runs. The
// answer is the caller's own. Errors are those the dynamic client returns.
func (m *Manager) dryRun(ctx context.Context, t *target, opts metav1.ApplyOptions) (*unstructured.Unstructured, error) {
	name, ns := t.ref.Name, ""
	if t.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns = t.obj.GetNamespace()
	}
	if name == "" {
		return nil, fmt.Errorf("name is required")
	}
	if msgs := rest.IsValidPathSegmentName(ns); len(msgs) > 0 {
		return nil, fmt.Errorf("invalid namespace %q: %v", ns, msgs)
	}
	if msgs := rest.IsValidPathSegmentName(name); len(msgs) > 0 {
		return nil, fmt.Errorf("invalid resource name %q: %v", name, msgs)
	}
	if _, ok := metadataOf(t.obj)["managedFields"]; ok && len(t.obj.GetManagedFields()) > 0 {
		return nil, errManagedFieldsSet
	}
	body, err := jsonvalue.Marshal(t.obj.Object)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal apply configuration: %w", err)
	}
	req := m.raw.Patch(types.ApplyYAMLPatchType).AbsPath(append(resourcePath(t.mapping.Resource, ns), name)...).
		SetHeader("Accept", "application/json").
		Param("fieldManager", opts.FieldManager)
	for _, d := range opts.DryRun {
		req = req.Param("dryRun", d)
	}
	if opts.Force {
		req = req.Param("force", "true")
	}
	res := req.Body(body).Do(ctx)
	if err := res.Error(); err != nil {
		return nil, err
	}
	data, _ := res.Raw()
	if len(data) == 0 {
		return nil, fmt.Errorf("0-length answer to the dry run of %s", t.ref)
	}
	obj, err := jsonvalue.DecodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("decode the answer to the dry run of %s: %w", t.ref, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	if u.GetKind() == "" {
		return nil, fmt.Errorf("decode the answer to the dry run of %s: %w", t.ref, runtime.NewMissingKindErr(string(data)))
	}
	return u, nil
}

// errManagedFieldsSet is the dynamic client's refusal of an apply of an
// object whose managedFields are set.
var errManagedFieldsSet = errors.New(`cannot apply an object with managed fields already set.
		Use the client-go/applyconfigurations "UnstructructuredExtractor" to obtain the unstructured ApplyConfiguration for the given field manager that you can use/modify here to apply`)

// metadataOf returns the metadata of obj, nil when it has none.
func metadataOf(obj *unstructured.Unstructured) map[string]any {
	md, _ := obj.Object["metadata"].(map[string]any)
	return md
}
