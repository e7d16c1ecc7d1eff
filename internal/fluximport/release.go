package fluximport

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// fluxReleaseTimeout is Flux's and strata's default release timeout.
const fluxReleaseTimeout = 5 * time.Minute

// chartInfo is where a release's chart comes from.
type chartInfo struct {
	source  []string // a block reference, e.g. source helm podinfo
	chart   string
	version string
}

// release translates a HelmRelease.
func (im *importer) release(body *hclwrite.Body, o *object) {
	s := o.spec
	checkSubst(o)
	block := im.names["release"][o.ref()]
	blk := hclwrite.NewBlock("release", []string{block})
	b := blk.Body()
	ns := s.str("targetNamespace")
	name := s.str("releaseName")
	switch {
	case name != "":
	case ns != "":
		name = ns + "-" + o.name
	default:
		name = o.name
	}
	if ns == "" {
		ns = o.namespace
	}
	if len(name) > 53 {
		o.leave(s.line("releaseName"), "spec.releaseName", fmt.Sprintf("Flux shortens the release name %q with a hash; set name to the name `helm list -n %s` shows", name, ns))
	}
	if name != block {
		setStr(b, "name", name)
	}
	setStr(b, "namespace", ns)
	storage := s.str("storageNamespace")
	if storage == "" {
		storage = o.namespace
	}
	if storage != ns {
		o.leave(s.line("storageNamespace"), "spec.storageNamespace", fmt.Sprintf("Flux keeps this release's Helm history in namespace %s and installs into %s; strata keeps both in %s", storage, ns, ns))
	}
	ci, ok := im.releaseChart(s)
	if !ok {
		im.omit(body, o, blk)
		return
	}
	b.SetAttributeRaw("source", refTokens(ci.source...))
	setStr(b, "chart", ci.chart)
	if ci.version != "" {
		setStr(b, "version", ci.version)
	}
	if v := s.take("values"); v != nil {
		if toks, err := valueTokens(v); err != nil {
			o.leave(v.Line, "spec.values", err.Error())
		} else {
			b.SetAttributeRaw("values", toks)
		}
	}
	im.releaseSettings(b, o, valuesFrom(s, ns))
	emit(body, o, blk)
}

// valuesFrom translates valuesFrom into values_from blocks, which strata
// merges in the same order (after values files, before values). Flux reads
// the objects in the HelmRelease's namespace, strata in the release's.
func valuesFrom(s fields, releaseNS string) []*hclwrite.Block {
	var blocks []*hclwrite.Block
	for _, vf := range s.children("valuesFrom") {
		kind, name, key, tp := vf.str("kind"), vf.required("name"), vf.str("valuesKey"), vf.str("targetPath")
		opt, _ := vf.boolean("optional")
		if kind != "Secret" && kind != "ConfigMap" {
			s.o.leave(vf.line("kind"), vf.at("kind"), fmt.Sprintf("%q is not a kind values are read from (Secret, ConfigMap); left out", kind))
			continue
		}
		if releaseNS != s.o.namespace {
			s.o.leave(vf.line("name"), vf.path, fmt.Sprintf("Flux reads %s %s/%s; strata reads values_from in the release's namespace %s: copy the %s there",
				kind, s.o.namespace, name, releaseNS, kind))
		}
		blk := hclwrite.NewBlock("values_from", nil)
		blocks = append(blocks, blk)
		vb := blk.Body()
		setStr(vb, "kind", kind)
		setStr(vb, "name", name)
		if key != "" && key != "values.yaml" {
			setStr(vb, "key", key)
		}
		if tp != "" {
			setStr(vb, "target_path", tp)
		}
		if opt {
			setBool(vb, "optional", true)
		}
	}
	return blocks
}

// releaseChart finds a release's chart: chart.spec or chartRef.
func (im *importer) releaseChart(s fields) (chartInfo, bool) {
	o := s.o
	if cr := s.child("chartRef"); cr.valid() {
		kind, r := sourceRef(cr, o)
		switch kind {
		case "OCIRepository":
			return im.ociChart(cr, r)
		case "HelmChart":
			hc := im.byKind["HelmChart"][r]
			if hc == nil {
				o.leave(cr.line("name"), cr.path, fmt.Sprintf("HelmChart %s is not among the imported manifests: the release is left out (commented)", r))
				return chartInfo{}, false
			}
			c, seen := im.charts[r]
			if !seen {
				mark := len(hc.own)
				c.info, c.ok = im.chartSpec(hc.spec, hc)
				hc.leftovers()
				c.notes = hc.own[mark:]
				im.charts[r] = c
			}
			o.own = append(o.own, c.notes...)
			return c.info, c.ok
		}
		*o.errs = append(*o.errs, fmt.Errorf("%s:%d: HelmRelease %s: spec.chartRef.kind %q must be OCIRepository or HelmChart", o.file, cr.line("kind"), o.ref(), kind))
		return chartInfo{}, false
	}
	c := s.child("chart")
	if !c.valid() {
		*o.errs = append(*o.errs, fmt.Errorf("%s:%d: HelmRelease %s: spec.chart or spec.chartRef is required", o.file, s.line(""), o.ref()))
		return chartInfo{}, false
	}
	c.ignore("metadata") // labels of the HelmChart object Flux creates
	return im.chartSpec(c.child("spec"), o)
}

