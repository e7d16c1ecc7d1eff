package fluximport

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	yaml "go.yaml.in/yaml/v3"
)

var notEnv = regexp.MustCompile(`[^A-Z0-9_]`)

// strataKustomizationTimeout is strata's default kustomization timeout.
const strataKustomizationTimeout = 5 * time.Minute

// kustomization translates a Kustomization.
func (im *importer) kustomization(body *hclwrite.Body, o *object) {
	s := o.spec
	checkSubst(o)
	blk := hclwrite.NewBlock("kustomization", []string{im.names["kustomization"][o.ref()]})
	b := blk.Body()
	prune, set := s.boolean("prune")
	if !set && s.line("prune") == s.line("") {
		*o.errs = append(*o.errs, fmt.Errorf("%s:%d: Kustomization %s: spec.prune is required", o.file, s.line(""), o.ref()))
	}
	if o.ref() == bootstrap {
		o.leave(o.line, "metadata.name", "flux bootstrap's Kustomization deploys Flux itself and the Flux objects this import translates; strata needs no counterpart (the GitRepository it uses is kept)")
		im.omit(body, o, blk)
		return
	}
	if !im.kustomizationSource(b, o) {
		im.omit(body, o, blk)
		return
	}
	if p := path.Clean("/" + s.str("path")); p != "/" {
		setStr(b, "path", strings.TrimPrefix(p, "/"))
	}
	setBool(b, "prune", prune)
	interval, _ := s.duration("interval")
	timeout, tset := s.duration("timeout")
	if !tset {
		timeout = interval // Flux's default timeout is the interval
	}
	im.waitAndChecks(b, s)
	if force, _ := s.boolean("force"); force {
		setBool(b, "force", true)
	}
	if timeout != 0 && timeout != strataKustomizationTimeout {
		setDuration(b, "timeout", timeout)
	}
	if interval != 0 {
		setDuration(b, "interval", interval)
	}
	if sus, _ := s.boolean("suspend"); sus {
		setBool(b, "suspend", true)
	}
	if tn := s.str("targetNamespace"); tn != "" {
		setStr(b, "target_namespace", tn)
	}
	postBuild(b, s.child("postBuild"))
	if p := s.str("namePrefix"); p != "" {
		setStr(b, "name_prefix", p)
	}
	if p := s.str("nameSuffix"); p != "" {
		setStr(b, "name_suffix", p)
	}
	if cm := s.child("commonMetadata"); cm.valid() {
		if l := cm.strMap("labels"); len(l) > 0 {
			setStrMap(b, "common_labels", l)
		}
		if a := cm.strMap("annotations"); len(a) > 0 {
			setStrMap(b, "common_annotations", a)
		}
	}
	if c := s.strs("components"); len(c) > 0 {
		setStrs(b, "components", c)
	}
	if sa := s.str("serviceAccountName"); sa != "" {
		setStr(b, "service_account", o.namespace+"/"+sa)
	}
	im.dependsOn(b, o, "Kustomization", "kustomization")
	patches(b, s)
	images(b, s)
	kustomizationLeftovers(s)
	emit(body, o, blk)
}

// kustomizationSource writes the source attribute; false when the source
// cannot be expressed, so that the block is left out.
func (im *importer) kustomizationSource(b *hclwrite.Body, o *object) bool {
	sr := o.spec.child("sourceRef")
	if !sr.valid() {
		*o.errs = append(*o.errs, fmt.Errorf("%s:%d: Kustomization %s: spec.sourceRef is required", o.file, o.spec.line(""), o.ref()))
		return false
	}
	kind, r := sourceRef(sr, o)
	switch kind {
	case "GitRepository":
		if _, ok := im.byKind["GitRepository"][r]; !ok {
			o.leave(sr.line("name"), sr.path, fmt.Sprintf("GitRepository %s is not among the imported manifests: the kustomization is left out; import it too", r))
			return false
		}
		b.SetAttributeRaw("source", refTokens("source", "git", im.names["git"][r]))
		return true
	case "OCIRepository":
		if _, ok := im.byKind["OCIRepository"][r]; !ok {
			o.leave(sr.line("name"), sr.path, fmt.Sprintf("OCIRepository %s is not among the imported manifests: the kustomization is left out; import it too", r))
			return false
		}
		b.SetAttributeRaw("source", refTokens("source", "oci", im.names["oci"][r]))
		return true
	case "Bucket":
		o.leave(sr.line("kind"), sr.at("kind"), "strata has no bucket source: the kustomization is left out (commented); copy the manifests into a Git repository")
	default:
		*o.errs = append(*o.errs, fmt.Errorf("%s:%d: Kustomization %s: spec.sourceRef.kind %q is not a Kustomization source (GitRepository, OCIRepository, Bucket)", o.file, sr.line("kind"), o.ref(), kind))
	}
	return false
}

// omit writes, instead of the block of o, a comment that says why it is
// left out.
func (im *importer) omit(body *hclwrite.Body, o *object, blk *hclwrite.Block) {
	o.spec.ignore(keysOf(o.spec.n)...)
	comment(body, fmt.Sprintf("%s %s (%s:%d)", o.kind, o.ref(), o.file, o.line))
	notes(body, o)
	comment(body, fmt.Sprintf("TODO(strata import): %s %q is left out, for the reason above.", blk.Type(), blk.Labels()[0]))
}

func keysOf(n *yaml.Node) []string {
	var ks []string
	for i := 0; n != nil && i+1 < len(n.Content); i += 2 {
		ks = append(ks, n.Content[i].Value)
	}
	return ks
}

