package kube

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

// checkOwner checks that o names a stack and a block, and that each of its
// names can be a label value.
func checkOwner(o Owner) error {
	if o.Stack == "" || o.Block == "" {
		return errors.New("stack and block are required")
	}
	for _, v := range []string{o.Stack, o.StackID, o.Block} {
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("%q cannot be a label value: %s", v, strings.Join(errs, "; "))
		}
	}
	return nil
}

func (o DiffOptions) owner() Owner  { return Owner{Stack: o.Stack, StackID: o.StackID, Block: o.Block} }
func (o ApplyOptions) owner() Owner { return Owner{Stack: o.Stack, StackID: o.StackID, Block: o.Block} }
func (o PruneOptions) owner() Owner { return Owner{Stack: o.Stack, StackID: o.StackID, Block: o.Block} }

// SetOwner sets the ownership labels of o on the objects: LabelStack,
// LabelBlock and, when o.StackID is set, LabelStackID.
func SetOwner(objs []*unstructured.Unstructured, o Owner) {
	for _, obj := range objs {
		l := obj.GetLabels()
		if l == nil {
			l = make(map[string]string, 3)
		}
		l[LabelStack] = o.Stack
		l[LabelBlock] = o.Block
		if o.StackID != "" {
			l[LabelStackID] = o.StackID
		}
		obj.SetLabels(l)
	}
}

// ownership is how a live object relates to a block.
type ownership int

const (
	ownedByBlock ownership = iota // carries the block's labels
	unlabelled                    // carries no strata labels
	otherBlock                    // owned by another block of the stack
	otherStack                    // owned by another stack
)

// trust is what the caller knows of a live object besides its labels.
type trust int

const (
	// trustRendered: the block renders the object and its state does not
	// list it.
	trustRendered trust = iota
	// trustIntent: an apply of the block was about to write the object
	// (state.Block.Intents). Only a strata that writes stack ids records
	// intents, so the object is the block's only with the stack's id.
	trustIntent
	// trustRecorded: the block's state lists the object; an older strata may
	// have labelled it with the stack's name and no id.
	trustRecorded
)

// ownershipOf tells how live relates to the block o, and describes its
// strata owner ("" when it has none): "stack/block", with the stack id in
// parentheses when the object carries one. An object the block's state
// records (t == trustRecorded) with o's name and no stack id is the stack's;
// one recorded or intended and labelled with one of former is the block's.
// Without o.StackID, stacks are matched by name alone.
func ownershipOf(live *unstructured.Unstructured, o Owner, t trust, former []string) (ownership, string) {
	l := live.GetLabels()
	s, id, b := l[LabelStack], l[LabelStackID], l[LabelBlock]
	if s == "" && id == "" && b == "" {
		return unlabelled, ""
	}
	who := s + "/" + b
	switch {
	case id != "":
		who += " (stack id " + id + ")"
	case o.StackID != "":
		who += " (no stack id: applied by strata before stack ids)"
	}
	var sameStack bool
	switch {
	case o.StackID == "":
		sameStack = s == o.Stack
	case id != "":
		sameStack = id == o.StackID
	default:
		sameStack = t == trustRecorded && s == o.Stack
	}
	switch {
	case !sameStack:
		return otherStack, who
	case b != o.Block && !(t != trustRendered && slices.Contains(former, b)):
		return otherBlock, who
	}
	return ownedByBlock, who
}

// Helm's ownership metadata, which Helm sets on every object of a release
// and checks before it installs over an existing object.
const (
	HelmManagedByLabel        = "app.kubernetes.io/managed-by"
	HelmReleaseNameAnnotation = "meta.helm.sh/release-name"
	HelmReleaseNSAnnotation   = "meta.helm.sh/release-namespace"
	helmManagedByValue        = "Helm"
)

// HelmReleaseOf returns "namespace/name" of the Helm release whose
// ownership annotations live carries, "" when it carries none.
func HelmReleaseOf(live *unstructured.Unstructured) string {
	a := live.GetAnnotations()
	if a[HelmReleaseNameAnnotation] == "" {
		return ""
	}
	return a[HelmReleaseNSAnnotation] + "/" + a[HelmReleaseNameAnnotation]
}

// HelmOwns reports whether Helm counts live as an object of release
// namespace/name: it carries Helm's managed-by label and the release's
// annotations. Helm refuses to install or upgrade over an existing object
// it does not count as the release's, unless it takes ownership.
func HelmOwns(live *unstructured.Unstructured, name, namespace string) bool {
	a := live.GetAnnotations()
	return live.GetLabels()[HelmManagedByLabel] == helmManagedByValue &&
		a[HelmReleaseNameAnnotation] == name && a[HelmReleaseNSAnnotation] == namespace
}

// StrataOwnerOf describes the strata owner of live when it is not block
// o's, as Change.Owner, Change.OtherStack and Change.OwnerBlock do; owner is
// "" when live carries no strata labels or is o's.
func StrataOwnerOf(live *unstructured.Unstructured, o Owner) (owner string, ofAnotherStack bool, block string) {
	rel, who := ownershipOf(live, o, trustRendered, nil)
	if rel == ownedByBlock || rel == unlabelled {
		return "", false, ""
	}
	return who, rel == otherStack, live.GetLabels()[LabelBlock]
}
