package planner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/helm"
	"github.com/strata-gitops/strata/providers/kustomize"
)

// renderInputs are the attributes of a kustomization or release whose
// values shape what it renders: when one of them is unknown (a variable
// without a value at validate), the block is not rendered.
var renderInputs = []string{
	"path", "target_namespace", "name_prefix", "name_suffix", "components", "common_labels",
	"common_annotations", "substitute", "patch", "image",
	"name", "namespace", "chart", "values", "values_files",
}

// rendered is one object a block renders, with the file it comes from.
type rendered struct {
	block config.Block
	file  string // relative to the stack directory
	obj   *unstructured.Unstructured
}

// Validate checks, without a cluster, what the local blocks of a loaded
// stack render: every kustomization and release without a source is
// rendered, and a file that does not build or leads outside the stack
// directory, an object without kind or name, an invalid object name, and
// an object that two blocks render are reported as diagnostics at the
// block's path or chart attribute, naming the file. Suspended blocks and
// blocks whose rendering depends on a value not known yet are skipped.
func Validate(ctx context.Context, st *config.Stack) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var all []rendered
	crdScopes := map[string]string{} // group/kind -> scope, from the CRDs rendered
	for _, b := range st.Blocks() {
		if blockSkipped(b) {
			continue
		}
		var objs []rendered
		var d *hcl.Diagnostic
		switch b := b.(type) {
		case *config.Kustomization:
			objs, d = renderLocalKustomization(ctx, st.Dir, b)
		case *config.Release:
			objs, d = renderLocalChart(st.Dir, b)
		}
		if d != nil {
			diags = append(diags, d)
			continue
		}
		for _, o := range objs {
			if o.obj.GetKind() == "CustomResourceDefinition" {
				g, _, _ := unstructured.NestedString(o.obj.Object, "spec", "group")
				k, _, _ := unstructured.NestedString(o.obj.Object, "spec", "names", "kind")
				s, _, _ := unstructured.NestedString(o.obj.Object, "spec", "scope")
				crdScopes[g+"/"+k] = s
			}
			if d := checkObject(o); d != nil {
				diags = append(diags, d)
			}
		}
		all = append(all, objs...)
	}
	diags = append(diags, duplicateObjects(all, crdScopes)...)
	return scrub(diags, st.SensitiveValues())
}

// scrub replaces every sensitive value of the stack in the diagnostics'
// texts with "(sensitive value)", in every form plan and apply look for
// (escaped, base64; a short value where it is quoted), as a last line of
// defence like the loader's.
func scrub(diags hcl.Diagnostics, secrets []string) hcl.Diagnostics {
	s := plan.NewSecrets(secrets...)
	if s.Empty() {
		return diags
	}
	for _, d := range diags {
		d.Summary, d.Detail = s.Scrub(d.Summary), s.Scrub(d.Detail)
	}
	return diags
}

// blockSkipped reports whether Validate does not render b: it has a source,
// is suspended, takes values from the cluster, decrypts SOPS files, or a
// render input is unknown.
func blockSkipped(b config.Block) bool {
	switch b := b.(type) {
	case *config.Kustomization:
		// A block with a decryption block renders with keys that validate
		// does not read: plan decrypts.
		if b.Source != nil || b.Suspend || b.Decryption != nil {
			return true
		}
	case *config.Release:
		// values_from values come from the cluster, which validate never
		// reads: a chart may need them to render. SOPS keys neither.
		if b.Source != nil || b.Suspend || b.IsSet("source") || len(b.ValuesFrom) > 0 || b.Decryption != nil {
			return true
		}
	default:
		return true
	}
	for _, u := range b.BlockMeta().Unknown {
		for _, in := range renderInputs {
			if u == in || strings.HasPrefix(u, in+".") || strings.HasPrefix(u, in+"[") {
				return true
			}
		}
	}
	return false
}

