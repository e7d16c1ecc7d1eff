package config

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/internal/confine"
)

// The checks and decoders that the tables of blocks.go name: what a value
// must be beyond its type, and the attributes whose decoding needs more
// than a typed read.

func gitOnly(a Address) bool { return a.Kind == KindSource && a.Type == SourceGit }

// treeSource: a source that is a directory tree (Git, OCI artifact).
func treeSource(a Address) bool {
	return a.Kind == KindSource && (a.Type == SourceGit || a.Type == SourceOCI)
}

// chartSource: a source a release can take its chart from.
func chartSource(a Address) bool {
	return a.Kind == KindSource && (a.Type == SourceGit || a.Type == SourceHelm)
}

// checkGitURL checks a Git URL: http(s)://, ssh://, file:// or scp-like
// user@host:path.
func checkGitURL(d *decoder, attrs hcl.Attributes, name, s string) {
	if i := strings.Index(s, "://"); i > 0 {
		u, err := url.Parse(s)
		if err == nil {
			switch u.Scheme {
			case "http", "https", "ssh":
				if u.Host != "" {
					return
				}
			case "file":
				return
			}
		}
	} else if at, colon := strings.Index(s, "@"), strings.Index(s, ":"); at > 0 && colon > at+1 && colon < len(s)-1 {
		return
	}
	d.l.errf(attrs[name].Expr.Range(), "Invalid Git URL",
		"%s is not a Git URL. Use https://host/path, ssh://git@host/path or git@host:path.", d.show(name, s))
}

// checkConstraint checks a go-version constraint attribute.
func checkConstraint(d *decoder, attrs hcl.Attributes, name, s string) {
	if _, err := version.NewConstraint(s); err != nil {
		d.l.errf(attrs[name].Expr.Range(), "Invalid version constraint",
			"%s is not a version constraint: %s. Write it like \"1.2.3\", \">= 1.0, < 2.0\" or \"~> 1.2\" (Terraform's syntax: ~> 1.2 means >= 1.2, < 2.0).",
			d.show(name, s), err)
	}
}

// checkCommit checks a full commit hash.
func checkCommit(d *decoder, attrs hcl.Attributes, name, s string) {
	if !isHex(s) {
		d.l.errf(attrs[name].Expr.Range(), "Invalid commit",
			"%s is not a commit hash: use the full 40 (or 64) hexadecimal characters.", d.show(name, s))
	}
}

