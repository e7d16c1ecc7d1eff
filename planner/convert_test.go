package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
)

func TestStackName(t *testing.T) {
	tests := map[string]string{
		"/stacks/Platform Prod": "platform-prod",
		"/x/quickstart":         "quickstart",
		"/x/--":                 "stack",
		"/x/a.b_c":              "a.b_c",
	}
	for in, want := range tests {
		if got := StackName(in); got != want {
			t.Errorf("StackName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestToResourceChange(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "s", "namespace": "ns"}, "data": map[string]any{"k": kube.Masked}}}
	tests := map[string]struct {
		in   kube.Change
		want plan.ResourceChange
	}{
		"update with masked field": {
			in: kube.Change{Ref: kube.ObjectRef{Version: "v1", Kind: "Secret", Namespace: "ns", Name: "s"}, Action: kube.ActionUpdate,
				Before: secret, After: secret, LiveResourceVersion: "7",
				Fields: []kube.FieldDiff{{Path: "data.k", Before: kube.Masked, After: kube.Masked}, {Path: "metadata.labels.a", After: "b"}}},
			want: plan.ResourceChange{Address: "kustomization.x/Secret/ns/s", Block: "kustomization.x", APIVersion: "v1", Kind: "Secret",
				Namespace: "ns", Name: "s", Actions: plan.Actions{plan.Update}, Before: secret.Object, After: secret.Object,
				LiveResourceVersion: "7",
				Diff:                []plan.FieldDiff{{Path: "data.k", Op: plan.OpChange, Sensitive: true}, {Path: "metadata.labels.a", Op: plan.OpAdd, After: "b"}}},
		},
		"replace marks the immutable field": {
			in: kube.Change{Ref: kube.ObjectRef{Group: "batch", Version: "v1", Kind: "Job", Namespace: "ns", Name: "j"}, Action: kube.ActionReplace,
				Reason: "spec.template: field is immutable", Immutable: []string{"spec.template"},
				Fields: []kube.FieldDiff{{Path: "spec.template.spec.containers[name=a].image", Before: "a", After: "b"},
					{Path: "spec.templateName", Before: "a", After: "b"}}},
			want: plan.ResourceChange{Address: "kustomization.x/Job.batch/ns/j", Block: "kustomization.x", APIVersion: "batch/v1", Kind: "Job",
				Namespace: "ns", Name: "j", Actions: plan.Replace, Reason: "spec.template: field is immutable",
				Diff: []plan.FieldDiff{{Path: "spec.template.spec.containers[name=a].image", Op: plan.OpChange, Before: "a", After: "b", ForcesReplace: true},
					{Path: "spec.templateName", Op: plan.OpChange, Before: "a", After: "b"}}},
		},
		"a create's allocated values are unknown": {
			in: kube.Change{Ref: kube.ObjectRef{Version: "v1", Kind: "Service", Namespace: "ns", Name: "web"}, Action: kube.ActionCreate,
				After: &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"clusterIP": kube.Unknown, "type": "ClusterIP"}}}},
			want: plan.ResourceChange{Address: "kustomization.x/Service/ns/web", Block: "kustomization.x", APIVersion: "v1", Kind: "Service",
				Namespace: "ns", Name: "web", Actions: plan.Actions{plan.Create},
				After: map[string]any{"spec": map[string]any{"clusterIP": plan.UnknownValue, "type": "ClusterIP"}},
				Diff: []plan.FieldDiff{{Path: "spec.clusterIP", Op: plan.OpAdd, Unknown: true},
					{Path: "spec.type", Op: plan.OpAdd, After: "ClusterIP"}}},
		},
		"an update's allocated values are unknown": {
			in: kube.Change{Ref: kube.ObjectRef{Version: "v1", Kind: "Service", Namespace: "ns", Name: "web"}, Action: kube.ActionUpdate,
				Fields: []kube.FieldDiff{{Path: "spec.ports[name=http].nodePort", After: kube.Unknown}}},
			want: plan.ResourceChange{Address: "kustomization.x/Service/ns/web", Block: "kustomization.x", APIVersion: "v1", Kind: "Service",
				Namespace: "ns", Name: "web", Actions: plan.Actions{plan.Update},
				Diff: []plan.FieldDiff{{Path: "spec.ports[name=http].nodePort", Op: plan.OpAdd, Unknown: true}}},
		},
		"unowned names the owner": {
			in: kube.Change{Ref: kube.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "c"}, Action: kube.ActionNoop,
				Unowned: true, Owner: "other/kustomization.y"},
			want: plan.ResourceChange{Address: "kustomization.x/ConfigMap/ns/c", Block: "kustomization.x", APIVersion: "v1", Kind: "ConfigMap",
				Namespace: "ns", Name: "c", Actions: plan.Actions{plan.NoOp}, Unowned: true, Reason: "owned by other/kustomization.y"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := toResourceChange("kustomization.x", tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
