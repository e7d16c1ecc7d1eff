package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestMarkUnknown(t *testing.T) {
	svc := func(spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "web", "namespace": "ns"}, "spec": spec}}
	}
	port := func(port, nodePort int64) map[string]any {
		p := map[string]any{"port": port, "protocol": "TCP"}
		if nodePort != 0 {
			p["nodePort"] = nodePort
		}
		return p
	}
	tests := map[string]struct {
		after, desired, live *unstructured.Unstructured
		want                 map[string]any
	}{
		"create: the dry run's cluster IP and node port are placeholders": {
			after:   svc(map[string]any{"type": "NodePort", "clusterIP": "10.0.0.0", "clusterIPs": []any{"10.0.0.0"}, "ports": []any{port(80, 30080)}}),
			desired: svc(map[string]any{"type": "NodePort", "ports": []any{map[string]any{"port": int64(80)}}}),
			want:    map[string]any{"type": "NodePort", "clusterIP": Unknown, "clusterIPs": []any{Unknown}, "ports": []any{map[string]any{"port": int64(80), "protocol": "TCP", "nodePort": Unknown}}},
		},
		"create: values the manifest sets are known": {
			after:   svc(map[string]any{"clusterIP": "None", "clusterIPs": []any{"None"}, "ports": []any{port(80, 30080)}}),
			desired: svc(map[string]any{"clusterIP": "None", "ports": []any{map[string]any{"port": 80, "nodePort": 30080}}}),
			want:    map[string]any{"clusterIP": "None", "clusterIPs": []any{"None"}, "ports": []any{port(80, 30080)}},
		},
		"update: values the live object holds are known, a new port's is not": {
			after:   svc(map[string]any{"clusterIP": "10.0.0.7", "clusterIPs": []any{"10.0.0.7"}, "ports": []any{port(443, 30443), port(80, 30080)}}),
			desired: svc(map[string]any{"ports": []any{map[string]any{"port": 443}, map[string]any{"port": 80}}}),
			live:    svc(map[string]any{"clusterIP": "10.0.0.7", "clusterIPs": []any{"10.0.0.7"}, "ports": []any{port(80, 30080)}}),
			want: map[string]any{"clusterIP": "10.0.0.7", "clusterIPs": []any{"10.0.0.7"},
				"ports": []any{map[string]any{"port": int64(443), "protocol": "TCP", "nodePort": Unknown}, port(80, 30080)}},
		},
		"create: the manifest asks for allocation with an empty cluster IP": {
			after:   svc(map[string]any{"clusterIP": "10.0.0.0"}),
			desired: svc(map[string]any{"clusterIP": ""}),
			want:    map[string]any{"clusterIP": Unknown},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			markUnknown(tc.after, tc.desired, tc.live)
			if diff := cmp.Diff(tc.want, tc.after.Object["spec"]); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("a Job's controller-uid labels", func(t *testing.T) {
		job := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job",
			"metadata": map[string]any{"name": "j"},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"batch.kubernetes.io/controller-uid": "dry-run-uid"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{
					"app": "j", "controller-uid": "dry-run-uid", "batch.kubernetes.io/controller-uid": "dry-run-uid"}}},
			}}}
		markUnknown(job, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job"}}, nil)
		want := map[string]any{"app": "j", "controller-uid": Unknown, "batch.kubernetes.io/controller-uid": Unknown}
		got, _, _ := unstructured.NestedMap(job.Object, "spec", "template", "metadata", "labels")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("template labels (-want +got):\n%s", diff)
		}
	})

	t.Run("other kinds are left alone", func(t *testing.T) {
		cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"spec": map[string]any{"clusterIP": "10.0.0.0"}}}
		markUnknown(cm, &unstructured.Unstructured{Object: map[string]any{}}, nil)
		if cm.Object["spec"].(map[string]any)["clusterIP"] != "10.0.0.0" {
			t.Errorf("ConfigMap changed: %v", cm.Object)
		}
	})
}

func TestReplaceEffect(t *testing.T) {
	sts := func(spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": spec}}
	}
	claims := []any{map[string]any{"metadata": map[string]any{"name": "data"}}}
	tests := map[string]struct {
		obj  *unstructured.Unstructured
		want string
	}{
		"statefulset keeps its claims": {sts(map[string]any{"volumeClaimTemplates": claims}),
			"the StatefulSet is deleted and created again: all its pods are deleted at once, not one by one, and restart; " +
				"its PersistentVolumeClaims are kept and reused by the new pods, so a change to volumeClaimTemplates does not reach existing claims"},
		"statefulset deletes its claims": {sts(map[string]any{"volumeClaimTemplates": claims,
			"persistentVolumeClaimRetentionPolicy": map[string]any{"whenDeleted": "Delete"}}),
			"the StatefulSet is deleted and created again: all its pods are deleted at once, not one by one, and restart; " +
				"its PersistentVolumeClaims are deleted with it (persistentVolumeClaimRetentionPolicy whenDeleted: Delete) and their data is lost"},
		"claim": {&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim"}},
			"the PersistentVolumeClaim is deleted and created again: its volume and the data on it are deleted unless the PersistentVolume's reclaim policy is Retain"},
		"deployment": {&unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment"}},
			"the Deployment is deleted and created again: all its pods are deleted at once and restart"},
		"other": {&unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget"}},
			"the Widget is deleted and created again; the objects it owns are deleted with it"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ReplaceEffect(tc.obj); got != tc.want {
				t.Errorf("ReplaceEffect = %q\nwant           %q", got, tc.want)
			}
		})
	}
}
