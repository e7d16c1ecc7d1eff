package fluximport

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// fluxSourceTimeout is the default timeout of Flux's sources and of
// strata's.
const fluxSourceTimeout = 60 * time.Second

// commonSource translates what every Flux source has: interval, timeout,
// suspend.
func commonSource(b *hclwrite.Body, s fields) {
	if d, ok := s.duration("interval"); ok {
		setDuration(b, "interval", d)
	}
	if d, ok := s.duration("timeout"); ok && d != fluxSourceTimeout {
		setDuration(b, "timeout", d)
	}
	s.leaveIf("suspend", "strata has no suspended sources; the blocks using this source fetch it at every plan (suspend those blocks instead)")
	s.leave("accessFrom", "strata has no cross-namespace access control for sources")
	s.leave("proxySecretRef", "strata fetches through the proxy of its environment (HTTPS_PROXY); set that instead")
	if p := s.str("provider"); p != "" && p != "generic" {
		s.o.leave(s.line("provider"), s.at("provider"), fmt.Sprintf("strata has no %s workload identity; give the source credentials in an auth block", p))
	}
}

// gitSource translates a GitRepository.
func (im *importer) gitSource(body *hclwrite.Body, o *object) {
	s := o.spec
	checkSubst(o)
	blk := hclwrite.NewBlock("source", []string{"git", im.names["git"][o.ref()]})
	b := blk.Body()
	u := s.required("url")
	setStr(b, "url", u)
	gitRef(b, s.child("ref"))
	if ig := s.str("ignore"); ig != "" {
		setStrs(b, "ignore", ignoreRules(ig))
	}
	commonSource(b, s)
	s.leaveIf("recurseSubmodules", "strata does not fetch Git submodules; vendor them or declare their repositories as sources")
	s.leave("include", "strata does not merge other GitRepositories into a tree; declare them as sources of their own")
	s.leave("sparseCheckout", "strata checks out the whole tree; the kustomization's path selects the directory")
	s.ignore("gitImplementation") // deprecated: Flux uses go-git, as strata does
	if v := s.child("verify"); v.valid() {
		gitVerify(b, v, o)
	}
	if sec := s.child("secretRef"); sec.valid() {
		gitAuth(b, u, ref{o.namespace, sec.required("name")})
	}
	emit(body, o, blk)
}

// gitRef translates a GitRepository's ref with Flux's precedence: commit
// (with branch), then name, semver, tag, branch; none is Flux's default,
// the master branch.
func gitRef(b *hclwrite.Body, r fields) {
	commit, name, semver, tag, branch := r.str("commit"), r.str("name"), r.str("semver"), r.str("tag"), r.str("branch")
	switch {
	case commit != "":
		if branch != "" {
			setStr(b, "branch", branch)
		}
		setStr(b, "commit", commit)
	case name != "" && strings.HasPrefix(name, "refs/heads/"):
		setStr(b, "branch", strings.TrimPrefix(name, "refs/heads/"))
	case name != "" && strings.HasPrefix(name, "refs/tags/"):
		setStr(b, "tag", strings.TrimPrefix(name, "refs/tags/"))
	case name != "":
		setStr(b, "ref", name)
	case semver != "":
		c, err := versionConstraint(semver)
		if err != nil {
			r.o.leave(r.line("semver"), r.at("semver"), err.Error()+"; left out (the remote's default branch is taken): set semver in Terraform's syntax")
			return
		}
		setStr(b, "semver", c)
	case tag != "":
		setStr(b, "tag", tag)
	case branch != "":
		setStr(b, "branch", branch)
	default:
		setStr(b, "branch", "master")
	}
}

