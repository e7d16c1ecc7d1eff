package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/internal/confine"
)

func gitOnly(a Address) bool   { return a.Kind == KindSource && a.Type == SourceGit }
func anySource(a Address) bool { return a.Kind == KindSource }

// skipped reports whether declareBlocks rejected b (duplicate or bad name).
func skipped(b *hcl.Block) bool { return b.Type == "" }

func (l *loader) decodeGitSource(b *hcl.Block) {
	if skipped(b) {
		return
	}
	g := &GitSource{Name: b.Labels[1], Interval: DefaultSourceInterval, Timeout: DefaultSourceTimeout}
	d := l.newDecoder(&g.Meta, b, &g.Refs)
	c := d.content(b.Body, &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "url", Required: true}, {Name: "branch"}, {Name: "tag"}, {Name: "semver"}, {Name: "commit"}, {Name: "ref"},
			{Name: "ignore"}, {Name: "interval"}, {Name: "timeout"}, {Name: "recurse_submodules"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "verify"}, {Type: "auth"}},
	})
	l.st.GitSources[g.Name] = g
	if c == nil {
		return
	}
	if d.str(c.Attributes, "url", &g.URL) {
		d.gitURL(c.Attributes, g.URL)
	}
	var set []string
	for _, n := range []string{"branch", "tag", "semver", "ref"} {
		if _, ok := c.Attributes[n]; ok {
			set = append(set, n)
		}
	}
	if len(set) > 1 {
		l.errf(c.Attributes[set[1]].Range, "Conflicting Git references",
			"Set only one of branch, tag, semver and ref (commit may be combined with branch); this source sets %s.", strings.Join(set, " and "))
	}
	d.str(c.Attributes, "branch", &g.Branch)
	d.str(c.Attributes, "tag", &g.Tag)
	if d.str(c.Attributes, "semver", &g.Semver) {
		d.constraint(c.Attributes, "semver", g.Semver)
	}
	if d.str(c.Attributes, "commit", &g.Commit) && !isHex(g.Commit) {
		l.errf(c.Attributes["commit"].Expr.Range(), "Invalid commit",
			"%s is not a commit hash: use the full 40 (or 64) hexadecimal characters.", d.show("commit", g.Commit))
	}
	if d.str(c.Attributes, "ref", &g.RefName) && !strings.HasPrefix(g.RefName, "refs/") {
		l.errf(c.Attributes["ref"].Expr.Range(), "Invalid Git reference",
			"ref must be a full reference name starting with refs/, like \"refs/pull/42/head\"; for branches and tags use branch or tag.")
	}
	d.strList(c.Attributes, "ignore", &g.Ignore)
	d.duration(c.Attributes, "interval", &g.Interval)
	d.duration(c.Attributes, "timeout", &g.Timeout)
	if d.boolean(c.Attributes, "recurse_submodules", &g.RecurseSubmodules) && g.RecurseSubmodules {
		l.errf(c.Attributes["recurse_submodules"].Expr.Range(), "Unsupported argument value",
			"strata does not fetch Git submodules yet; vendor the content into the repository or declare the submodule's repository as a source of its own.")
	}
	if vs := c.Blocks.OfType("verify"); len(vs) > 0 {
		d.atMostOne(vs)
		g.Verify = &GitVerify{}
		vd := d.nested("verify", vs[0])
		vc := vd.content(vs[0].Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "mode"}, {Name: "public_keys", Required: true}}})
		if vc != nil {
			vd.oneOf(vc.Attributes, "mode", &g.Verify.Mode, "head", "tag", "tag_and_head")
			vd.str(vc.Attributes, "public_keys", &g.Verify.PublicKeys)
		}
	}
	if as := c.Blocks.OfType("auth"); len(as) > 0 {
		d.atMostOne(as)
		g.Auth = &GitAuth{}
		ad := d.nested("auth", as[0])
		ac := ad.content(as[0].Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "username"}, {Name: "password"}, {Name: "bearer_token"}, {Name: "private_key"}, {Name: "passphrase"},
			{Name: "known_hosts"}, {Name: "insecure_ignore_host_key"}, {Name: "ca"},
		}})
		if ac != nil {
			a := g.Auth
			ad.str(ac.Attributes, "username", &a.Username)
			ad.secret(ac.Attributes, "password", &a.Password)
			ad.secret(ac.Attributes, "bearer_token", &a.BearerToken)
			ad.secret(ac.Attributes, "private_key", &a.PrivateKey)
			ad.secret(ac.Attributes, "passphrase", &a.Passphrase)
			ad.str(ac.Attributes, "known_hosts", &a.KnownHosts)
			if ad.boolean(ac.Attributes, "insecure_ignore_host_key", &a.InsecureIgnoreHostKey) && a.InsecureIgnoreHostKey {
				l.errf(ac.Attributes["insecure_ignore_host_key"].Expr.Range(), "Unknown SSH hosts are never trusted",
					"strata checks every SSH host key against known_hosts. Add the server's key with: ssh-keyscan HOST >> known_hosts, and pass that file's content as known_hosts.")
			}
			ad.str(ac.Attributes, "ca", &a.CA)
			if !a.PrivateKey.IsEmpty() && !a.Password.IsEmpty() {
				l.errf(ac.Attributes["password"].Range, "Conflicting Git credentials",
					"Use either a private_key (SSH) or a password (HTTPS), not both.")
			}
		}
	}
}

