package helm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	jsonpatch "github.com/evanphx/json-patch"
	"golang.org/x/sync/errgroup"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/releaseutil"
	apiextv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/yaml"

	strkube "github.com/strata-gitops/strata/providers/kube"
)

const (
	annotationPolicy      = "helm.sh/resource-policy"
	policyKeep            = "keep"
	diffConcurrency       = 8
	maxDiffAttempts       = 5 // dry runs of one object while controllers write to it
	reasonDriftEdited     = "edited in the cluster"
	reasonDriftDeleted    = "deleted from the cluster"
	reasonAfterCRD        = "kind not served yet: its CRD is created first"
	reasonNamespaceLater  = "namespace created first"
	reasonCreateNamespace = "create_namespace: created by the install"
)

// object is one object of a manifest: built by Helm's kube client (info), or
// only parsed when its kind is not served yet (a CRD of the same release).
type object struct {
	ref  strkube.ObjectRef
	info *resource.Info
	raw  *unstructured.Unstructured
	// template is the chart's template the object comes from (the
	// manifest's "# Source:" comment), "" when not said.
	template string
}

// buildManifest splits a release manifest into objects, in manifest order.
func buildManifest(kc kube.Interface, manifest string) ([]object, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []object
	for _, k := range keys {
		doc := docs[k]
		infos, err := kc.Build(strings.NewReader(doc), false)
		if err != nil {
			if !isNoMatch(err) {
				return nil, err
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				return nil, fmt.Errorf("parse manifest: %w", err)
			}
			if len(u.Object) == 0 {
				continue
			}
			out = append(out, object{ref: strkube.RefOf(u), raw: u, template: templateOf(doc)})
			continue
		}
		for _, info := range infos {
			out = append(out, object{ref: refOfInfo(info), info: info, template: templateOf(doc)})
		}
	}
	return out, nil
}

// templateOf returns the template a document of a release manifest comes
// from: its leading "# Source: CHART/templates/x.yaml" comment.
func templateOf(doc string) string {
	doc = strings.TrimLeft(doc, "-\n")
	rest, ok := strings.CutPrefix(doc, "# Source: ")
	if !ok {
		return ""
	}
	line, _, _ := strings.Cut(rest, "\n")
	return strings.TrimSpace(line)
}

func isNoMatch(err error) bool {
	if meta.IsNoMatchError(err) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "no matches for kind") || strings.Contains(s, "resource mapping not found")
}

type refKey struct {
	group, kind, namespace, name string
}

func keyOf(r strkube.ObjectRef) refKey { return refKey{r.Group, r.Kind, r.Namespace, r.Name} }

// diffRelease computes the per-object changes an install (old == "") or an
// upgrade from the manifest old to new would make, by sending Helm's own
// patch of every object as a server-side dry run. Objects that would not
// change are left out. drifted is set for objects whose change does not
// come from the manifests (edited or deleted in the cluster).
func (m *Manager) diffRelease(ctx context.Context, kc kube.Interface, name, namespace, old, new string, force bool,
	crds *strkube.CRDSchemas, owner strkube.Owner) (changes []strkube.Change, drifted int, err error) {
	targets, err := buildManifest(kc, new)
	if err != nil {
		return nil, 0, fmt.Errorf("build rendered manifest: %w", err)
	}
	var originals []object
	if old != "" {
		if originals, err = buildManifest(kc, old); err != nil {
			return nil, 0, fmt.Errorf("build deployed manifest: %w", err)
		}
	}
	orig := make(map[refKey]object, len(originals))
	for _, o := range originals {
		orig[keyOf(o.ref)] = o
	}
	inTarget := make(map[refKey]bool, len(targets))
	for _, t := range targets {
		inTarget[keyOf(t.ref)] = true
	}
	var deletes []object
	for _, o := range originals {
		if !inTarget[keyOf(o.ref)] && o.info != nil {
			deletes = append(deletes, o)
		}
	}

	results := make([]strkube.Change, len(targets)+len(deletes))
	drift := make([]bool, len(results))
	errs := make([]error, len(results))
	var g errgroup.Group
	g.SetLimit(diffConcurrency)
	for i := range results {
		g.Go(func() error {
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return nil
			}
			if i < len(targets) {
				t := targets[i]
				o, had := orig[keyOf(t.ref)]
				results[i], drift[i], errs[i] = m.diffTarget(ctx, t, o, had, name, namespace, force, crds, owner)
			} else {
				results[i], errs[i] = diffDelete(deletes[i-len(targets)])
			}
			return nil
		})
	}
	_ = g.Wait()
	for i, c := range results {
		if errs[i] != nil {
			var oe *strkube.ObjectError
			if i < len(targets) && errors.As(errs[i], &oe) && oe.File == "" {
				oe.File = targets[i].template
			}
			return nil, 0, errs[i]
		}
		if c.Action == strkube.ActionNoop || c.Action == "" {
			continue
		}
		if drift[i] {
			drifted++
		}
		changes = append(changes, c)
	}
	return changes, drifted, nil
}