// waitAndChecks translates wait (Flux's default: false) and healthChecks,
// which Flux ignores when wait is true. strata's health checks, like
// Flux's, are waited for without wait: with wait false the apply waits for
// them only.
func (im *importer) waitAndChecks(b *hclwrite.Body, s fields) {
	wait, _ := s.boolean("wait")
	checks := s.children("healthChecks")
	s.leave("healthCheckExprs", "strata has no custom health check expressions; it waits for the standard readiness of each object")
	setBool(b, "wait", wait)
	if wait {
		for _, c := range checks {
			c.ignore(keysOf(c.n)...)
		}
		return
	}
	for _, c := range checks {
		hb := b.AppendNewBlock("health_check", nil).Body()
		setStr(hb, "api_version", c.required("apiVersion"))
		setStr(hb, "kind", c.required("kind"))
		setStr(hb, "name", c.required("name"))
		if ns := c.str("namespace"); ns != "" {
			setStr(hb, "namespace", ns)
		}
	}
}

// postBuild translates substitute; substituteFrom reads ConfigMaps and
// Secrets of the cluster, which strata does not.
func postBuild(b *hclwrite.Body, pb fields) {
	if !pb.valid() {
		return
	}
	if sub := pb.strMap("substitute"); len(sub) > 0 {
		setStrMap(b, "substitute", sub)
	}
	for _, sf := range pb.children("substituteFrom") {
		kind, name := sf.str("kind"), sf.required("name")
		opt, _ := sf.boolean("optional")
		pb.o.leave(sf.line("name"), sf.path, fmt.Sprintf("strata reads no %s for substitutions: copy the data of %s %s/%s (optional: %t) into substitute, through a sensitive variable for a Secret",
			kind, kind, pb.o.namespace, name, opt))
	}
}

// dependsOn writes depends_on from Flux's dependsOn, which names objects of
// the same kind.
func (im *importer) dependsOn(b *hclwrite.Body, o *object, kind, cat string) {
	var refs []hclwrite.Tokens
	for _, d := range o.spec.children("dependsOn") {
		r := ref{namespace: d.str("namespace"), name: d.required("name")}
		d.leave("readyExpr", "strata has no readiness expressions; a dependency is ready when its apply succeeded")
		d.ignore("apiVersion", "kind")
		if r.namespace == "" {
			r.namespace = o.namespace
		}
		switch {
		case im.byKind[kind][r] == nil:
			o.leave(d.line("name"), d.path, fmt.Sprintf("%s %s is not among the imported manifests; the dependency is left out", kind, r))
		case im.isOmitted(kind, r):
			o.leave(d.line("name"), d.path, fmt.Sprintf("%s %s is left out of the stack; so is this dependency", kind, r))
		default:
			refs = append(refs, refTokens(cat, im.names[cat][r]))
		}
	}
	if len(refs) > 0 {
		b.SetAttributeRaw("depends_on", hclwrite.TokensForTuple(refs))
	}
}

// patches translates patches, and v1beta2's patchesStrategicMerge and
// patchesJson6902.
func patches(b *hclwrite.Body, s fields) {
	for _, p := range s.children("patches") {
		patch(b, p.str("patch"), p.child("target"))
	}
	if v := s.take("patchesStrategicMerge"); v != nil {
		for _, e := range v.Content {
			patch(b, yamlText(e), fields{})
		}
	}
	for _, p := range s.children("patchesJson6902") {
		patch(b, yamlText(p.take("patch")), p.child("target"))
	}
}

func patch(b *hclwrite.Body, text string, target fields) {
	pb := b.AppendNewBlock("patch", nil).Body()
	setStr(pb, "patch", text)
	if !target.valid() {
		return
	}
	tb := pb.AppendNewBlock("target", nil).Body()
	for _, kv := range [][2]string{{"group", "group"}, {"version", "version"}, {"kind", "kind"}, {"name", "name"},
		{"namespace", "namespace"}, {"label_selector", "labelSelector"}, {"annotation_selector", "annotationSelector"}} {
		if v := target.str(kv[1]); v != "" {
			setStr(tb, kv[0], v)
		}
	}
}

// yamlText renders a YAML node as a document.
func yamlText(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return ""
	}
	return buf.String()
}

func images(b *hclwrite.Body, s fields) {
	for _, img := range s.children("images") {
		ib := b.AppendNewBlock("image", nil).Body()
		setStr(ib, "name", img.required("name"))
		for _, kv := range [][2]string{{"new_name", "newName"}, {"new_tag", "newTag"}, {"digest", "digest"}} {
			if v := img.str(kv[1]); v != "" {
				setStr(ib, kv[0], v)
			}
		}
	}
}

// kustomizationLeftovers records the Kustomization settings strata has no
// counterpart of.
func kustomizationLeftovers(s fields) {
	s.leave("retryInterval", "strata does not retry on its own; run `strata apply` again")
	s.leave("decryption", "strata does not decrypt SOPS-encrypted manifests; decrypt them before the apply or keep the secrets out of the repository")
	s.leave("kubeConfig", "strata applies to the cluster of the stack's cluster block; use a stack per cluster")
	if dp := s.str("deletionPolicy"); dp != "" && dp != "MirrorPrune" {
		s.o.leave(s.line("deletionPolicy"), s.at("deletionPolicy"), fmt.Sprintf("strata has no deletion policy %s: a removed kustomization's objects are pruned", dp))
	}
	s.ignore("validation") // deprecated in v1beta2, ignored by Flux
}
