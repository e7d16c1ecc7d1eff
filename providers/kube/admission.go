package kube

import (
	"context"
	"slices"
	"sync"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// admissionScope says which objects the cluster's admission chain may
// judge differently from when they were last applied: those a
// ValidatingAdmissionPolicy with a binding, or a validating or mutating
// webhook, matches by resource and namespace. Diff dry-runs them even when
// they look unchanged (the fast no-change path skips the dry run), so
// that a policy added to the cluster since is never missed. Exclusions and
// match conditions are not evaluated: they can only add dry runs.
type admissionScope struct {
	all   bool // the configuration could not be read: dry-run everything
	rules []admissionRule

	mu         sync.Mutex
	namespaces map[string]*namespaceEntry
	get        func(ctx context.Context, ns string) (labels.Set, error)
}

// namespaceEntry holds the labels of one namespace, read once.
type namespaceEntry struct {
	once   sync.Once
	labels labels.Set // nil: not found
	err    error      // the read failed: the namespace matches every selector
}

// admissionRule is what one policy binding or webhook matches.
type admissionRule struct {
	rules      []admissionv1.RuleWithOperations
	namespaces []*metav1.LabelSelector // each must match; nil: all
}

var (
	gvrVAP      = admissionv1.SchemeGroupVersion.WithResource("validatingadmissionpolicies")
	gvrBinding  = admissionv1.SchemeGroupVersion.WithResource("validatingadmissionpolicybindings")
	gvrVWebhook = admissionv1.SchemeGroupVersion.WithResource("validatingwebhookconfigurations")
	gvrMWebhook = admissionv1.SchemeGroupVersion.WithResource("mutatingwebhookconfigurations")
)

// admissionScope reads the cluster's admission configuration, as the
// manager's own identity (not the impersonated service account). When it
// cannot (no permission to list it), every object is in scope.
func (m *Manager) admissionScope(ctx context.Context) *admissionScope {
	s := &admissionScope{namespaces: map[string]*namespaceEntry{}, get: m.namespaceLabels}
	policies := map[string]*admissionv1.ValidatingAdmissionPolicy{}
	var vaps admissionv1.ValidatingAdmissionPolicyList
	var bindings admissionv1.ValidatingAdmissionPolicyBindingList
	var vwh admissionv1.ValidatingWebhookConfigurationList
	var mwh admissionv1.MutatingWebhookConfigurationList
	lists := []struct {
		gvr schema.GroupVersionResource
		out any
	}{{gvrVAP, &vaps}, {gvrBinding, &bindings}, {gvrVWebhook, &vwh}, {gvrMWebhook, &mwh}}
	// One round trip for the four lists, not four.
	if err := forEach(ctx, len(lists), len(lists), func(ctx context.Context, i int) error {
		return m.listInto(ctx, lists[i].gvr, lists[i].out)
	}); err != nil {
		s.all = true
		return s
	}
	for i := range vaps.Items {
		policies[vaps.Items[i].Name] = &vaps.Items[i]
	}
	for _, b := range bindings.Items {
		p := policies[b.Spec.PolicyName]
		if p == nil || p.Spec.MatchConstraints == nil {
			continue
		}
		r := admissionRule{namespaces: []*metav1.LabelSelector{p.Spec.MatchConstraints.NamespaceSelector}}
		for _, rr := range p.Spec.MatchConstraints.ResourceRules {
			r.rules = append(r.rules, rr.RuleWithOperations)
		}
		if b.Spec.MatchResources != nil {
			r.namespaces = append(r.namespaces, b.Spec.MatchResources.NamespaceSelector)
		}
		s.rules = append(s.rules, r)
	}
	for _, c := range vwh.Items {
		for _, w := range c.Webhooks {
			s.rules = append(s.rules, admissionRule{rules: w.Rules, namespaces: []*metav1.LabelSelector{w.NamespaceSelector}})
		}
	}
	for _, c := range mwh.Items {
		for _, w := range c.Webhooks {
			s.rules = append(s.rules, admissionRule{rules: w.Rules, namespaces: []*metav1.LabelSelector{w.NamespaceSelector}})
		}
	}
	return s
}

func (m *Manager) listInto(ctx context.Context, gvr schema.GroupVersionResource, out any) error {
	c := m.own
	if c == nil {
		c = m.dyn
	}
	list, err := c.Resource(gvr).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(list.UnstructuredContent(), out)
}

func (m *Manager) namespaceLabels(ctx context.Context, ns string) (labels.Set, error) {
	c := m.own
	if c == nil {
		c = m.dyn
	}
	u, err := c.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return labels.Set(u.GetLabels()), nil
}

// covers reports whether an update of the object t may be judged by the
// admission chain.
func (s *admissionScope) covers(ctx context.Context, t *target) bool {
	if s == nil || t.mapping == nil {
		return false
	}
	if s.all {
		return true
	}
	gvr := t.mapping.Resource
	for _, r := range s.rules {
		if !slices.ContainsFunc(r.rules, func(rule admissionv1.RuleWithOperations) bool { return ruleMatches(rule, gvr) }) {
			continue
		}
		if t.ref.Namespace == "" || s.namespaceMatches(ctx, t.ref.Namespace, r.namespaces) {
			return true
		}
	}
	return false
}

func ruleMatches(r admissionv1.RuleWithOperations, gvr schema.GroupVersionResource) bool {
	op := slices.ContainsFunc(r.Operations, func(o admissionv1.OperationType) bool {
		return o == admissionv1.OperationAll || o == admissionv1.Update
	})
	return op && matchesAny(r.APIGroups, gvr.Group) && matchesAny(r.APIVersions, gvr.Version) &&
		slices.ContainsFunc(r.Resources, func(res string) bool { return res == "*" || res == "*/*" || res == gvr.Resource })
}

func matchesAny(list []string, s string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, s)
}

// namespaceMatches reports whether namespace ns matches every selector. A
// namespace that cannot be read (or does not exist yet) matches.
func (s *admissionScope) namespaceMatches(ctx context.Context, ns string, selectors []*metav1.LabelSelector) bool {
	// One read per namespace: the parallel diffs of a namespace's objects
	// wait for the first one's instead of each sending its own.
	e := entryOf(&s.mu, s.namespaces, ns)
	e.once.Do(func() { e.labels, e.err = s.get(ctx, ns) })
	set := e.labels
	if e.err != nil || set == nil {
		return true
	}
	for _, sel := range selectors {
		if sel == nil {
			continue
		}
		ls, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || !ls.Matches(set) {
			return err != nil
		}
	}
	return true
}