// setHelmMetadata adds the labels and annotations Helm puts on every object
// of a release.
func setHelmMetadata(u *unstructured.Unstructured, name, namespace string) {
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[strkube.HelmManagedByLabel] = "Helm"
	u.SetLabels(l)
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[strkube.HelmReleaseNameAnnotation] = name
	a[strkube.HelmReleaseNSAnnotation] = namespace
	u.SetAnnotations(a)
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// diffTarget plans one rendered object: a create when it does not exist,
// else the dry run of the patch Helm's upgrade would send.
func (m *Manager) diffTarget(ctx context.Context, t, o object, had bool, name, namespace string, force bool,
	crds *strkube.CRDSchemas, owner strkube.Owner) (strkube.Change, bool, error) {
	c := strkube.Change{Ref: t.ref, Action: strkube.ActionCreate}
	if t.info == nil {
		return afterCRD(c, t.raw, crds)
	}
	target, err := toUnstructured(t.info.Object)
	if err != nil {
		return c, false, err
	}
	target = target.DeepCopy()
	setHelmMetadata(target, name, namespace)
	t.info.Object = target
	c.Desired = target
	helper := resource.NewHelper(t.info.Client, t.info.Mapping)
	liveObj, err := helper.Get(t.info.Namespace, t.info.Name)
	if apierrors.IsNotFound(err) {
		created, err := helper.DryRun(true).Create(t.info.Namespace, true, target)
		switch {
		case err == nil:
			u, err := toUnstructured(created)
			if err != nil {
				return c, false, err
			}
			_, c.After, _ = strkube.Compare(nil, u, target)
		case isNamespaceNotFound(err):
			c.Reason = reasonNamespaceLater
			_, c.After, _ = strkube.Compare(nil, target, nil)
		default:
			return c, false, &strkube.ObjectError{Ref: t.ref, Op: "diff", Err: err}
		}
		if had {
			c.Reason = reasonDriftDeleted
		}
		return c, had, nil
	}
	if err != nil {
		return c, false, &strkube.ObjectError{Ref: t.ref, Op: "get", Err: err}
	}
	live, err := toUnstructured(liveObj)
	if err != nil {
		return c, false, err
	}
	c.LiveUID, c.LiveResourceVersion = string(live.GetUID()), live.GetResourceVersion()
	if !had && !strkube.HelmOwns(live, name, namespace) {
		// Helm checks an object that the deployed release does not have
		// and refuses to install over it unless it carries the release's
		// metadata: the planner makes this an adoption or a plan error.
		c.Unowned, c.HelmRelease = true, strkube.HelmReleaseOf(live)
		c.Owner, c.OtherStack, c.OwnerBlock = strkube.StrataOwnerOf(live, owner)
	}
	original := runtime.Object(live)
	if had && o.info != nil {
		original = o.info.Object
	}
	after, live, err := dryRunUpdate(helper, t, original, live, target, force, had && o.info != nil)
	if err != nil {
		return c, false, err
	}
	if after == nil {
		c.Action = strkube.ActionNoop
		return c, false, nil
	}
	c.LiveUID, c.LiveResourceVersion = string(live.GetUID()), live.GetResourceVersion()
	c.Before, c.After, c.Fields = strkube.Compare(live, after, target)
	if len(c.Fields) == 0 {
		c.Action = strkube.ActionNoop
		return c, false, nil
	}
	c.Action = strkube.ActionUpdate
	// The change is drift when the object's manifest did not change.
	drift := had && o.info != nil && sameObject(o.info.Object, target, name, namespace)
	if drift {
		c.Reason = reasonDriftEdited
	}
	return c, drift, nil
}

// dryRunUpdate returns the server's answer to the update an upgrade would
// send to bring live to target (Helm's patch, or a replace with force), and
// the live object that answer was computed on; a nil answer when the patch
// is empty. The dry run answers with the resourceVersion of the object it
// patched: when a controller wrote to the object between the read of live
// and the dry run (a Deployment's revision annotation after a rollout), the
// object is read again and the dry run repeated, so that the controller's
// write is not shown as a change of the release. fromManifest is set when
// original is the deployed manifest's object rather than live itself.
func dryRunUpdate(helper *resource.Helper, t object, original runtime.Object, live, target *unstructured.Unstructured, force, fromManifest bool) (after, base *unstructured.Unstructured, err error) {
	for attempt := 0; ; attempt++ {
		var merged runtime.Object
		if force {
			obj := target.DeepCopy()
			obj.SetResourceVersion(live.GetResourceVersion())
			merged, err = helper.DryRun(true).Replace(t.info.Namespace, t.info.Name, true, obj)
		} else {
			patch, pt, perr := helmPatch(t.info, original, live)
			if perr != nil {
				return nil, nil, &strkube.ObjectError{Ref: t.ref, Op: "diff", Err: perr}
			}
			if len(patch) == 0 || string(patch) == "{}" {
				return nil, live, nil
			}
			merged, err = helper.DryRun(true).Patch(t.info.Namespace, t.info.Name, pt, patch, nil)
		}
		if err != nil && !(force && apierrors.IsConflict(err) && attempt < maxDiffAttempts-1) {
			return nil, nil, &strkube.ObjectError{Ref: t.ref, Op: "diff", Err: err}
		}
		if err == nil {
			if after, err = toUnstructured(merged); err != nil {
				return nil, nil, err
			}
			if after.GetResourceVersion() == live.GetResourceVersion() || attempt == maxDiffAttempts-1 {
				return after, live, nil
			}
		}
		fresh, err := helper.Get(t.info.Namespace, t.info.Name)
		if err != nil {
			return nil, nil, &strkube.ObjectError{Ref: t.ref, Op: "get", Err: err}
		}
		if live, err = toUnstructured(fresh); err != nil {
			return nil, nil, err
		}
		if !fromManifest {
			original = live
		}
	}
}

// afterCRD plans the create of an object whose kind the cluster does not
// serve yet: checked against its planned CRD, if any (the chart's crds/,
// or a block applied first), with the schema's defaults in After.
func afterCRD(c strkube.Change, raw *unstructured.Unstructured, crds *strkube.CRDSchemas) (strkube.Change, bool, error) {
	c.Reason, c.Desired = reasonAfterCRD, raw
	after, crd, err := crds.Check(raw)
	if err != nil {
		return c, false, &strkube.ObjectError{Ref: c.Ref, Op: "schema check", Err: err}
	}
	if crd == nil {
		after = raw
	} else {
		c.SchemaOnly, c.AfterCRD = true, crd.Object.GetName()
		c.Reason = "after CRD " + crd.Object.GetName() + " (" + crd.By + "); " + strkube.ReasonSchemaOnly
	}
	_, c.After, _ = strkube.Compare(nil, after, nil)
	return c, false, nil
}

// sameObject reports whether the deployed manifest's object equals the
// rendered one (before Helm's metadata, which the deployed one lacks).
func sameObject(deployed runtime.Object, target *unstructured.Unstructured, name, namespace string) bool {
	d, err := toUnstructured(deployed)
	if err != nil {
		return false
	}
	d = d.DeepCopy()
	setHelmMetadata(d, name, namespace)
	db, _ := json.Marshal(d.Object)
	tb, _ := json.Marshal(target.Object)
	return string(db) == string(tb)
}

// helmPatch is the patch Helm's kube client sends to update target from
// original given the live object (helm.sh/helm/v3/pkg/kube createPatch): a
// three-way strategic merge patch for built-in kinds, a JSON merge patch of
// original and target for custom resources.
func helmPatch(target *resource.Info, original, live runtime.Object) ([]byte, types.PatchType, error) {
	oldData, err := json.Marshal(original)
	if err != nil {
		return nil, "", err
	}
	newData, err := json.Marshal(target.Object)
	if err != nil {
		return nil, "", err
	}
	currentData, err := json.Marshal(live)
	if err != nil {
		return nil, "", err
	}
	versioned := kube.AsVersioned(target)
	_, isUnstructured := versioned.(runtime.Unstructured)
	_, isCRD := versioned.(*apiextv1beta1.CustomResourceDefinition)
	if isUnstructured || isCRD {
		patch, err := jsonpatch.CreateMergePatch(oldData, newData)
		return patch, types.MergePatchType, err
	}
	patchMeta, err := strategicpatch.NewPatchMetaFromStruct(versioned)
	if err != nil {
		return nil, "", err
	}
	patch, err := strategicpatch.CreateThreeWayMergePatch(oldData, newData, currentData, patchMeta, true)
	return patch, types.StrategicMergePatchType, err
}

// diffDelete plans the deletion of an object the new manifest drops.
func diffDelete(o object) (strkube.Change, error) {
	c := strkube.Change{Ref: o.ref, Action: strkube.ActionDelete}
	live, err := resource.NewHelper(o.info.Client, o.info.Mapping).Get(o.info.Namespace, o.info.Name)
	if apierrors.IsNotFound(err) {
		c.Action = strkube.ActionNoop
		return c, nil
	}
	if err != nil {
		return c, &strkube.ObjectError{Ref: o.ref, Op: "get", Err: err}
	}
	u, err := toUnstructured(live)
	if err != nil {
		return c, err
	}
	if u.GetAnnotations()[annotationPolicy] == policyKeep {
		c.Action = strkube.ActionNoop
		return c, nil
	}
	c.LiveUID, c.LiveResourceVersion = string(u.GetUID()), u.GetResourceVersion()
	c.Before, _, _ = strkube.Compare(u, nil, nil)
	return c, nil
}

func isNamespaceNotFound(err error) bool {
	var se *apierrors.StatusError
	if !apierrors.IsNotFound(err) || !errors.As(err, &se) || se.ErrStatus.Details == nil {
		return false
	}
	return se.ErrStatus.Details.Kind == "namespaces"
}

// Drift compares the objects of the deployed revision of release name in
// namespace with the cluster, with the very patch an upgrade to the same
// manifest would send (a server-side dry run per object): the changes it
// returns are objects edited (fields named, Secret values masked) or
// deleted outside Helm and strata. A release without a deployed revision
// has no drift.
func (m *Manager) Drift(ctx context.Context, name, namespace string) ([]strkube.Change, error) {
	cfg, err := m.readConfig(ctx, namespace)
	if err != nil {
		return nil, err
	}
	_, deployed, err := releases(cfg, name)
	if err != nil || deployed == nil {
		return nil, err
	}
	changes, _, err := m.diffRelease(ctx, cfg.KubeClient, name, namespace, deployed.Manifest, deployed.Manifest, false, nil, strkube.Owner{})
	if err != nil {
		return nil, fmt.Errorf("release %s/%s: %w", namespace, name, err)
	}
	return changes, nil
}
