package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// diffReplace describes the replace of an object whose dry run was refused
// because an immutable field changes. The field diff is limited to the
// fields the manifest sets, as the server's answer is missing.
func (m *Manager) diffReplace(ctx context.Context, t *target, cause error, opts DiffOptions, known trust) (Change, error) {
	c := Change{Ref: t.ref, Desired: t.obj, Action: ActionReplace}
	live, err := t.ri.Get(ctx, t.ref.Name, metav1.GetOptions{})
	if err != nil {
		return c, &ObjectError{Ref: t.ref, Op: "get", Err: err}
	}
	m.fillLive(&c, live, opts, known)
	reason := immutableMessage(cause)
	c.Immutable = immutableFields(cause)
	if c.Reason != "" {
		reason = c.Reason + "; " + reason
	}
	c.Reason = reason
	before := normalize(live)
	c.LiveDigest = liveDigest(live, before)
	desired := normalize(t.obj)
	c.Fields = diffFields(project(before.Object, desired.Object).(map[string]any), desired.Object)
	if isSecret(t.obj) {
		maskFields(c.Fields)
	}
	c.Before, c.After = mask(before), mask(desired)
	return c, nil
}

// project returns the parts of live that desired sets: maps are limited to
// desired's keys, lists of named maps matched by name, other lists by index.
func project(live, desired any) any {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return live
		}
		out := make(map[string]any, len(d))
		for k, dv := range d {
			if lv, ok := l[k]; ok {
				out[k] = project(lv, dv)
			}
		}
		return out
	case []any:
		l, ok := live.([]any)
		if !ok {
			return live
		}
		ln, _, lok := names(l)
		_, dn, dok := names(d)
		out := make([]any, 0, len(l))
		if lok && dok {
			for i, name := range dn {
				if j, ok := ln[name]; ok {
					out = append(out, project(l[j], d[i]))
				}
			}
			return out
		}
		for i := range l {
			if i < len(d) {
				out = append(out, project(l[i], d[i]))
			} else {
				out = append(out, l[i])
			}
		}
		return out
	}
	return live
}

// ImmutableRefusal is the API server's refusal of a write to an object
// because it changes an immutable field.
type ImmutableRefusal struct {
	Ref ObjectRef
	// Message is "immutable field changes: FIELD: REASON; ...".
	Message string
	// Fields are the fields the server names.
	Fields []string
}

// ImmutableRefusalOf returns the refusal err is (an *ObjectError whose
// server error refuses an immutable field change), or nil.
func ImmutableRefusalOf(err error) *ImmutableRefusal {
	var oe *ObjectError
	if !errors.As(err, &oe) || !isImmutable(oe.Err) {
		return nil
	}
	return &ImmutableRefusal{Ref: oe.Ref, Message: immutableMessage(oe.Err), Fields: immutableFields(oe.Err)}
}

// isImmutable reports whether the server refused a write because it changes
// an immutable field.
func isImmutable(err error) bool {
	if !apierrors.IsInvalid(err) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"immutable", "may not change once set", "cannot be changed", "cannot change",
		"for fields other than",            // a StatefulSet's spec apart from replicas, template, ...
		"may not change fields other than", // a Pod's spec apart from images, ...
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// immutableMessage extracts the server's reason from an Invalid error: the
// causes when it has them, otherwise the message.
func immutableMessage(err error) string {
	return "immutable field changes: " + invalidCauses(err)
}

// invalidCauses returns the server's reasons of an Invalid error: its
// causes ("FIELD: REASON; ...", without the refused values) when it has
// them, otherwise its message.
func invalidCauses(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		if d := se.Status().Details; d != nil && len(d.Causes) > 0 {
			parts := make([]string, 0, len(d.Causes))
			for _, c := range d.Causes {
				if c.Field != "" {
					parts = append(parts, c.Field+": "+trimValue(c.Message))
				} else {
					parts = append(parts, trimValue(c.Message))
				}
			}
			return strings.Join(parts, "; ")
		}
	}
	return err.Error()
}

// immutableFields returns the fields an Invalid error names.
func immutableFields(err error) []string {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range se.Status().Details.Causes {
		if c.Field != "" {
			out = append(out, c.Field)
		}
	}
	return out
}

// trimValue drops the "Invalid value: <dump>: " prefix of a cause: the dump
// can be a whole pod template.
func trimValue(msg string) string {
	if i := strings.LastIndex(msg, ": "); strings.HasPrefix(msg, "Invalid value:") && i > 0 {
		return msg[i+2:]
	}
	return msg
}