// gitURL checks a Git URL: http(s)://, ssh://, file:// or scp-like
// user@host:path.
func (d *decoder) gitURL(attrs hcl.Attributes, s string) {
	rng := attrs["url"].Expr.Range()
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
	d.l.errf(rng, "Invalid Git URL",
		"%s is not a Git URL. Use https://host/path, ssh://git@host/path or git@host:path.", d.show("url", s))
}

// constraint checks a go-version constraint attribute.
func (d *decoder) constraint(attrs hcl.Attributes, name, s string) bool {
	if _, err := version.NewConstraint(s); err != nil {
		d.l.errf(attrs[name].Expr.Range(), "Invalid version constraint",
			"%s is not a version constraint: %s. Write it like \"1.2.3\", \">= 1.0, < 2.0\" or \"~> 1.2\" (Terraform's syntax: ~> 1.2 means >= 1.2, < 2.0).",
			d.show(name, s), err)
		return false
	}
	return true
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

func (l *loader) decodeHelmSource(b *hcl.Block) {
	if skipped(b) {
		return
	}
	h := &HelmSource{Name: b.Labels[1], Type: "default", Interval: DefaultSourceInterval, Timeout: DefaultSourceTimeout}
	d := l.newDecoder(&h.Meta, b, &h.Refs)
	c := d.content(b.Body, &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "url", Required: true}, {Name: "interval"}, {Name: "timeout"}, {Name: "ca"},
			{Name: "insecure_skip_verify"}, {Name: "plain_http"}, {Name: "pass_credentials"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "auth"}},
	})
	l.st.HelmSources[h.Name] = h
	if c == nil {
		return
	}
	if d.str(c.Attributes, "url", &h.URL) {
		u, err := url.Parse(h.URL)
		switch {
		case err == nil && u.Scheme == "oci" && u.Host != "":
			h.Type = "oci"
		case err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		default:
			l.errf(c.Attributes["url"].Expr.Range(), "Invalid Helm repository URL",
				"%s is not a chart repository URL. Use https://host/path for an HTTP repository or oci://host/path for an OCI registry.", d.show("url", h.URL))
		}
	}
	d.duration(c.Attributes, "interval", &h.Interval)
	d.duration(c.Attributes, "timeout", &h.Timeout)
	d.str(c.Attributes, "ca", &h.CA)
	d.boolean(c.Attributes, "insecure_skip_verify", &h.InsecureSkipVerify)
	d.boolean(c.Attributes, "plain_http", &h.PlainHTTP)
	d.boolean(c.Attributes, "pass_credentials", &h.PassCredentials)
	if as := c.Blocks.OfType("auth"); len(as) > 0 {
		d.atMostOne(as)
		h.Auth = &HelmAuth{}
		ad := d.nested("auth", as[0])
		ac := ad.content(as[0].Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "username"}, {Name: "password"}, {Name: "cert"}, {Name: "key"},
		}})
		if ac != nil {
			ad.str(ac.Attributes, "username", &h.Auth.Username)
			ad.secret(ac.Attributes, "password", &h.Auth.Password)
			ad.str(ac.Attributes, "cert", &h.Auth.Cert)
			ad.secret(ac.Attributes, "key", &h.Auth.Key)
		}
	}
}