// renderLocalKustomization builds k from the stack directory.
func renderLocalKustomization(ctx context.Context, dir string, k *config.Kustomization) ([]rendered, *hcl.Diagnostic) {
	objs, err := renderKustomization(ctx, k, dir, renderOptions{origins: true})
	if err != nil {
		summary := "Kustomization does not build"
		if errors.Is(err, kustomize.ErrOutsideRoot) {
			summary = "Path outside the stack directory"
		}
		return nil, blockDiag(&k.Meta, "path", summary, "%s. Fix the kustomization's files; validate renders every kustomization without a source.", err)
	}
	out := make([]rendered, 0, len(objs))
	for _, o := range objs {
		file := kustomize.Origin(k.Path, o)
		if file == "" {
			file = filepath.ToSlash(filepath.Join(k.Path, "kustomization.yaml"))
		}
		a := o.GetAnnotations()
		delete(a, kustomize.OriginAnnotation)
		o.SetAnnotations(a)
		out = append(out, rendered{block: k, file: file, obj: o})
	}
	return out, nil
}

// renderLocalChart renders the chart of r from the stack directory.
func renderLocalChart(dir string, r *config.Release) ([]rendered, *hcl.Diagnostic) {
	// The remediation settings too: the delete hooks that the remediation
	// of a failed install or upgrade runs are checked as plan checks them.
	spec := helm.ReleaseSpec{Name: r.Name, Namespace: r.Namespace, Values: r.Values, DisableHooks: r.Install.DisableHooks,
		Install: helm.InstallRemediation{Retries: r.Install.Remediation.Retries,
			KeepLastFailure: !r.Install.Remediation.RemediateLastFailure},
		Upgrade: helm.UpgradeRemediation{Retries: r.Upgrade.Remediation.Retries,
			Strategy:        helm.Remediation(r.Upgrade.Remediation.Strategy),
			KeepLastFailure: !r.Upgrade.Remediation.RemediateLastFailure},
		Uninstall: helm.UninstallOptions{DisableHooks: r.Uninstall.DisableHooks}}
	chart, err := chartDir(dir, r.Chart)
	if err == nil {
		spec.ChartPath = chart
		if spec.ValuesFiles, err = valuesFiles(dir, r); err != nil {
			return nil, blockDiag(&r.Meta, "values_files", "Invalid values file",
				"%s of %s. List files that exist inside the stack directory.", capitalized(err.Error()), r.Address())
		}
	}
	if err == nil {
		if f := encryptedValuesFile(spec.ValuesFiles, r.ValuesFiles); f != "" {
			return nil, blockDiag(&r.Meta, "values_files", "Encrypted values file",
				"The values file %s is SOPS-encrypted, and %s has no decryption block. Add decryption { provider = \"sops\" } with the key, so that plan decrypts it.", f, r.Address())
		}
	}
	var objs []helm.RenderedObject
	if err == nil {
		objs, err = helm.RenderOffline(spec)
	}
	if uh := (*helm.UnnamedHookError)(nil); errors.As(err, &uh) {
		// The error plan reports at the release; it names no value.
		return nil, blockDiag(&r.Meta, "chart", "Helm hook without a name",
			"strata plan refuses %s: %s.", r.Address(), uh.Error())
	}
	var vf *helm.ValuesFileError
	if errors.As(err, &vf) {
		return nil, blockDiag(&r.Meta, "values_files", "Values file does not parse",
			"The values file %s of %s cannot be read: %s. Fix the file, or the values_files list.",
			relTo(dir, vf.File), r.Address(), vf.Err)
	}
	if err != nil && len(r.SensitivePaths) > 0 {
		return nil, blockDiag(&r.Meta, "chart", "Chart does not render",
			"Rendering the chart %s of %s failed; the error is not shown because the release's values hold sensitive values. Run strata plan, or helm template with the values, to see it.",
			r.Chart, r.Address())
	}
	if err != nil {
		return nil, blockDiag(&r.Meta, "chart", "Chart does not render",
			"Rendering the chart %s of %s failed: %s. Fix the chart or its values; validate renders every chart without a source.",
			r.Chart, r.Address(), err)
	}
	out := make([]rendered, 0, len(objs))
	for _, o := range objs {
		// Templates are named CHART_NAME/templates/...: make them relative
		// to the stack.
		_, rest, _ := strings.Cut(o.Template, "/")
		out = append(out, rendered{block: r, file: filepath.ToSlash(filepath.Join(r.Chart, rest)), obj: o.Object})
	}
	return out, nil
}