// chartSpec translates a chart template's spec (or a HelmChart's).
func (im *importer) chartSpec(cs fields, o *object) (chartInfo, bool) {
	if !cs.valid() {
		*o.errs = append(*o.errs, fmt.Errorf("%s:%d: %s %s: %s is required", o.file, cs.line(""), o.kind, o.ref(), cs.path))
		return chartInfo{}, false
	}
	chart := cs.required("chart")
	ver := cs.str("version")
	kind, r := sourceRef(cs.child("sourceRef"), o)
	cs.ignore("interval", "ignoreMissingValuesFiles", "suspend")
	if rs := cs.str("reconcileStrategy"); rs == "Revision" {
		o.leave(cs.line("reconcileStrategy"), cs.at("reconcileStrategy"), "strata upgrades a release when its chart's version or content changes, not at every new source revision")
	}
	cs.leave("valuesFiles", "these are files of the chart's source, which strata does not read as values; copy them into the stack and list them in values_files")
	cs.leave("valuesFile", "this is a file of the chart's source, which strata does not read as values; copy it into the stack and list it in values_files")
	cs.leave("verify", "strata does not verify chart signatures (cosign, notation)")
	cs.leave("accessFrom", "strata has no cross-namespace access control for sources")
	switch kind {
	case "HelmRepository", "GitRepository":
		if _, ok := im.byKind[kind][r]; !ok {
			o.leave(cs.line("sourceRef"), cs.at("sourceRef"), fmt.Sprintf("%s %s is not among the imported manifests: the release is left out; import it too", kind, r))
			return chartInfo{}, false
		}
	}
	switch kind {
	case "HelmRepository":
		ci := chartInfo{source: []string{"source", "helm", im.names["helm"][r]}, chart: chart}
		ci.version = versionOf(cs, ver)
		return ci, true
	case "GitRepository":
		p := strings.TrimPrefix(path.Clean("/"+chart), "/")
		return chartInfo{source: []string{"source", "git", im.names["git"][r]}, chart: p}, true
	case "Bucket":
		o.leave(cs.line("sourceRef"), cs.at("sourceRef"), "strata has no bucket source: the release is left out (commented)")
		return chartInfo{}, false
	}
	*o.errs = append(*o.errs, fmt.Errorf("%s:%d: %s %s: %s.sourceRef.kind %q must be HelmRepository, GitRepository or Bucket", o.file, cs.line("sourceRef"), o.kind, o.ref(), cs.path, kind))
	return chartInfo{}, false
}

// versionOf translates a chart version constraint; "" for any version.
func versionOf(f fields, ver string) string {
	c, err := versionConstraint(ver)
	if err != nil {
		f.o.leave(f.line("version"), f.at("version"), err.Error()+"; set version in Terraform's syntax (left out: the highest version is taken)")
	}
	return c
}

// ociChart is the chart of an OCIRepository, read once for every release
// that uses it; the issues of its ref go to each of them.
func (im *importer) ociChart(cr fields, r ref) (chartInfo, bool) {
	o := cr.o
	src := im.byKind["OCIRepository"][r]
	if src == nil {
		o.leave(cr.line("name"), cr.path, fmt.Sprintf("OCIRepository %s is not among the imported manifests: the release is left out (commented)", r))
		return chartInfo{}, false
	}
	c, ok := im.ociCharts[r]
	if !ok {
		mark := len(src.own)
		c.info = ociChartOf(src, im.names["helm"][r])
		c.notes = src.own[mark:]
		im.ociCharts[r] = c
	}
	o.own = append(o.own, c.notes...)
	return c.info, true
}

