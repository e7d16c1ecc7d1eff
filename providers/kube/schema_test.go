package kube

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, default: blue, enum: [blue, red]}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v0
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
`

func TestCRDSchemaCheck(t *testing.T) {
	cs := compileCRD(PlannedCRD{Object: obj(t, testCRD), By: "release.gadgets"})
	if err := cs.compile(); err != nil {
		t.Fatal(err)
	}
	if cs.gk.String() != "Gadget.example.com" || !cs.namespaced {
		t.Fatalf("compiled %s, namespaced %v", cs.gk, cs.namespaced)
	}
	tests := []struct {
		name    string
		spec    string
		version string
		want    string // the defaulted spec, or
		wantErr []string
	}{
		{name: "defaults", spec: "{size: 2}", want: `{"color":"blue","size":2}`},
		{name: "preserved unknown fields", spec: "{size: 2, color: red, extra: {any: [1]}}", want: `{"color":"red","extra":{"any":[1]},"size":2}`},
		{name: "unknown field", spec: "{size: 2, colour: red}", wantErr: []string{"spec.colour: unknown field"}},
		{name: "wrong type", spec: "{size: two}", wantErr: []string{"spec.size: Invalid value", `must be of type integer`}},
		{name: "missing required", spec: "{color: red}", wantErr: []string{"spec.size: Required value"}},
		{name: "enum and minimum", spec: "{size: 0, color: green}", wantErr: []string{"spec.color: Unsupported value", "spec.size: Invalid value"}},
		{name: "version not served", spec: "{size: 2}", version: "v0", wantErr: []string{"CRD gadgets.example.com serves no version v0 of kind Gadget (served: v1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.version
			if v == "" {
				v = "v1"
			}
			o := obj(t, "apiVersion: example.com/"+v+"\nkind: Gadget\nmetadata: {name: g, namespace: ns}\nspec: "+tt.spec+"\n")
			before := toJSONString(t, o.Object)
			got, err := cs.check(o)
			if toJSONString(t, o.Object) != before {
				t.Errorf("check changed its input")
			}
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, toJSONString(t, got.Object["spec"])); diff != "" {
				t.Errorf("defaulted spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCRDSchemaPlacement(t *testing.T) {
	cluster := strings.Replace(testCRD, "scope: Namespaced", "scope: Cluster", 1)
	for _, tt := range []struct{ crd, ns, want string }{
		{testCRD, "", "default"},
		{testCRD, "team", "team"},
		{cluster, "team", ""},
	} {
		cs := compileCRD(PlannedCRD{Object: obj(t, tt.crd)})
		o := obj(t, "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n")
		o.SetNamespace(tt.ns)
		cs.placeIn(o)
		if o.GetNamespace() != tt.want {
			t.Errorf("namespace %q placed in %q, want %q", tt.ns, o.GetNamespace(), tt.want)
		}
	}
}

func TestUncompiledCRDFailsItsObjects(t *testing.T) {
	u := obj(t, strings.Replace(testCRD, "apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1", 1))
	cs := compileCRD(PlannedCRD{Object: u})
	if cs.gk.String() != "Gadget.example.com" {
		t.Errorf("kind of an uncompiled CRD: %s", cs.gk)
	}
	_, err := cs.check(obj(t, "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n"))
	if err == nil || !strings.Contains(err.Error(), "not served by Kubernetes any more") {
		t.Fatalf("check against an uncompiled CRD: %v", err)
	}
}

func toJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
