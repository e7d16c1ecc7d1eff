package kube

import (
	"sort"
	"strings"
)

// kindOrder is the apply order of well-known kinds, as Flux's ssa
// ReconcileOrder has it: cluster definitions first, webhooks last.
var kindOrder = func() map[string]int {
	first := []string{
		"CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterClass", "RuntimeClass",
		"PriorityClass", "StorageClass", "VolumeSnapshotClass", "IngressClass", "GatewayClass",
		"ClusterRoleBinding", "ResourceQuota", "ServiceAccount", "Role", "RoleBinding", "ConfigMap",
		"Secret", "Service", "LimitRange", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
	}
	last := []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
	m := make(map[string]int, len(first)+len(last))
	for i, k := range first {
		m[k] = i - len(first)
	}
	for i, k := range last {
		m[k] = i + 1
	}
	return m
}()

// Stage numbers of the apply.
const (
	stageDefinitions = 0 // CRDs, Namespaces, ClusterRoles, *Class kinds
	stageObjects     = 1 // everything else
)

// stageOf returns the apply stage of an object kind.
func stageOf(r ObjectRef) int {
	switch {
	case isCRDRef(r), isNamespaceRef(r),
		r.Group == "rbac.authorization.k8s.io" && r.Kind == "ClusterRole",
		strings.HasSuffix(r.Kind, "Class"):
		return stageDefinitions
	}
	return stageObjects
}

func isCRDRef(r ObjectRef) bool {
	return r.Group == "apiextensions.k8s.io" && r.Kind == "CustomResourceDefinition"
}

func isNamespaceRef(r ObjectRef) bool { return r.Group == "" && r.Kind == "Namespace" }

// lessRef orders references for applying: by stage, kind order, group, kind,
// namespace and name.
func lessRef(a, b ObjectRef) bool {
	if sa, sb := stageOf(a), stageOf(b); sa != sb {
		return sa < sb
	}
	if ka, kb := kindOrder[a.Kind], kindOrder[b.Kind]; ka != kb {
		return ka < kb
	}
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// deleteGroup is the position of a kind in the delete order: ordinary
// objects (custom resources among them) first, then other definitions, CRDs,
// and namespaces last.
func deleteGroup(r ObjectRef) int {
	switch {
	case isNamespaceRef(r):
		return 3
	case isCRDRef(r):
		return 2
	case stageOf(r) == stageDefinitions:
		return 1
	}
	return 0
}

// sortChanges puts changes in apply order: writes by lessRef, then deletes
// by delete group (and reverse apply order inside a group).
func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		da, db := a.Action == ActionDelete, b.Action == ActionDelete
		if da != db {
			return !da
		}
		if da {
			if ga, gb := deleteGroup(a.Ref), deleteGroup(b.Ref); ga != gb {
				return ga < gb
			}
			return lessRef(b.Ref, a.Ref)
		}
		return lessRef(a.Ref, b.Ref)
	})
}