func (l *loader) decodeKustomization(b *hcl.Block) {
	if skipped(b) {
		return
	}
	k := &Kustomization{
		Name: b.Labels[0], Prune: true, Wait: true,
		Timeout: DefaultKustomizationTimeout, Interval: DefaultKustomizationInterval,
	}
	d := l.newDecoder(&k.Meta, b, &k.Refs)
	c := d.content(b.Body, &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "source"}, {Name: "path"}, {Name: "prune"}, {Name: "wait"}, {Name: "force"}, {Name: "timeout"},
			{Name: "interval"}, {Name: "suspend"}, {Name: "target_namespace"}, {Name: "substitute"},
			{Name: "name_prefix"}, {Name: "name_suffix"}, {Name: "common_labels"}, {Name: "common_annotations"},
			{Name: "components"}, {Name: "service_account"}, {Name: "depends_on"}, {Name: "adopt"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "health_check"}, {Type: "patch"}, {Type: "image"}},
	})
	l.st.Kustomizations[k.Name] = k
	if c == nil {
		return
	}
	k.Source = d.blockRef(c.Attributes, "source", gitOnly, "a Git source (source.git.NAME)")
	if k.Source != nil {
		k.SourceAddr = k.Source.Addr
	}
	if d.str(c.Attributes, "path", &k.Path) {
		if filepath.IsAbs(k.Path) || hasDotDot(k.Path) && k.Source != nil {
			l.errf(c.Attributes["path"].Expr.Range(), "Invalid path",
				"%s must be a relative path inside the source, without \"..\".", d.show("path", k.Path))
		} else if k.Source == nil {
			d.localDir(c.Attributes, "path", k.Path, kustomizeSkipped...)
		}
	}
	d.boolean(c.Attributes, "prune", &k.Prune)
	d.boolean(c.Attributes, "adopt", &k.Adopt)
	d.boolean(c.Attributes, "wait", &k.Wait)
	d.boolean(c.Attributes, "force", &k.Force)
	d.duration(c.Attributes, "timeout", &k.Timeout)
	d.duration(c.Attributes, "interval", &k.Interval)
	d.boolean(c.Attributes, "suspend", &k.Suspend)
	if d.str(c.Attributes, "target_namespace", &k.TargetNamespace) {
		d.dnsLabel("target_namespace", k.TargetNamespace)
	}
	if d.strMap(c.Attributes, "substitute", &k.Substitute) {
		for key := range k.Substitute {
			if !isSubstVar(key) {
				l.errf(c.Attributes["substitute"].Expr.Range(), "Invalid substitution name",
					"%q cannot be used as ${%s} in manifests: use letters, digits and underscores, not starting with a digit.", key, key)
			}
		}
	}
	d.str(c.Attributes, "name_prefix", &k.NamePrefix)
	d.str(c.Attributes, "name_suffix", &k.NameSuffix)
	d.strMap(c.Attributes, "common_labels", &k.CommonLabels)
	d.strMap(c.Attributes, "common_annotations", &k.CommonAnnotations)
	d.strList(c.Attributes, "components", &k.Components)
	if d.str(c.Attributes, "service_account", &k.ServiceAccount) {
		k.ServiceAccount = d.serviceAccount(c.Attributes, k.ServiceAccount, "target_namespace", k.TargetNamespace,
			"A kustomization's bare service account name means the account in its target_namespace (as in Flux), and this kustomization sets none. Write NAMESPACE/NAME, like \"platform/deployer\", or set target_namespace.")
	}
	k.DependsOn = d.dependsOn(c.Attributes)
	for i, hb := range c.Blocks.OfType("health_check") {
		hd := d.nested(fmt.Sprintf("health_check[%d]", i), hb)
		hc := hd.content(hb.Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "api_version", Required: true}, {Name: "kind", Required: true}, {Name: "name", Required: true}, {Name: "namespace"},
		}})
		var h HealthCheck
		if hc != nil {
			hd.str(hc.Attributes, "api_version", &h.APIVersion)
			hd.str(hc.Attributes, "kind", &h.Kind)
			hd.str(hc.Attributes, "name", &h.Name)
			hd.str(hc.Attributes, "namespace", &h.Namespace)
		}
		k.HealthChecks = append(k.HealthChecks, h)
	}
	for i, pb := range c.Blocks.OfType("patch") {
		pd := d.nested(fmt.Sprintf("patch[%d]", i), pb)
		pc := pd.content(pb.Body, &hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "patch", Required: true}},
			Blocks:     []hcl.BlockHeaderSchema{{Type: "target"}},
		})
		var p Patch
		if pc != nil {
			pd.str(pc.Attributes, "patch", &p.Patch)
			if ts := pc.Blocks.OfType("target"); len(ts) > 0 {
				pd.atMostOne(ts)
				td := pd.nested("target", ts[0])
				tc := td.content(ts[0].Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
					{Name: "group"}, {Name: "version"}, {Name: "kind"}, {Name: "name"}, {Name: "namespace"},
					{Name: "label_selector"}, {Name: "annotation_selector"},
				}})
				p.Target = &Selector{}
				if tc != nil {
					td.str(tc.Attributes, "group", &p.Target.Group)
					td.str(tc.Attributes, "version", &p.Target.Version)
					td.str(tc.Attributes, "kind", &p.Target.Kind)
					td.str(tc.Attributes, "name", &p.Target.Name)
					td.str(tc.Attributes, "namespace", &p.Target.Namespace)
					td.str(tc.Attributes, "label_selector", &p.Target.LabelSelector)
					td.str(tc.Attributes, "annotation_selector", &p.Target.AnnotationSelector)
				}
			}
		}
		k.Patches = append(k.Patches, p)
	}
	for i, ib := range c.Blocks.OfType("image") {
		id := d.nested(fmt.Sprintf("image[%d]", i), ib)
		ic := id.content(ib.Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "new_name"}, {Name: "new_tag"}, {Name: "digest"},
		}})
		var img Image
		if ic != nil {
			id.str(ic.Attributes, "name", &img.Name)
			id.str(ic.Attributes, "new_name", &img.NewName)
			id.str(ic.Attributes, "new_tag", &img.NewTag)
			id.str(ic.Attributes, "digest", &img.Digest)
			if img.NewName == "" && img.NewTag == "" && img.Digest == "" && ic.Attributes["name"] != nil {
				l.errf(ib.DefRange, "Incomplete image override", "An image block must set new_name, new_tag or digest.")
			}
		}
		k.Images = append(k.Images, img)
	}
	k.Refs = appendRefs(k.Refs, k.Source, k.DependsOn)
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

