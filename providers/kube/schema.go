package kube

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PlannedCRD is a CustomResourceDefinition that the plan creates or changes
// before the objects being diffed are applied (by a block they depend on,
// or by their own change set). Diff checks the objects of its kind against
// it offline instead of asking the cluster, which serves the kind not yet,
// or in another version of it.
type PlannedCRD struct {
	// Object is the CRD as it will be applied (apiextensions.k8s.io/v1).
	Object *unstructured.Unstructured
	// By is the address of the block that applies it.
	By string
}

// crdSchema is a planned CRD compiled for offline checks. Its schemas are
// compiled on first use: most blocks use none of the CRDs upstream blocks
// plan.
type crdSchema struct {
	name       string // metadata.name of the CRD
	by         string // block that applies it
	gk         schema.GroupKind
	namespaced bool
	obj        *unstructured.Unstructured

	once     sync.Once
	versions map[string]*versionSchema // served versions by name
	// err is why the CRD could not be compiled; check returns it, so that
	// only the objects of its kind fail (the CRD's own dry run says more).
	err error
}

// versionSchema is the schema of one served version.
type versionSchema struct {
	structural *structuralschema.Structural // nil without a schema
	validator  apiservervalidation.SchemaValidator
}

// compileCRD reads the name, kind and scope of a planned CRD.
func compileCRD(p PlannedCRD) *crdSchema {
	scope, _, _ := unstructured.NestedString(p.Object.Object, "spec", "scope")
	return &crdSchema{name: p.Object.GetName(), by: p.By, gk: CRDKind(p.Object),
		namespaced: scope == string(apiextv1.NamespaceScoped), obj: p.Object}
}

// compile compiles the schemas of the CRD's served versions, once.
func (cs *crdSchema) compile() error {
	cs.once.Do(func() { cs.versions, cs.err = compileVersions(cs.name, cs.obj) })
	return cs.err
}

func compileVersions(name string, u *unstructured.Unstructured) (map[string]*versionSchema, error) {
	if u.GetAPIVersion() != apiextv1.SchemeGroupVersion.String() {
		return nil, fmt.Errorf("CRD %s: apiVersion %s is not served by Kubernetes any more (want %s)",
			name, u.GetAPIVersion(), apiextv1.SchemeGroupVersion)
	}
	var crd apiextv1.CustomResourceDefinition
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
		return nil, fmt.Errorf("CRD %s: %w", name, err)
	}
	out := make(map[string]*versionSchema, len(crd.Spec.Versions))
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		vs, err := compileVersion(v)
		if err != nil {
			return nil, fmt.Errorf("CRD %s version %s: %w", name, v.Name, err)
		}
		out[v.Name] = vs
	}
	return out, nil
}

// compileVersion compiles the schema of one version of a CRD.
func compileVersion(v apiextv1.CustomResourceDefinitionVersion) (*versionSchema, error) {
	vs := &versionSchema{}
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return vs, nil
	}
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("schema is not structural: %w", err)
	}
	val, _, err := apiservervalidation.NewSchemaValidator(internal)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	vs.structural, vs.validator = s, val
	return vs, nil
}

// check validates obj against the schema of its version, as the API server
// would on a create: unknown fields (outside x-kubernetes-preserve-unknown-
// fields) are errors, defaults are applied, then the OpenAPI v3 validation
// runs (types, required fields, enums, patterns, bounds). It returns the
// defaulted object; obj is not changed. CEL rules (x-kubernetes-validations),
// admission webhooks and conversion are left to the dry run at apply time.
func (cs *crdSchema) check(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if err := cs.compile(); err != nil {
		return nil, err
	}
	gv, err := schema.ParseGroupVersion(obj.GetAPIVersion())
	if err != nil {
		return nil, err
	}
	vs, ok := cs.versions[gv.Version]
	if !ok {
		return nil, fmt.Errorf("CRD %s serves no version %s of kind %s (served: %s)",
			cs.name, gv.Version, cs.gk.Kind, strings.Join(cs.versionNames(), ", "))
	}
	out := obj.DeepCopy()
	if vs.structural == nil {
		return out, nil
	}
	var errs []string
	unknown := structuralpruning.PruneWithOptions(out.Object, vs.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, f := range unknown {
		errs = append(errs, fmt.Sprintf("%s: unknown field", f))
	}
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(out.Object, vs.structural)
	structuraldefaulting.Default(out.Object, vs.structural)
	for _, e := range apiservervalidation.ValidateCustomResource(nil, out.Object, vs.validator) {
		errs = append(errs, fieldError(e))
	}
	if len(errs) > 0 {
		return nil, schemaRefusal(cs.name, errs)
	}
	return out, nil
}

func (cs *crdSchema) versionNames() []string {
	names := make([]string, 0, len(cs.versions))
	for n := range cs.versions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// fieldError renders a validation error as "spec.replicas: Invalid value:
// ...", without the value dump of a whole object.
func fieldError(e *field.Error) string {
	if e.Type == field.ErrorTypeRequired {
		return e.Field + ": Required value"
	}
	return e.Error()
}

// CRDKind returns the group and kind a CustomResourceDefinition object
// defines.
func CRDKind(u *unstructured.Unstructured) schema.GroupKind {
	g, _, _ := unstructured.NestedString(u.Object, "spec", "group")
	k, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
	return schema.GroupKind{Group: g, Kind: k}
}

// placeIn sets the namespace of an object of a kind that the cluster does
// not serve yet, from its CRD's scope, as Prepare does from the mapping.
func (cs *crdSchema) placeIn(obj *unstructured.Unstructured) {
	switch {
	case !cs.namespaced:
		obj.SetNamespace("")
	case obj.GetNamespace() == "":
		obj.SetNamespace(metav1.NamespaceDefault)
	}
}

// CRDSchemas checks objects of the kinds of planned CRDs offline, as Diff
// does for DiffOptions.CRDs, for callers that diff objects by other means
// (Helm releases). A nil *CRDSchemas knows no CRD. It is safe for
// concurrent use.
type CRDSchemas struct {
	defs map[schema.GroupKind]*crdSchema
}

// NewCRDSchemas returns the checker of the planned CRDs; of two CRDs of one
// kind the later wins.
func NewCRDSchemas(crds []PlannedCRD) *CRDSchemas {
	return &CRDSchemas{defs: compileCRDs(crds)}
}

// Check checks obj against the planned CRD of its kind, as Diff does for a
// change it marks SchemaOnly, and returns obj with the schema's defaults
// and that CRD. The CRD is nil, and nothing is checked, when no planned CRD
// defines the kind.
func (s *CRDSchemas) Check(obj *unstructured.Unstructured) (*unstructured.Unstructured, *PlannedCRD, error) {
	if s == nil {
		return nil, nil, nil
	}
	def, ok := s.defs[obj.GroupVersionKind().GroupKind()]
	if !ok {
		return nil, nil, nil
	}
	crd := &PlannedCRD{Object: def.obj, By: def.by}
	after, err := def.check(obj)
	if err != nil {
		return nil, crd, err
	}
	return after, crd, nil
}