// checkObject reports an object whose kind, name or namespace the API
// server would refuse.
func checkObject(o rendered) *hcl.Diagnostic {
	b := o.block
	attr := blockPathAttr(b)
	kind, name, ns := o.obj.GetKind(), o.obj.GetName(), o.obj.GetNamespace()
	if kind == "" || name == "" {
		return blockDiag(b.BlockMeta(), attr, "Object without kind or name",
			"%s renders an object without kind or metadata.name from %s. Every object needs both.", b.Address(), o.file)
	}
	rule, problems := nameRule(o.obj)
	if len(problems) > 0 {
		return blockDiag(b.BlockMeta(), attr, "Invalid object name",
			"%s renders %s %s from %s, and a %s name must be %s: %s.", b.Address(), kind, shown(b, name), o.file, kind, rule, strings.Join(problems, "; "))
	}
	if ns != "" {
		if problems := validation.IsDNS1123Label(ns); len(problems) > 0 {
			return blockDiag(b.BlockMeta(), attr, "Invalid object namespace",
				"%s renders %s %s from %s in namespace %s, which is not a valid namespace name: %s.", b.Address(), kind, shown(b, name), o.file, shown(b, ns), strings.Join(problems, "; "))
		}
	}
	return nil
}

// shown quotes a rendered name for a diagnostic, unless the block uses
// sensitive values, which the name may hold.
func shown(b config.Block, s string) string {
	if len(b.BlockMeta().SensitivePaths) > 0 {
		return "(name not shown: the block uses sensitive values)"
	}
	return fmt.Sprintf("%q", s)
}

// nameRule returns the rule the API server applies to the name of obj
// and what the name breaks of it. Some names end up in label values
// (at most 63 characters), with a suffix for some: the API server refuses
// a Job whose name does not fit its pods' job-name label, and a CronJob
// whose name does not fit that of its Jobs; the StatefulSet controller
// cannot create pods for a StatefulSet whose name does not fit their
// controller-revision-hash label (the name, "-" and a hash of up to 10
// characters), which the API server accepts.
func nameRule(obj *unstructured.Unstructured) (string, []string) {
	gk := obj.GroupVersionKind().GroupKind()
	name := obj.GetName()
	switch {
	case gk.Group == "" && gk.Kind == "Namespace":
		return "a DNS-1123 label (at most 63 characters)", validation.IsDNS1123Label(name)
	case gk.Group == "" && gk.Kind == "Service":
		return "a DNS-1035 label (at most 63 characters, starting with a letter)", validation.IsDNS1035Label(name)
	case gk.Group == "rbac.authorization.k8s.io":
		return "a path segment", pathvalidation.IsValidPathSegmentName(name)
	case gk.Group == "batch" && gk.Kind == "Job":
		if manual, _, _ := unstructured.NestedBool(obj.Object, "spec", "manualSelector"); !manual {
			return labelBound(name, validation.LabelValueMaxLength, "its pods' job-name label")
		}
	case gk.Group == "batch" && gk.Kind == "CronJob":
		return labelBound(name, validation.LabelValueMaxLength-11, "the names of its Jobs (the name, \"-\" and a timestamp of up to 10 digits) in a label")
	case gk.Group == "apps" && gk.Kind == "StatefulSet":
		return labelBound(name, validation.LabelValueMaxLength-11, "its pods' controller-revision-hash label (the name, \"-\" and a hash of up to 10 characters), without which the controller creates no pod")
	}
	return "a DNS-1123 subdomain", validation.IsDNS1123Subdomain(name)
}