func (l *loader) decodeRelease(b *hcl.Block) {
	if skipped(b) {
		return
	}
	r := &Release{
		BlockName: b.Labels[0], Name: b.Labels[0], Namespace: "default",
		MaxHistory: DefaultMaxHistory, Timeout: DefaultReleaseTimeout, Interval: DefaultReleaseInterval, Wait: true,
		Install:        ReleaseInstall{CRDs: CRDsCreate},
		Upgrade:        ReleaseUpgrade{CRDs: CRDsSkip, Remediation: Remediation{Strategy: "rollback"}},
		DriftDetection: DriftDetection{Mode: "enabled"},
	}
	d := l.newDecoder(&r.Meta, b, &r.Refs)
	c := d.content(b.Body, &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "name"}, {Name: "namespace"}, {Name: "chart", Required: true}, {Name: "version"}, {Name: "source"},
			{Name: "values"}, {Name: "values_files"}, {Name: "max_history"}, {Name: "timeout"}, {Name: "interval"},
			{Name: "wait"}, {Name: "suspend"}, {Name: "service_account"}, {Name: "depends_on"},
		},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "install"}, {Type: "upgrade"}, {Type: "rollback"}, {Type: "uninstall"}, {Type: "drift_detection"},
		},
	})
	l.st.Releases[r.BlockName] = r
	if c == nil {
		return
	}
	if _, set := c.Attributes["name"]; set {
		if d.str(c.Attributes, "name", &r.Name) && !isReleaseName(r.Name) {
			l.errf(c.Attributes["name"].Expr.Range(), "Invalid release name",
				"%s is not a Helm release name: use at most 53 lower case letters, digits and dashes.", d.show("name", r.Name))
		}
	} else if !isReleaseName(r.Name) {
		l.errf(b.LabelRanges[0], "Invalid release name",
			"The block name %q is not a valid Helm release name (at most 53 lower case letters, digits and dashes). Set name = \"...\" in the block.", r.Name)
	}
	if d.str(c.Attributes, "namespace", &r.Namespace) {
		d.dnsLabel("namespace", r.Namespace)
	}
	r.Source = d.blockRef(c.Attributes, "source", anySource, "a Helm or Git source (source.helm.NAME or source.git.NAME)")
	if r.Source != nil {
		r.SourceAddr = r.Source.Addr
	}
	if d.str(c.Attributes, "chart", &r.Chart) && r.Source == nil && !d.meta.IsSet("source") {
		d.localDir(c.Attributes, "chart", r.Chart)
	} else if r.Source != nil && gitOnly(r.Source.Addr) && (filepath.IsAbs(r.Chart) || hasDotDot(r.Chart)) {
		l.errf(c.Attributes["chart"].Expr.Range(), "Invalid path",
			"%s must be a relative path inside the source, without \"..\".", d.show("chart", r.Chart))
	}
	if d.str(c.Attributes, "version", &r.Version) {
		d.constraint(c.Attributes, "version", r.Version)
	}
	if v, ok := d.value(c.Attributes, "values", cty.DynamicPseudoType); ok {
		if ty := v.Type(); !ty.IsObjectType() && !ty.IsMapType() {
			l.errf(c.Attributes["values"].Expr.Range(), "Incorrect attribute value type",
				"Inappropriate value for attribute \"values\": an object is required, like { replicaCount = 2 }.")
		} else if vals, _ := jsonable(v).(map[string]any); vals != nil {
			if _, err := json.Marshal(vals); err != nil {
				l.errf(c.Attributes["values"].Expr.Range(), "Invalid values",
					"The values cannot be passed to Helm as JSON: %s. Use finite numbers.", err)
			} else {
				r.Values = vals
			}
		}
	}
	if d.strList(c.Attributes, "values_files", &r.ValuesFiles) {
		for _, f := range r.ValuesFiles {
			if _, err := readStackFile(l.dir, f); errors.Is(err, confine.ErrOutside) {
				l.errf(c.Attributes["values_files"].Expr.Range(), "Path outside the stack directory", "%s.", err)
			} else if err != nil {
				l.errf(c.Attributes["values_files"].Expr.Range(), "Values file not found",
					"Reading the values file failed: %s. values_files are relative to the stack directory.", err)
			}
		}
	}
	d.integer(c.Attributes, "max_history", 0, &r.MaxHistory)
	d.duration(c.Attributes, "timeout", &r.Timeout)
	d.duration(c.Attributes, "interval", &r.Interval)
	d.boolean(c.Attributes, "wait", &r.Wait)
	d.boolean(c.Attributes, "suspend", &r.Suspend)
	if d.str(c.Attributes, "service_account", &r.ServiceAccount) {
		r.ServiceAccount = d.serviceAccount(c.Attributes, r.ServiceAccount, "namespace", r.Namespace, "")
	}
	r.DependsOn = d.dependsOn(c.Attributes)

	crds := []string{CRDsSkip, CRDsCreate, CRDsCreateReplace}
	remediation := func(pd *decoder, blocks hcl.Blocks, rem *Remediation, upgrade bool) {
		rbs := blocks.OfType("remediation")
		if len(rbs) == 0 {
			return
		}
		pd.atMostOne(rbs)
		rd := pd.nested("remediation", rbs[0])
		attrs := []hcl.AttributeSchema{{Name: "retries"}, {Name: "remediate_last_failure"}}
		if upgrade {
			attrs = append(attrs, hcl.AttributeSchema{Name: "strategy"})
		}
		rc := rd.content(rbs[0].Body, &hcl.BodySchema{Attributes: attrs})
		if rc == nil {
			return
		}
		rd.integer(rc.Attributes, "retries", 0, &rem.Retries)
		rem.RemediateLastFailure = DefaultRemediateLastFailure(upgrade, rem.Retries)
		rd.boolean(rc.Attributes, "remediate_last_failure", &rem.RemediateLastFailure)
		if upgrade {
			rd.oneOf(rc.Attributes, "strategy", &rem.Strategy, "rollback", "uninstall")
		}
	}
	sub := func(typ string, schema *hcl.BodySchema, fn func(*decoder, *hcl.BodyContent)) {
		bs := c.Blocks.OfType(typ)
		if len(bs) == 0 {
			return
		}
		d.atMostOne(bs)
		sd := d.nested(typ, bs[0])
		if sc := sd.content(bs[0].Body, schema); sc != nil {
			fn(sd, sc)
		}
	}
	sub("install", &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "create_namespace"}, {Name: "crds"}, {Name: "disable_hooks"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "remediation"}},
	}, func(sd *decoder, sc *hcl.BodyContent) {
		sd.boolean(sc.Attributes, "create_namespace", &r.Install.CreateNamespace)
		sd.oneOf(sc.Attributes, "crds", &r.Install.CRDs, crds...)
		sd.boolean(sc.Attributes, "disable_hooks", &r.Install.DisableHooks)
		remediation(sd, sc.Blocks, &r.Install.Remediation, false)
	})
	sub("upgrade", &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "crds"}, {Name: "cleanup_on_fail"}, {Name: "force"}, {Name: "disable_hooks"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "remediation"}},
	}, func(sd *decoder, sc *hcl.BodyContent) {
		sd.oneOf(sc.Attributes, "crds", &r.Upgrade.CRDs, crds...)
		sd.boolean(sc.Attributes, "cleanup_on_fail", &r.Upgrade.CleanupOnFail)
		sd.boolean(sc.Attributes, "force", &r.Upgrade.Force)
		sd.boolean(sc.Attributes, "disable_hooks", &r.Upgrade.DisableHooks)
		remediation(sd, sc.Blocks, &r.Upgrade.Remediation, true)
	})
	sub("rollback", &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "cleanup_on_fail"}, {Name: "force"}, {Name: "recreate"}, {Name: "disable_hooks"}, {Name: "timeout"},
	}}, func(sd *decoder, sc *hcl.BodyContent) {
		sd.boolean(sc.Attributes, "cleanup_on_fail", &r.Rollback.CleanupOnFail)
		sd.boolean(sc.Attributes, "force", &r.Rollback.Force)
		sd.boolean(sc.Attributes, "recreate", &r.Rollback.Recreate)
		sd.boolean(sc.Attributes, "disable_hooks", &r.Rollback.DisableHooks)
		sd.duration(sc.Attributes, "timeout", &r.Rollback.Timeout)
	})
	sub("uninstall", &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "keep_history"}, {Name: "disable_hooks"}, {Name: "timeout"},
	}}, func(sd *decoder, sc *hcl.BodyContent) {
		sd.boolean(sc.Attributes, "keep_history", &r.Uninstall.KeepHistory)
		sd.boolean(sc.Attributes, "disable_hooks", &r.Uninstall.DisableHooks)
		sd.duration(sc.Attributes, "timeout", &r.Uninstall.Timeout)
	})
	sub("drift_detection", &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "mode"}}},
		func(sd *decoder, sc *hcl.BodyContent) {
			sd.oneOf(sc.Attributes, "mode", &r.DriftDetection.Mode, "enabled", "warn", "disabled")
		})
	r.Refs = appendRefs(r.Refs, r.Source, r.DependsOn)
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