// ignoreRules splits Flux's .gitignore-style ignore text into patterns.
func ignoreRules(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// gitVerify translates verify: Flux's mode (default HEAD) and the Secret
// that holds the public keys.
func gitVerify(b *hclwrite.Body, v fields, o *object) {
	mode := map[string]string{"": "head", "head": "head", "HEAD": "head", "Tag": "tag", "TagAndHEAD": "tag_and_head"}
	m, ok := mode[v.str("mode")]
	if !ok {
		v.o.leave(v.line("mode"), v.at("mode"), "unknown verification mode; strata checks the commit (head), the tag (tag) or both (tag_and_head)")
		m = "head"
	}
	sec := ref{o.namespace, v.child("secretRef").required("name")}
	vb := b.AppendNewBlock("verify", nil).Body()
	setStr(vb, "mode", m)
	comment(vb, fmt.Sprintf("The OpenPGP public keys of Secret %s (every key of it, concatenated).", sec))
	vb.SetAttributeRaw("public_keys", envTokens(envName(sec, "keys"), nil))
}

// envName names the environment variable that carries key of the Secret
// sec: NAMESPACE_NAME_KEY in upper case.
func envName(sec ref, key string) string {
	s := strings.ToUpper(sec.namespace + "_" + sec.name + "_" + key)
	return notEnv.ReplaceAllString(s, "_")
}

var empty = ""

// secretComment says where the values of an auth block come from.
func secretComment(b *hclwrite.Body, sec ref, keys ...string) {
	var exports []string
	for _, k := range keys {
		exports = append(exports, fmt.Sprintf("  export %s=\"$(kubectl -n %s get secret %s -o jsonpath='{.data.%s}' | base64 -d)\"",
			envName(sec, k), sec.namespace, sec.name, strings.ReplaceAll(k, ".", `\.`)))
	}
	comment(b, fmt.Sprintf("From Secret %s, as Flux reads it: the keys it lacks stay empty. For example:\n%s", sec, strings.Join(exports, "\n")))
}

// gitAuth translates a GitRepository's secretRef into an auth block that
// reads the keys Flux would read, for the URL's protocol, from the
// environment.
func gitAuth(b *hclwrite.Body, rawURL string, sec ref) {
	ab := b.AppendNewBlock("auth", nil).Body()
	if isSSH(rawURL) {
		secretComment(ab, sec, "identity", "known_hosts", "password")
		ab.SetAttributeRaw("private_key", envTokens(envName(sec, "identity"), nil))
		ab.SetAttributeRaw("known_hosts", envTokens(envName(sec, "known_hosts"), nil))
		ab.SetAttributeRaw("passphrase", envTokens(envName(sec, "password"), &empty))
		return
	}
	secretComment(ab, sec, "username", "password", "bearerToken", "ca.crt")
	for _, kv := range [][2]string{{"username", "username"}, {"password", "password"}, {"bearer_token", "bearerToken"}, {"ca", "ca.crt"}} {
		ab.SetAttributeRaw(kv[0], envTokens(envName(sec, kv[1]), &empty))
	}
}

func isSSH(u string) bool {
	if strings.HasPrefix(u, "ssh://") {
		return true
	}
	return !strings.Contains(u, "://") && strings.Contains(u, "@")
}

// helmSource translates a HelmRepository.
func (im *importer) helmSource(body *hclwrite.Body, o *object) {
	s := o.spec
	checkSubst(o)
	blk := hclwrite.NewBlock("source", []string{"helm", im.names["helm"][o.ref()]})
	b := blk.Body()
	u := s.required("url")
	typ := s.str("type")
	if typ == "oci" && !strings.HasPrefix(u, "oci://") {
		s.o.leave(s.line("url"), s.at("url"), "an OCI repository's URL must start with oci://")
	}
	setStr(b, "url", u)
	commonSource(b, s)
	if insecure, _ := s.boolean("insecure"); insecure {
		setBool(b, "plain_http", true)
	}
	if pc, _ := s.boolean("passCredentials"); pc {
		setBool(b, "pass_credentials", true)
	}
	helmAuth(b, o, s)
	emit(body, o, blk)
}

// helmAuth translates secretRef and certSecretRef of a HelmRepository or
// OCIRepository.
func helmAuth(b *hclwrite.Body, o *object, s fields) {
	var sec, cert *ref
	if c := s.child("secretRef"); c.valid() {
		sec = &ref{o.namespace, c.required("name")}
	}
	if c := s.child("certSecretRef"); c.valid() {
		cert = &ref{o.namespace, c.required("name")}
	}
	if cert != nil {
		secretComment(b, *cert, "ca.crt")
		b.SetAttributeRaw("ca", envTokens(envName(*cert, "ca.crt"), &empty))
	}
	if sec == nil && cert == nil {
		return
	}
	ab := b.AppendNewBlock("auth", nil).Body()
	if sec != nil {
		secretComment(ab, *sec, "username", "password")
		comment(ab, "A Secret of type kubernetes.io/dockerconfigjson holds them in its auths entry instead.")
		ab.SetAttributeRaw("username", envTokens(envName(*sec, "username"), &empty))
		ab.SetAttributeRaw("password", envTokens(envName(*sec, "password"), &empty))
	}
	if cert != nil {
		secretComment(ab, *cert, "tls.crt", "tls.key")
		ab.SetAttributeRaw("cert", envTokens(envName(*cert, "tls.crt"), &empty))
		ab.SetAttributeRaw("key", envTokens(envName(*cert, "tls.key"), &empty))
	}
}

// ociSource translates an OCIRepository: a chart source (source "helm"
// with an oci:// URL) when releases use it, an artifact source (source
// "oci") when kustomizations use it or nothing does; both when both do.
func (im *importer) ociSource(file func(string) *hclwrite.Body, o *object) {
	checkSubst(o)
	if im.chartUse["OCIRepository"][o.ref()] {
		im.ociChartSource(file(SourcesFile), o)
	}
	if im.artifactUse(o.ref()) {
		o.own = nil // the chart source's notes are written with it
		im.ociArtifactSource(file(SourcesFile), o)
	}
}

// artifactUse reports whether the OCIRepository r becomes a source "oci":
// kustomizations use it, or no release does.
func (im *importer) artifactUse(r ref) bool {
	return im.kustUse[r] || !im.chartUse["OCIRepository"][r]
}

// ociChartSource writes the source "helm" of an OCIRepository that
// releases take their chart from.
func (im *importer) ociChartSource(body *hclwrite.Body, o *object) {
	s := o.spec
	u := s.required("url")
	repo, chart := splitChartURL(u)
	blk := hclwrite.NewBlock("source", []string{"helm", im.names["helm"][o.ref()]})
	b := blk.Body()
	setStr(b, "url", repo)
	ociCommon(b, o)
	s.ignore("ref") // read by the releases using it
	s.leave("layerSelector", "a Helm chart is the artifact's chart layer; strata selects no other layer")
	s.leave("ignore", "a chart is not filtered")
	if chart == "" {
		o.leave(s.line("url"), s.at("url"), "the URL names no chart")
	}
	emit(body, o, blk)
}

// ociArtifactSource writes the source "oci" of an OCIRepository that
// kustomizations take their manifests from.
func (im *importer) ociArtifactSource(body *hclwrite.Body, o *object) {
	s := o.spec
	blk := hclwrite.NewBlock("source", []string{"oci", im.names["oci"][o.ref()]})
	b := blk.Body()
	setStr(b, "url", s.required("url"))
	ociRef(b, s.child("ref"))
	ociCommon(b, o)
	if ls := s.child("layerSelector"); !ls.valid() || ls.str("mediaType") != fluxContentType || ls.str("operation") != "" && ls.str("operation") != "extract" {
		s.leave("layerSelector", "strata takes the layer of Flux's content media type ("+fluxContentType+"), or the first layer, and extracts it; push the manifests in that layer")
	}
	s.ignore("layerSelector") // what strata does
	s.leave("ignore", "strata has no ignore rules for OCI artifacts; leave the files out of the artifact or select them with the kustomization's path")
	emit(body, o, blk)
}

// fluxContentType is the media type of the layer of a Flux artifact.
const fluxContentType = "application/vnd.cncf.flux.content.v1.tar+gzip"

// ociCommon translates what both blocks of an OCIRepository share:
// interval, timeout, insecure, credentials, and the settings strata has no
// counterpart of.
func ociCommon(b *hclwrite.Body, o *object) {
	s := o.spec
	commonSource(b, s)
	if insecure, _ := s.boolean("insecure"); insecure {
		setBool(b, "plain_http", true)
	}
	s.leave("verify", "strata does not verify artifact signatures (cosign, notation)")
	s.leave("serviceAccountName", "strata has no workload identity for registries; give the source credentials in an auth block")
	helmAuth(b, o, s)
}

// ociRef translates an OCIRepository's ref with Flux's precedence: digest,
// then semver, then tag; none is Flux's default, the tag latest.
func ociRef(b *hclwrite.Body, r fields) {
	digest, semver, tag := r.str("digest"), r.str("semver"), r.str("tag")
	r.ignore("digest", "semver", "tag")
	switch {
	case digest != "":
		setStr(b, "digest", digest)
	case semver != "":
		c, err := versionConstraint(semver)
		if err != nil {
			fallback := tag
			if fallback == "" {
				fallback = "latest"
			}
			r.o.leave(r.line("semver"), r.at("semver"), fmt.Sprintf("%s; the tag %s is taken instead: set semver in Terraform's syntax", err, fallback))
			setStr(b, "tag", fallback)
			break
		}
		setStr(b, "semver", c)
	case tag != "":
		setStr(b, "tag", tag)
	default:
		setStr(b, "tag", "latest")
	}
	if digest == "" && semver != "" {
		r.leave("semverFilter", "strata has no version filter; restrict the constraint instead")
	}
	r.ignore("semverFilter") // Flux applies it to semver only
}

// splitChartURL splits oci://host/path/chart into the repository URL and
// the chart name.
func splitChartURL(u string) (repo, chart string) {
	p, err := url.Parse(u)
	if err != nil {
		return u, ""
	}
	i := strings.LastIndex(p.Path, "/")
	if i < 0 {
		return u, ""
	}
	chart = p.Path[i+1:]
	p.Path = p.Path[:i]
	return p.String(), chart
}

// helmChart checks a HelmChart: it becomes the chart of the releases that
// name it in chartRef (see release), and nothing when none does.
func (im *importer) helmChart(o *object) {
	if im.chartUse["HelmChart"][o.ref()] {
		return
	}
	o.spec.ignore("chart", "version", "sourceRef", "interval", "reconcileStrategy", "valuesFiles", "valuesFile", "ignoreMissingValuesFiles", "verify", "suspend", "accessFrom")
	o.leave(o.line, "kind", "no HelmRelease uses this HelmChart (chartRef); strata fetches charts for releases only")
}