// labelBound returns the rule of a name that must be a DNS-1123 subdomain
// of at most max characters so that it fits where, in a label value.
func labelBound(name string, max int, where string) (string, []string) {
	rule := fmt.Sprintf("a DNS-1123 subdomain of at most %d characters, to fit %s", max, where)
	problems := validation.IsDNS1123Subdomain(name)
	if len(name) > max {
		problems = append(problems, fmt.Sprintf("must be no more than %d characters", max))
	}
	return rule, problems
}

// clusterScoped lists the built-in kinds that live outside namespaces.
var clusterScoped = map[string]bool{
	"/Namespace": true, "/Node": true, "/PersistentVolume": true, "/ComponentStatus": true,
	"rbac.authorization.k8s.io/ClusterRole": true, "rbac.authorization.k8s.io/ClusterRoleBinding": true,
	"apiextensions.k8s.io/CustomResourceDefinition": true, "apiregistration.k8s.io/APIService": true,
	"storage.k8s.io/StorageClass": true, "storage.k8s.io/CSIDriver": true, "storage.k8s.io/CSINode": true,
	"storage.k8s.io/VolumeAttachment": true, "scheduling.k8s.io/PriorityClass": true,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration":   true,
	"admissionregistration.k8s.io/MutatingWebhookConfiguration":     true,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicy":        true,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding": true,
	"networking.k8s.io/IngressClass":                                true, "node.k8s.io/RuntimeClass": true,
	"certificates.k8s.io/CertificateSigningRequest": true,
	"flowcontrol.apiserver.k8s.io/FlowSchema":       true, "flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration": true,
}

// duplicateObjects reports every object that a second block renders too.
// An object without namespace lands in the release's namespace (Helm) or
// "default" (kustomize) unless its kind is cluster-scoped.
func duplicateObjects(all []rendered, crdScopes map[string]string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	first := map[string]rendered{}
	for _, o := range all {
		gk := o.obj.GroupVersionKind().GroupKind()
		ns := o.obj.GetNamespace()
		if ns == "" && !clusterScoped[gk.Group+"/"+gk.Kind] && crdScopes[gk.Group+"/"+gk.Kind] != "Cluster" {
			ns = "default"
			if r, ok := o.block.(*config.Release); ok {
				ns = r.Namespace
			}
		}
		key := gk.Group + "/" + gk.Kind + "/" + ns + "/" + o.obj.GetName()
		prev, seen := first[key]
		if !seen {
			first[key] = o
			continue
		}
		if prev.block == o.block {
			continue // a chart or kustomization's own business
		}
		b := o.block
		id := gk.Kind + " " + o.obj.GetName()
		if ns != "" {
			id = gk.Kind + " " + ns + "/" + o.obj.GetName()
		}
		if len(b.BlockMeta().SensitivePaths) > 0 || len(prev.block.BlockMeta().SensitivePaths) > 0 {
			id = "A " + gk.Kind + " (name not shown: the blocks use sensitive values)"
		}
		diags = append(diags, blockDiag(b.BlockMeta(), blockPathAttr(b), "Object rendered by two blocks",
			"%s is rendered by %s (from %s) and by %s (from %s). An object belongs to one block: remove it from one of them.",
			id, prev.block.Address(), prev.file, b.Address(), o.file))
	}
	return diags
}

// blockPathAttr is the attribute a block's rendering problems point at.
func blockPathAttr(b config.Block) string {
	if _, ok := b.(*config.Release); ok {
		return "chart"
	}
	return "path"
}

// blockDiag is an error at the attribute attr of a block (its header when
// attr is not set).
func blockDiag(m *config.Meta, attr, summary, format string, args ...any) *hcl.Diagnostic {
	rng := m.Range(attr)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &rng,
	}
}

// relTo returns file relative to dir, with forward slashes, or file when
// it is not inside dir.
func relTo(dir, file string) string {
	if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return file
}