func (l *loader) decodeNotification(b *hcl.Block) {
	if skipped(b) {
		return
	}
	n := &Notification{Name: b.Labels[0]}
	d := l.newDecoder(&n.Meta, b, nil)
	c := d.content(b.Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "type", Required: true}, {Name: "url", Required: true}, {Name: "events"}, {Name: "headers"},
	}})
	l.st.Notifications[n.Name] = n
	if c == nil {
		return
	}
	d.oneOf(c.Attributes, "type", &n.Type, "webhook", "slack")
	if d.secret(c.Attributes, "url", &n.URL) {
		if u, err := url.Parse(n.URL.Reveal()); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			l.errf(c.Attributes["url"].Expr.Range(), "Invalid notification URL", "The url must be an http:// or https:// URL.")
		}
	}
	if d.strList(c.Attributes, "events", &n.Events) {
		for _, e := range n.Events {
			if e != "drift" && e != "error" && e != "recovered" {
				l.errf(c.Attributes["events"].Expr.Range(), "Invalid event",
					"%q is not an event.%s Use \"drift\", \"error\" or \"recovered\".", e, didYouMean(e, []string{"drift", "error", "recovered"}))
			}
		}
	}
	var headers map[string]string
	if d.strMap(c.Attributes, "headers", &headers) {
		n.Headers = make(map[string]Sensitive, len(headers))
		for k, v := range headers {
			n.Headers[k] = NewSensitive(v)
		}
	}
}