// conditionTypeRE is the pattern of metav1.Condition's type: a name with
// an optional DNS subdomain prefix.
var conditionTypeRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`)

// checkConditionType checks a health check's condition: a Kubernetes
// condition type.
func checkConditionType(d *decoder, attrs hcl.Attributes, name, s string) {
	if len(s) <= 316 && conditionTypeRE.MatchString(s) {
		return
	}
	d.l.errf(attrs[name].Expr.Range(), "Invalid condition type",
		"%s is not a condition type: write the type of a condition in the object's status.conditions, like \"Ready\" or \"Available\".", d.show(name, s))
}

// checkRefName checks a full Git reference name.
func checkRefName(d *decoder, attrs hcl.Attributes, name, s string) {
	if !strings.HasPrefix(s, "refs/") {
		d.l.errf(attrs[name].Expr.Range(), "Invalid Git reference",
			"ref must be a full reference name starting with refs/, like \"refs/pull/42/head\"; for branches and tags use branch or tag.")
	}
}

// checkGitRefs refuses a Git source that names more than one reference to
// check out.
func checkGitRefs(d *decoder, c *hcl.BodyContent, _ *GitSource) {
	var set []string
	for _, n := range []string{"branch", "tag", "semver", "ref"} {
		if _, ok := c.Attributes[n]; ok {
			set = append(set, n)
		}
	}
	if len(set) > 1 {
		d.l.errf(c.Attributes[set[1]].Range, "Conflicting Git references",
			"Set only one of branch, tag, semver and ref (commit may be combined with branch); this source sets %s.", strings.Join(set, " and "))
	}
}

// checkGitCredentials refuses SSH and HTTPS credentials in one auth block.
func checkGitCredentials(d *decoder, c *hcl.BodyContent, a *GitAuth) {
	if !a.PrivateKey.IsEmpty() && !a.Password.IsEmpty() {
		d.l.errf(c.Attributes["password"].Range, "Conflicting Git credentials",
			"Use either a private_key (SSH) or a password (HTTPS), not both.")
	}
}

func (d *decoder) atMostOne(bs []*hcl.Block) {
	if len(bs) > 1 {
		d.l.errf(bs[1].DefRange, "Duplicate "+bs[1].Type+" block",
			"Only one %s block is allowed here; the first is at %s:%d.", bs[1].Type, bs[0].DefRange.Filename, bs[0].DefRange.Start.Line)
	}
}

func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// helmURL decodes a chart repository URL; its scheme sets the source's
// Type.
func helmURL(d *decoder, attrs hcl.Attributes, name string, h *HelmSource) {
	if !d.str(attrs, name, &h.URL) {
		return
	}
	u, err := url.Parse(h.URL)
	switch {
	case err == nil && u.Scheme == "oci" && u.Host != "":
		h.Type = "oci"
	case err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
	default:
		d.l.errf(attrs[name].Expr.Range(), "Invalid Helm repository URL",
			"%s is not a chart repository URL. Use https://host/path for an HTTP repository or oci://host/path for an OCI registry.", d.show(name, h.URL))
	}
}

// ociURL decodes an artifact repository URL: oci://host/repository,
// without tag, digest or credentials.
func ociURL(d *decoder, attrs hcl.Attributes, name string, o *OCISource) {
	if !d.str(attrs, name, &o.URL) {
		return
	}
	u, err := url.Parse(o.URL)
	switch {
	case err != nil || u.Scheme != "oci" || u.Host == "" || strings.Trim(u.Path, "/") == "":
		d.l.errf(attrs[name].Expr.Range(), "Invalid OCI repository URL",
			"%s is not an OCI repository URL. Use oci://host/repository, like oci://ghcr.io/example/manifests.", d.show(name, o.URL))
	case u.User != nil:
		d.l.errf(attrs[name].Expr.Range(), "Credentials in the URL",
			"Credentials do not belong in the URL, where they would show in plans and logs. Remove them and use an auth block with username and password.")
	case strings.ContainsAny(strings.Trim(u.Path, "/"), "@:"):
		d.l.errf(attrs[name].Expr.Range(), "Tag or digest in the URL",
			"%s names a tag or digest. Write the repository alone in url and set tag, semver or digest.", d.show(name, o.URL))
	}
}

// checkOCIDigest checks a manifest digest.
func checkOCIDigest(d *decoder, attrs hcl.Attributes, name, s string) {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 || !isHex(h) {
		d.l.errf(attrs[name].Expr.Range(), "Invalid digest",
			"%s is not a manifest digest: write sha256: and 64 lower case hexadecimal characters.", d.show(name, s))
	}
}

// checkOCIRef requires exactly one of tag, semver and digest.
func checkOCIRef(d *decoder, c *hcl.BodyContent, _ *OCISource) {
	var set []string
	for _, n := range []string{"tag", "semver", "digest"} {
		if _, ok := c.Attributes[n]; ok {
			set = append(set, n)
		}
	}
	switch {
	case len(set) == 0:
		d.l.errf(d.block.DefRange, "Missing artifact reference",
			"An OCI source names the artifact to fetch: set tag (like \"v1.2.0\" or \"latest\"), semver (like \"~> 1.2\") or digest (\"sha256:...\").")
	case len(set) > 1:
		d.l.errf(c.Attributes[set[1]].Range, "Conflicting artifact references",
			"Set only one of tag, semver and digest; this block sets %s.", strings.Join(set, " and "))
	}
}

// kustomizationSource decodes a kustomization's source reference.
func kustomizationSource(d *decoder, attrs hcl.Attributes, name string, k *Kustomization) {
	k.Source = d.blockRef(attrs, name, treeSource, "a Git or OCI source (source.git.NAME or source.oci.NAME)")
	if k.Source != nil {
		k.SourceAddr = k.Source.Addr
	}
}

// kustomizationPath decodes a kustomization's path: inside its source, or
// a directory of the stack without one.
func kustomizationPath(d *decoder, attrs hcl.Attributes, name string, k *Kustomization) {
	if !d.str(attrs, name, &k.Path) {
		return
	}
	if filepath.IsAbs(k.Path) || hasDotDot(k.Path) && k.Source != nil {
		d.l.errf(attrs[name].Expr.Range(), "Invalid path",
			"%s must be a relative path inside the source, without \"..\".", d.show(name, k.Path))
	} else if k.Source == nil {
		d.localDir(attrs, name, k.Path, kustomizeSkipped...)
	}
}

// kustomizationAccount decodes a kustomization's service account, a bare
// NAME in its target_namespace.
func kustomizationAccount(d *decoder, attrs hcl.Attributes, name string, k *Kustomization) {
	if d.str(attrs, name, &k.ServiceAccount) {
		k.ServiceAccount = d.serviceAccount(attrs, k.ServiceAccount, "target_namespace", k.TargetNamespace,
			"A kustomization's bare service account name means the account in its target_namespace (as in Flux), and this kustomization sets none. Write NAMESPACE/NAME, like \"platform/deployer\", or set target_namespace.")
	}
}

// checkDNSLabel checks a Kubernetes namespace or other DNS-1123 label.
func checkDNSLabel(d *decoder, _ hcl.Attributes, name, s string) { d.dnsLabel(name, s) }

// checkSubstNames checks that every substitution can be written as ${name}.
func checkSubstNames(d *decoder, attrs hcl.Attributes, name string, m map[string]string) {
	for key := range m {
		if !isSubstVar(key) {
			d.l.errf(attrs[name].Expr.Range(), "Invalid substitution name",
				"%q cannot be used as ${%s} in manifests: use letters, digits and underscores, not starting with a digit.", key, key)
		}
	}
}

// dependsOn decodes a depends_on list into the field f returns.
func dependsOn[T any](f func(*T) *[]Ref) attrFunc[T] {
	return func(d *decoder, attrs hcl.Attributes, _ string, t *T) {
		*f(t) = d.dependsOn(attrs)
	}
}

// checkImage refuses an image block that changes nothing.
func checkImage(d *decoder, c *hcl.BodyContent, img *Image) {
	if img.NewName == "" && img.NewTag == "" && img.Digest == "" && c.Attributes["name"] != nil {
		d.l.errf(d.block.DefRange, "Incomplete image override", "An image block must set new_name, new_tag or digest.")
	}
}

func appendRefs(refs []Ref, src *Ref, deps []Ref) []Ref {
	if src != nil {
		refs = append(refs, *src)
	}
	return append(refs, deps...)
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func isSubstVar(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// kustomizeSkipped are the directories of the stack that the link check of
// a local kustomization's path does not walk: strata's own state and
// artifact cache, and Git's metadata, which can hold many thousands of
// files that no kustomization reads (a path "." would walk them at every
// load). kustomize itself reads through a file system confined to the
// stack directory, so a link there that a kustomization names is still
// refused when it builds.
var kustomizeSkipped = []string{".strata", ".git"}

// localDir checks that a path relative to the stack names a directory
// inside it, and that no symbolic link under that directory leads out,
// except in the directories skip (relative to the stack directory).
func (d *decoder) localDir(attrs hcl.Attributes, name, p string, skip ...string) {
	rng := attrs[name].Expr.Range()
	full, err := confinePath(d.l.dir, p)
	if errors.Is(err, confine.ErrOutside) {
		d.l.errf(rng, "Path outside the stack directory", "%s.", err)
		return
	}
	fi, serr := os.Stat(full)
	if err != nil || serr != nil || !fi.IsDir() {
		d.l.errf(rng, "Directory not found",
			"There is no directory %s relative to the stack directory. Without a source, %s is relative to the stack.", d.show(name, p), name)
		return
	}
	if err := confine.Tree(d.l.dir, full, skip...); err != nil {
		d.l.errf(rng, "Path outside the stack directory",
			"The directory %s holds %s. A stack reads only files inside its directory: replace the link by the file, or move the target into the stack.",
			d.show(name, p), strings.Replace(err.Error(), confine.ErrOutside.Error(), "outside the stack directory", 1))
	}
}

// serviceAccount checks "NAME" or "NAMESPACE/NAME" and returns it as
// "NAMESPACE/NAME": a bare NAME is the account in namespace, the value of
// the block's attribute namespaceAttr (a release's namespace, a
// kustomization's target_namespace). When namespace is "", a bare NAME is
// refused with noNamespace as the detail; when the attribute is not known
// yet (a partial load), NAME is returned as it is.
func (d *decoder) serviceAccount(attrs hcl.Attributes, s, namespaceAttr, namespace, noNamespace string) string {
	parts := strings.Split(s, "/")
	ok := len(parts) <= 2
	for _, p := range parts {
		ok = ok && isDNSLabel(p)
	}
	rng := attrs["service_account"].Expr.Range()
	switch {
	case !ok:
		d.l.errf(rng, "Invalid service account",
			"%s is not a service account: write NAME or NAMESPACE/NAME, like \"platform/deployer\".", d.show("service_account", s))
	case len(parts) == 2:
	case d.unknown(namespaceAttr):
		// validate without every variable: the namespace is not known yet.
	case namespace == "":
		d.l.errf(rng, "Service account without a namespace", "%s", noNamespace)
	default:
		return namespace + "/" + s
	}
	return s
}

// releaseName decodes a release's Helm release name; without one, the
// block name must be a valid release name.
func releaseName(d *decoder, attrs hcl.Attributes, name string, r *Release) {
	if _, set := attrs[name]; set {
		if d.str(attrs, name, &r.Name) && !isReleaseName(r.Name) {
			d.l.errf(attrs[name].Expr.Range(), "Invalid release name",
				"%s is not a Helm release name: use at most 53 lower case letters, digits and dashes.", d.show(name, r.Name))
		}
	} else if !isReleaseName(r.Name) {
		d.l.errf(d.block.LabelRanges[0], "Invalid release name",
			"The block name %q is not a valid Helm release name (at most 53 lower case letters, digits and dashes). Set name = \"...\" in the block.", r.Name)
	}
}

// releaseSource decodes a release's source reference.
func releaseSource(d *decoder, attrs hcl.Attributes, name string, r *Release) {
	r.Source = d.blockRef(attrs, name, chartSource, "a Helm or Git source (source.helm.NAME or source.git.NAME)")
	if r.Source != nil {
		r.SourceAddr = r.Source.Addr
	}
}

// releaseChart decodes a release's chart: a chart name in a Helm source, a
// path inside a Git source, or a directory of the stack without a source.
func releaseChart(d *decoder, attrs hcl.Attributes, name string, r *Release) {
	if d.str(attrs, name, &r.Chart) && r.Source == nil && !d.meta.IsSet("source") {
		d.localDir(attrs, name, r.Chart)
	} else if r.Source != nil && gitOnly(r.Source.Addr) && (filepath.IsAbs(r.Chart) || hasDotDot(r.Chart)) {
		d.l.errf(attrs[name].Expr.Range(), "Invalid path",
			"%s must be a relative path inside the source, without \"..\".", d.show(name, r.Chart))
	}
}

// releaseValues decodes a release's values: an object that JSON can
// carry to Helm.
func releaseValues(d *decoder, attrs hcl.Attributes, name string, r *Release) {
	v, ok := d.value(attrs, name, cty.DynamicPseudoType)
	if !ok {
		return
	}
	if ty := v.Type(); !ty.IsObjectType() && !ty.IsMapType() {
		d.l.errf(attrs[name].Expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute \"values\": an object is required, like { replicaCount = 2 }.")
	} else if vals, _ := jsonable(v).(map[string]any); vals != nil {
		if _, err := json.Marshal(vals); err != nil {
			d.l.errf(attrs[name].Expr.Range(), "Invalid values",
				"The values cannot be passed to Helm as JSON: %s. Use finite numbers.", err)
		} else {
			r.Values = vals
		}
	}
}

// checkValuesFiles checks that every values file is a file of the stack.
func checkValuesFiles(d *decoder, attrs hcl.Attributes, name string, files []string) {
	for _, f := range files {
		if _, err := readStackFile(d.l.dir, f); errors.Is(err, confine.ErrOutside) {
			d.l.errf(attrs[name].Expr.Range(), "Path outside the stack directory", "%s.", err)
		} else if err != nil {
			d.l.errf(attrs[name].Expr.Range(), "Values file not found",
				"Reading the values file failed: %s. values_files are relative to the stack directory.", err)
		}
	}
}

// releaseAccount decodes a release's service account, a bare NAME in the
// release's namespace.
func releaseAccount(d *decoder, attrs hcl.Attributes, name string, r *Release) {
	if d.str(attrs, name, &r.ServiceAccount) {
		r.ServiceAccount = d.serviceAccount(attrs, r.ServiceAccount, "namespace", r.Namespace, "")
	}
}

// lastFailure decodes remediate_last_failure, whose default depends on
// retries (decoded before it) and on whether it remediates an upgrade.
func lastFailure(upgrade bool) attrFunc[Remediation] {
	return func(d *decoder, attrs hcl.Attributes, name string, r *Remediation) {
		r.RemediateLastFailure = DefaultRemediateLastFailure(upgrade, r.Retries)
		d.boolean(attrs, name, &r.RemediateLastFailure)
	}
}

// checkReleaseNames refuses two release blocks that install the same Helm
// release (name and namespace): each would upgrade the other's release.
func (l *loader) checkReleaseNames() {
	rels := make([]*Release, 0, len(l.st.Releases))
	for _, r := range l.st.Releases {
		rels = append(rels, r)
	}
	sort.Slice(rels, func(i, j int) bool { return rangeLess(rels[i].DeclRange, rels[j].DeclRange) })
	seen := map[string]*Release{}
	for _, r := range rels {
		if r.Name == "" || slices.ContainsFunc(r.Unknown, func(p string) bool { return p == "name" || p == "namespace" }) {
			continue
		}
		key := r.Namespace + "/" + r.Name
		prev, ok := seen[key]
		if !ok {
			seen[key] = r
			continue
		}
		rng := r.DeclRange
		if a, ok := r.Attrs["name"]; ok {
			rng = a
		}
		l.errf(rng, "Duplicate Helm release",
			"%s and %s (%s:%d) both install the Helm release %s in namespace %s, so each would overwrite the other. Give one of them another name or namespace.",
			r.Address(), prev.Address(), prev.DeclRange.Filename, prev.DeclRange.Start.Line, r.Name, r.Namespace)
	}
}

func rangeLess(a, b hcl.Range) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	return a.Start.Byte < b.Start.Byte
}

// unknown reports whether the attribute name of the block was left unknown
// by a partial load.
func (d *decoder) unknown(name string) bool {
	return slices.Contains(d.meta.Unknown, d.prefix+name)
}

func isReleaseName(s string) bool { return len(s) <= 53 && isDNSLabel(s) }

// checkNotificationURL checks a notification's http(s) URL.
func checkNotificationURL(d *decoder, attrs hcl.Attributes, name string, s Sensitive) {
	if u, err := url.Parse(s.Reveal()); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		d.l.errf(attrs[name].Expr.Range(), "Invalid notification URL", "The url must be an http:// or https:// URL.")
	}
}

// checkEvents checks a notification's event filter.
func checkEvents(d *decoder, attrs hcl.Attributes, name string, events []string) {
	for _, e := range events {
		if e != "drift" && e != "error" && e != "recovered" {
			d.l.errf(attrs[name].Expr.Range(), "Invalid event",
				"%q is not an event.%s Use \"drift\", \"error\" or \"recovered\".", e, didYouMean(e, []string{"drift", "error", "recovered"}))
		}
	}
}

// notificationHeaders decodes a notification's HTTP headers, all secret.
func notificationHeaders(d *decoder, attrs hcl.Attributes, name string, n *Notification) {
	var headers map[string]string
	if d.strMap(attrs, name, &headers) {
		n.Headers = make(map[string]Sensitive, len(headers))
		for k, v := range headers {
			n.Headers[k] = NewSensitive(v)
		}
	}
}

// statePath checks the local backend's path p, set by attribute a: strata
// creates, locks and writes that file, so a stack (a pull request on which
// CI runs plan) must not name one outside its directory, directly or
// through a symbolic link. The person running strata names one anywhere
// with --state, and then the stack's path is not used
// (LoadOptions.StatePathUnused).
func (d *decoder) statePath(a *hcl.Attribute, p string) {
	if d.l.opts.StatePathUnused {
		return
	}
	if _, err := confine.ResolveNew(d.l.dir, p); err != nil {
		d.l.errf(a.Expr.Range(), "State file outside the stack directory",
			"State file %s. A stack names its state file only inside its directory, because strata creates and writes it; to keep the state elsewhere, name the file on the command line with --state FILE.",
			strings.Replace(err.Error(), confine.ErrOutside.Error(), "outside the stack directory", 1))
	}
}
