package kube

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ReplaceEffect says, in a sentence fragment for a plan, what replacing the
// live object destroys: a replace deletes the object (with background
// propagation, so what it owns goes too) and then creates it again. For
// kinds that run pods or hold data it names the pods and the data.
func ReplaceEffect(live *unstructured.Unstructured) string {
	gvk := live.GroupVersionKind()
	head := fmt.Sprintf("the %s is deleted and created again", gvk.Kind)
	switch gvk.GroupKind().String() {
	case "StatefulSet.apps":
		return head + ": all its pods are deleted at once, not one by one, and restart; " + claimsEffect(live)
	case "Deployment.apps", "DaemonSet.apps", "ReplicaSet.apps", "ReplicationController":
		return head + ": all its pods are deleted at once and restart"
	case "Job.batch":
		return head + ": its pods are deleted and it runs again"
	case "CronJob.batch":
		return head + ": its Jobs and their pods are deleted"
	case "Pod":
		return head + ": its containers stop and start again"
	case "PersistentVolumeClaim":
		return head + ": its volume and the data on it are deleted unless the PersistentVolume's reclaim policy is Retain"
	case "PersistentVolume":
		policy, _, _ := unstructured.NestedString(live.Object, "spec", "persistentVolumeReclaimPolicy")
		if policy == "" {
			policy = "Retain"
		}
		return head + fmt.Sprintf(": its claim is released and, with the reclaim policy %s, the storage behind it may be deleted", policy)
	case "Namespace":
		return head + ": every object in it is deleted"
	case "CustomResourceDefinition.apiextensions.k8s.io":
		return head + ": every custom resource of it is deleted"
	case "Service":
		return head + ": it gets a new cluster IP (and node ports), and connections to it fail until it is back"
	}
	return head + "; the objects it owns are deleted with it"
}

// claimsEffect says what happens to the PersistentVolumeClaims of a
// StatefulSet's volumeClaimTemplates when the StatefulSet is deleted.
func claimsEffect(sts *unstructured.Unstructured) string {
	tpls, _, _ := unstructured.NestedSlice(sts.Object, "spec", "volumeClaimTemplates")
	if len(tpls) == 0 {
		return "it has no volume claim templates"
	}
	when, _, _ := unstructured.NestedString(sts.Object, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted")
	if when == "Delete" {
		return "its PersistentVolumeClaims are deleted with it (persistentVolumeClaimRetentionPolicy whenDeleted: Delete) and their data is lost"
	}
	return "its PersistentVolumeClaims are kept and reused by the new pods, so a change to volumeClaimTemplates does not reach existing claims"
}
