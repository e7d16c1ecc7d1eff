package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
)

// ScanOptions configure Manager.ScanMetadata.
type ScanOptions struct {
	// Selector is the label selector of the list requests, e.g. the
	// ownership labels of one block. An object it does not match is looked
	// up by name.
	Selector string
	// Concurrency bounds parallel list requests (default
	// Options.Concurrency of the manager).
	Concurrency int
	// Shared, if set, holds the lists of the whole check that the scan
	// takes its objects from instead of listing them itself (see
	// SharedScan); Selector then chooses among them.
	Shared *SharedScan
}

// LiveMetadata is what ScanMetadata found of one object.
type LiveMetadata struct {
	// Exists is false when the object, or its kind, is gone.
	Exists bool
	// Listed is false for an object that exists but does not match the
	// selector any more (its labels were changed); such an object carries
	// only its UID.
	Listed          bool
	UID             string
	ResourceVersion string
	// FieldSets and FieldsHash are the field sets of FieldManager and
	// their hash (see FieldSets) of a listed object.
	FieldSets  []map[string]any
	FieldsHash string
}

// ScanMetadata reads the metadata of the objects refs name, with one list
// request (metadata only, paginated) per resource and namespace, and a
// get for each object the list does not return; with opts.Shared, the
// lists of the whole check (see SharedScan). The result has one entry
// per ref, in order. A ref whose kind the cluster does not serve is not an
// error: its object does not exist. The manager's impersonation applies.
func (m *Manager) ScanMetadata(ctx context.Context, refs []ObjectRef, opts ScanOptions) ([]LiveMetadata, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = m.opts.Concurrency
	}
	mc, err := metadata.NewForConfig(m.cfg)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	from := scanFrom{selector: opts.Selector, shared: opts.Shared}
	if opts.Shared != nil {
		if from.sel, err = labels.Parse(opts.Selector); err != nil {
			return nil, fmt.Errorf("selector %q: %w", opts.Selector, err)
		}
	}
	type group struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	out := make([]LiveMetadata, len(refs))
	groups := map[group][]int{}
	var keys []group
	for i, r := range refs {
		mp, err := m.Mapping(ctx, r.GroupVersionKind())
		if err != nil {
			if meta.IsNoMatchError(err) {
				continue // the kind itself is gone
			}
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		ns := r.Namespace
		if mp.Scope.Name() != meta.RESTScopeNameNamespace {
			ns = ""
		}
		g := group{mp.Resource, ns}
		if _, ok := groups[g]; !ok {
			keys = append(keys, g)
		}
		groups[g] = append(groups[g], i)
	}
	err = forEach(ctx, len(keys), opts.Concurrency, func(ctx context.Context, gi int) error {
		g := keys[gi]
		// Each index belongs to one group: no two calls write the same
		// entry of out.
		return m.scanGroup(ctx, mc, g.gvr, g.ns, from, refs, groups[g], out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanFrom is where a scan takes its objects from: its own lists with
// selector, or the lists of shared, matching them with sel.
type scanFrom struct {
	selector string
	shared   *SharedScan
	sel      labels.Selector
}

// scanGroup lists the objects of one resource and namespace (or takes
// them from the shared lists) and fills the entries of out at idx.
func (m *Manager) scanGroup(ctx context.Context, mc metadata.Interface, gvr schema.GroupVersionResource, ns string, from scanFrom,
	refs []ObjectRef, idx []int, out []LiveMetadata) error {
	rif := scanResource(mc, gvr, ns)
	var live, other map[string]*scanned
	if from.shared != nil {
		l := from.shared.list(ctx, m, mc, gvr, ns)
		if l.err != nil {
			return fmt.Errorf("list %s: %w", gvr.Resource, l.err)
		}
		names := make([]string, len(idx))
		for j, i := range idx {
			names[j] = refs[i].Name
		}
		live, other = l.take(names, from.sel)
	} else {
		var err error
		if live, err = listMetadata(ctx, rif, from.selector); err != nil {
			return fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
	}
	for _, i := range idx {
		if o := live[refs[i].Name]; o != nil {
			out[i] = o.meta
			continue
		}
		// Not listed: deleted, or its labels were changed.
		if o := other[refs[i].Name]; o != nil {
			out[i] = LiveMetadata{Exists: true, UID: o.meta.UID}
			continue
		}
		got, err := rif.Get(ctx, refs[i].Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("get %s: %w", refs[i], err)
		default:
			out[i] = LiveMetadata{Exists: true, UID: string(got.UID)}
		}
	}
	return nil
}

// scanResource is the metadata client of resource gvr in namespace ns ("":
// cluster-scoped).
func scanResource(mc metadata.Interface, gvr schema.GroupVersionResource, ns string) metadata.ResourceInterface {
	if ns != "" {
		return mc.Resource(gvr).Namespace(ns)
	}
	return mc.Resource(gvr)
}

// scanned is what a list found of one object: its metadata as a scan
// that lists it reports it, and its labels (which the scans of a shared
// list match).
type scanned struct {
	meta   LiveMetadata
	labels map[string]string
}

// listMetadata lists the metadata of the objects of rif that selector
// matches, by name, in pages of 2,000. It keeps of each object only what
// a scan reports (its field sets read here, as each page arrives), not
// the listed metadata: the lists of a whole check are held until their
// blocks are checked.
func listMetadata(ctx context.Context, rif metadata.ResourceInterface, selector string) (map[string]*scanned, error) {
	live := map[string]*scanned{}
	cont := ""
	for {
		list, err := rif.List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 2000, Continue: cont})
		if err != nil {
			return nil, err
		}
		for j := range list.Items {
			o := &list.Items[j]
			sets, hash := FieldSets(o.ManagedFields)
			live[o.Name] = &scanned{labels: o.Labels, meta: LiveMetadata{Exists: true, Listed: true, UID: string(o.UID),
				ResourceVersion: o.ResourceVersion, FieldSets: sets, FieldsHash: hash}}
		}
		if cont = list.Continue; cont == "" {
			return live, nil
		}
	}
}