// ociChartOf reads the chart and version of an OCIRepository.
func ociChartOf(src *object, block string) chartInfo {
	_, chart := splitChartURL(scalar(src.spec.n, "url"))
	ci := chartInfo{source: []string{"source", "helm", block}, chart: chart}
	ref := src.spec.child("ref")
	switch {
	case ref.has("digest"):
		src.leave(ref.line("digest"), ref.at("digest"), "strata selects chart versions, not digests; version is left out (the highest version is taken)")
	case ref.has("semver"):
		ci.version = versionOf(ref, ref.str("semver"))
		ref.leave("semverFilter", "strata has no version filter; restrict the constraint instead")
	case ref.has("tag"):
		tag := ref.str("tag")
		if c, err := versionConstraint(tag); err != nil || c == "" {
			src.leave(ref.line("tag"), ref.at("tag"), fmt.Sprintf("tag %q is not a chart version; version is left out (the highest version is taken)", tag))
		} else {
			ci.version = strings.TrimPrefix(tag, "v")
		}
	default:
		src.leave(src.line, "spec.ref", "Flux takes the tag latest; strata takes the highest version")
	}
	ref.ignore("tag", "semver", "digest", "semverFilter")
	return ci
}

// releaseSettings translates the install, upgrade, rollback, uninstall,
// test and drift detection settings and the release-wide ones, and writes
// the values_from blocks after the attributes.
func (im *importer) releaseSettings(b *hclwrite.Body, o *object, valuesFrom []*hclwrite.Block) {
	s := o.spec
	timeout, tset := s.duration("timeout")
	if !tset {
		timeout = fluxReleaseTimeout
	}
	ins, up, rb, un := s.child("install"), s.child("upgrade"), s.child("rollback"), s.child("uninstall")
	wait(b, s, timeout, ins, up, rb)
	if tset && timeout != fluxReleaseTimeout {
		setDuration(b, "timeout", timeout)
	}
	if d, ok := s.duration("interval"); ok {
		setDuration(b, "interval", d)
	}
	if n, ok := s.integer("maxHistory"); ok && n != 5 {
		setInt(b, "max_history", n)
	}
	if sus, _ := s.boolean("suspend"); sus {
		setBool(b, "suspend", true)
	}
	if sa := s.str("serviceAccountName"); sa != "" {
		setStr(b, "service_account", o.namespace+"/"+sa)
	}
	im.dependsOn(b, o, "HelmRelease", "release")
	for _, vf := range valuesFrom {
		b.AppendBlock(vf)
	}
	appendIf(b, install(ins))
	appendIf(b, upgrade(up))
	appendIf(b, rollback(rb))
	appendIf(b, uninstall(un))
	driftDetection(b, s.child("driftDetection"))
	if t := s.child("test"); t.valid() {
		t.leaveIf("enable", "strata does not run Helm tests; run `helm test` after the apply")
		t.ignore("timeout", "ignoreFailures", "filters")
	}
	s.leave("postRenderers", "strata has no post-renderers; move the patches into the chart or its values")
	s.leave("kubeConfig", "strata applies to the cluster of the stack's cluster block; use a stack per cluster")
	s.leave("commonMetadata", "strata does not add labels or annotations to a release's objects")
	s.ignore("persistentClient") // how helm-controller caches its client
}

// appendIf appends the nested block when it sets something.
func appendIf(b *hclwrite.Body, blk *hclwrite.Block) {
	if blk != nil && (len(blk.Body().Attributes()) > 0 || len(blk.Body().Blocks()) > 0) {
		b.AppendBlock(blk)
	}
}

// wait translates Flux's per-action disableWait and disableWaitForJobs
// (default: wait for everything, jobs too) into strata's one wait switch.
func wait(b *hclwrite.Body, s fields, timeout time.Duration, actions ...fields) {
	waits := map[bool][]string{}
	for _, a := range actions {
		dw, _ := a.boolean("disableWait")
		waits[!dw] = append(waits[!dw], a.path)
		if dj, _ := a.boolean("disableWaitForJobs"); dj && !dw {
			s.o.leave(a.line("disableWaitForJobs"), a.at("disableWaitForJobs"), "strata waits for Jobs whenever it waits")
		}
		if t, ok := a.duration("timeout"); ok && t != timeout && a.path != "spec.rollback" {
			s.o.leave(a.line("timeout"), a.at("timeout"), fmt.Sprintf("strata has one timeout for installs and upgrades (timeout = %q)", formatDuration(timeout)))
		}
	}
	if len(waits[true]) > 0 && len(waits[false]) > 0 {
		s.o.leave(s.line(""), strings.Join(waits[false], ", ")+".disableWait", "strata waits for every action of a release or for none: it waits (wait = true)")
	}
	if len(waits[true]) == 0 {
		setBool(b, "wait", false)
	}
}

var crdPolicy = map[string]string{"Skip": "skip", "Create": "create", "CreateReplace": "create_replace"}

func crds(blk *hclwrite.Body, f fields, def string) {
	c := f.str("crds")
	if c == "" {
		if skip, _ := f.boolean("skipCRDs"); skip {
			c = "Skip"
		}
	} else {
		f.ignore("skipCRDs")
	}
	if c == "" {
		return
	}
	p, ok := crdPolicy[c]
	if !ok {
		f.o.leave(f.line("crds"), f.at("crds"), "unknown CRD policy; strata has skip, create and create_replace")
		return
	}
	if p != def {
		setStr(blk, "crds", p)
	}
}

