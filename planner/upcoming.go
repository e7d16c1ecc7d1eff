package planner

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/graph"
	"github.com/strata-gitops/strata/providers/kube"
)

// upcoming records what the blocks planned so far create or change that
// the blocks depending on them may use before it exists in the cluster:
// CustomResourceDefinitions (created, or their spec changed, by a
// kustomization, by a release's crds/ directory or its templates) and
// namespaces (created by a kustomization, or by a release's
// create_namespace), and which block renders each object (an object that
// two blocks render is a plan error, see ownershipError). A block sees the
// CRDs and namespaces its dependencies plan, direct or transitive, and
// nothing else: other blocks may apply after it, or at the same time.
type upcoming struct {
	graph      *graph.Graph
	crds       map[string][]plannedCRD // by planning block
	namespaces map[string][]string     // by planning block
	rendered   map[string]string       // refKey -> block that renders the object
}

// plannedCRD is a CRD a block plans, and whether it creates it.
type plannedCRD struct {
	crd     kube.PlannedCRD
	kind    schema.GroupKind
	created bool
}

func newUpcoming(g *graph.Graph) *upcoming {
	return &upcoming{graph: g, crds: map[string][]plannedCRD{}, namespaces: map[string][]string{}, rendered: map[string]string{}}
}

// record notes what the changes of block addr create or change.
func (u *upcoming) record(addr string, changes []kube.Change) {
	for _, c := range changes {
		if c.Desired == nil {
			continue
		}
		switch {
		case c.RedefinesKind():
			u.crds[addr] = append(u.crds[addr], plannedCRD{crd: kube.PlannedCRD{Object: c.Desired, By: addr},
				kind: kube.CRDKind(c.Desired), created: c.Action == kube.ActionCreate})
		case c.Ref.Group == "" && c.Ref.Kind == "Namespace" && c.Action == kube.ActionCreate:
			u.namespaces[addr] = append(u.namespaces[addr], c.Ref.Name)
		}
	}
}

// upstream returns the CRDs and namespaces (with the block creating each)
// that the dependencies of block b plan.
func (u *upcoming) upstream(b config.Address) ([]kube.PlannedCRD, map[string]string) {
	var crds []kube.PlannedCRD
	namespaces := map[string]string{}
	for _, a := range u.graph.Ancestors(b) {
		if a == b {
			continue
		}
		for _, p := range u.crds[a.String()] {
			crds = append(crds, p.crd)
		}
		for _, ns := range u.namespaces[a.String()] {
			namespaces[ns] = a.String()
		}
	}
	return crds, namespaces
}

// checkOrder refuses objects of block b whose kind only a CRD that another
// block creates in this plan defines, or whose namespace only another block
// creates, when b does not depend on that block: the kind or namespace may
// not exist yet when b applies. The error says which dependency to add.
func (u *upcoming) checkOrder(b config.Address, r *renderedSet, crds []kube.PlannedCRD, namespaces map[string]string) error {
	kinds := maps.Clone(r.crdKinds)
	for _, p := range crds {
		kinds[kube.CRDKind(p.Object)] = true
	}
	var errs []string
	for _, ref := range r.refs {
		gk := ref.GroupKind()
		if by, name := u.crdCreator(gk); by != "" && by != b.String() && !kinds[gk] {
			errs = append(errs, fmt.Sprintf("%s is of kind %s, whose CRD %s is created by %s in this plan, "+
				"but %s does not depend on %s: add it to depends_on", ref, gk, name, by, b, by))
		}
		ns := ref.Namespace
		if by := u.namespaceCreator(ns); by != "" && by != b.String() && !r.namespaces[ns] && namespaces[ns] == "" {
			errs = append(errs, fmt.Sprintf("%s is in namespace %s, which %s creates in this plan, "+
				"but %s does not depend on %s: add it to depends_on", ref, ns, by, b, by))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.Sort(errs)
	return fmt.Errorf("%s: %s", b, strings.Join(slices.Compact(errs), "; "))
}

// namespaceCreator returns the block that creates namespace ns in this
// plan, or "".
func (u *upcoming) namespaceCreator(ns string) string {
	if ns == "" {
		return ""
	}
	for _, by := range keys(u.namespaces) {
		if slices.Contains(u.namespaces[by], ns) {
			return by
		}
	}
	return ""
}

// crdCreator returns the block that creates the CRD of kind gk in this
// plan, and the CRD's name; "" when none does.
func (u *upcoming) crdCreator(gk schema.GroupKind) (string, string) {
	for _, by := range keys(u.crds) {
		for _, p := range u.crds[by] {
			if p.created && p.kind == gk {
				return by, p.crd.Object.GetName()
			}
		}
	}
	return "", ""
}

// renderedSet is what checkOrder needs of a kustomization's render: the
// references of its objects, the kinds its CRDs define and the namespaces
// it creates. The plan keeps it, not the rendered objects, which are
// released once the block is diffed.
type renderedSet struct {
	refs       []kube.ObjectRef
	crdKinds   map[schema.GroupKind]bool
	namespaces map[string]bool
}

// newRenderedSet summarises the rendered objects objs.
func newRenderedSet(objs []*unstructured.Unstructured) *renderedSet {
	r := &renderedSet{refs: make([]kube.ObjectRef, len(objs)), crdKinds: map[schema.GroupKind]bool{}, namespaces: map[string]bool{}}
	for i, o := range objs {
		ref := kube.RefOf(o)
		r.refs[i] = ref
		switch {
		case ref.Group == "apiextensions.k8s.io" && ref.Kind == "CustomResourceDefinition":
			r.crdKinds[kube.CRDKind(o)] = true
		case ref.Group == "" && ref.Kind == "Namespace":
			r.namespaces[ref.Name] = true
		}
	}
	return r
}