func flags(b *hclwrite.Body, f fields, names ...[2]string) {
	for _, n := range names {
		if v, _ := f.boolean(n[1]); v {
			setBool(b, n[0], true)
		}
	}
}

func remediation(f fields, upgrade bool) *hclwrite.Block {
	r := f.child("remediation")
	blk := hclwrite.NewBlock("remediation", nil)
	if !r.valid() {
		return nil
	}
	if n, ok := r.integer("retries"); ok && n < 0 {
		r.o.leave(r.line("retries"), r.at("retries"), "strata has no unlimited retries; set a number")
	} else if ok && n != 0 {
		setInt(blk.Body(), "retries", n)
	}
	if upgrade {
		if st := r.str("strategy"); st != "" && st != "rollback" {
			setStr(blk.Body(), "strategy", st)
		}
	}
	if v, ok := r.boolean("remediateLastFailure"); ok {
		setBool(blk.Body(), "remediate_last_failure", v)
	}
	r.ignore("ignoreTestFailures") // strata runs no tests
	return blk
}

func install(f fields) *hclwrite.Block {
	if !f.valid() {
		return nil
	}
	blk := hclwrite.NewBlock("install", nil)
	b := blk.Body()
	flags(b, f, [2]string{"create_namespace", "createNamespace"})
	crds(b, f, "create")
	flags(b, f, [2]string{"disable_hooks", "disableHooks"})
	appendIf(b, remediation(f, false))
	actionLeftovers(f)
	f.leaveIf("replace", "strata does not reuse the name of a deleted release")
	return blk
}

func upgrade(f fields) *hclwrite.Block {
	if !f.valid() {
		return nil
	}
	blk := hclwrite.NewBlock("upgrade", nil)
	b := blk.Body()
	crds(b, f, "skip")
	flags(b, f, [2]string{"cleanup_on_fail", "cleanupOnFail"}, [2]string{"force", "force"}, [2]string{"disable_hooks", "disableHooks"})
	appendIf(b, remediation(f, true))
	actionLeftovers(f)
	f.leaveIf("preserveValues", "strata upgrades with the stack's values only; put every value in the stack")
	return blk
}

// actionLeftovers records the install and upgrade settings strata has no
// counterpart of.
func actionLeftovers(f fields) {
	f.leaveIf("disableOpenAPIValidation", "strata validates the rendered objects against the API server's schema")
	f.leaveIf("disableSchemaValidation", "strata validates values against the chart's JSON schema")
	f.leave("strategy", "strata remediates failed actions as its remediation block says; it has no retry strategy")
}

func rollback(f fields) *hclwrite.Block {
	if !f.valid() {
		return nil
	}
	blk := hclwrite.NewBlock("rollback", nil)
	b := blk.Body()
	flags(b, f, [2]string{"cleanup_on_fail", "cleanupOnFail"}, [2]string{"force", "force"}, [2]string{"recreate", "recreate"}, [2]string{"disable_hooks", "disableHooks"})
	if d, ok := f.duration("timeout"); ok {
		setDuration(b, "timeout", d)
	}
	return blk
}

func uninstall(f fields) *hclwrite.Block {
	if !f.valid() {
		return nil
	}
	blk := hclwrite.NewBlock("uninstall", nil)
	b := blk.Body()
	flags(b, f, [2]string{"keep_history", "keepHistory"}, [2]string{"disable_hooks", "disableHooks"})
	if d, ok := f.duration("timeout"); ok {
		setDuration(b, "timeout", d)
	}
	f.leaveIf("disableWait", "strata waits for the release's objects to be deleted")
	if dp := f.str("deletionPropagation"); dp != "" && dp != "background" {
		f.o.leave(f.line("deletionPropagation"), f.at("deletionPropagation"), "strata uninstalls with background deletion")
	}
	return blk
}

// driftDetection writes Flux's mode, whose default (disabled) is not
// strata's (enabled).
func driftDetection(b *hclwrite.Body, f fields) {
	mode := strings.ToLower(f.str("mode"))
	if mode == "" {
		mode = "disabled"
	}
	if mode != "enabled" && mode != "warn" && mode != "disabled" {
		f.o.leave(f.line("mode"), f.at("mode"), "unknown drift detection mode; strata has enabled, warn and disabled")
		return
	}
	f.leave("ignore", "strata has no ignore rules for drift; a drifted field is corrected (mode enabled) or reported (warn)")
	if mode != "enabled" {
		b.AppendNewBlock("drift_detection", nil).Body().SetAttributeRaw("mode", stringTokens(mode))
	}
}
