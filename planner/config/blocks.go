package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// The stack language: one table per block body (see body in schema.go);
// variables, locals and moved blocks, whose bodies are expressions rather
// than settings, are decoded in vars.go and moved.go. Each line is an attribute or nested
// block, the field it fills and how its value is checked. Adding an
// attribute is one line here plus the field in stack.go; see the package
// documentation.

var strataBody = body[Strata]{
	attrs: []attr[Strata]{
		{name: "required_version", decode: requiredVersion},
	},
	blocks: []nested[Strata]{
		{typ: "backend", labels: []string{"type"}, decode: strataBackend},
		{typ: "encryption", decode: strataEncryption},
	},
}

var localBackendBody = body[Backend]{
	attrs: []attr[Backend]{
		{name: "path", decode: text(func(b *Backend) *string { return &b.Path })},
	},
	check: func(d *decoder, c *hcl.BodyContent, b *Backend) {
		if a, ok := c.Attributes["path"]; ok && b.Path != "" {
			d.statePath(a, b.Path)
		}
		if b.Path == "" {
			b.Path = DefaultStatePath
		}
	},
}

var kubernetesBackendBody = body[Backend]{
	attrs: []attr[Backend]{
		{name: "namespace", required: true, decode: text(func(b *Backend) *string { return &b.Namespace })},
		{name: "name", required: true, decode: text(func(b *Backend) *string { return &b.Name })},
		{name: "kubeconfig", decode: homePath(func(b *Backend) *string { return &b.Kubeconfig })},
		{name: "context", decode: text(func(b *Backend) *string { return &b.Context })},
	},
	check: func(d *decoder, _ *hcl.BodyContent, b *Backend) { d.dnsLabel("namespace", b.Namespace) },
}

var clusterBody = body[Cluster]{
	attrs: []attr[Cluster]{
		{name: "kubeconfig", decode: homePath(func(c *Cluster) *string { return &c.Kubeconfig })},
		{name: "context", decode: text(func(c *Cluster) *string { return &c.Context })},
	},
}

var gitSourceBody = body[GitSource]{
	attrs: []attr[GitSource]{
		{name: "url", required: true, decode: text(func(g *GitSource) *string { return &g.URL }, checkGitURL)},
		{name: "branch", decode: text(func(g *GitSource) *string { return &g.Branch })},
		{name: "tag", decode: text(func(g *GitSource) *string { return &g.Tag })},
		{name: "semver", decode: text(func(g *GitSource) *string { return &g.Semver }, checkConstraint)},
		{name: "commit", decode: text(func(g *GitSource) *string { return &g.Commit }, checkCommit)},
		{name: "ref", decode: text(func(g *GitSource) *string { return &g.RefName }, checkRefName)},
		{name: "ignore", decode: list(func(g *GitSource) *[]string { return &g.Ignore })},
		{name: "interval", decode: duration(func(g *GitSource) *time.Duration { return &g.Interval })},
		{name: "timeout", decode: duration(func(g *GitSource) *time.Duration { return &g.Timeout })},
		{name: "recurse_submodules", decode: flag(func(g *GitSource) *bool { return &g.RecurseSubmodules }, onlyFalse("Unsupported argument value",
			"strata does not fetch Git submodules yet; vendor the content into the repository or declare the submodule's repository as a source of its own."))},
	},
	check: checkGitRefs,
	blocks: []nested[GitSource]{
		{typ: "verify", decode: optional(&gitVerifyBody, func(g *GitSource) **GitVerify { return &g.Verify })},
		{typ: "auth", decode: optional(&gitAuthBody, func(g *GitSource) **GitAuth { return &g.Auth })},
	},
}

var gitVerifyBody = body[GitVerify]{
	attrs: []attr[GitVerify]{
		{name: "mode", decode: enum(func(v *GitVerify) *string { return &v.Mode }, "head", "tag", "tag_and_head")},
		{name: "public_keys", required: true, decode: text(func(v *GitVerify) *string { return &v.PublicKeys })},
	},
}

var gitAuthBody = body[GitAuth]{
	attrs: []attr[GitAuth]{
		{name: "username", decode: text(func(a *GitAuth) *string { return &a.Username })},
		{name: "password", decode: secret(func(a *GitAuth) *Sensitive { return &a.Password })},
		{name: "bearer_token", decode: secret(func(a *GitAuth) *Sensitive { return &a.BearerToken })},
		{name: "private_key", decode: secret(func(a *GitAuth) *Sensitive { return &a.PrivateKey })},
		{name: "passphrase", decode: secret(func(a *GitAuth) *Sensitive { return &a.Passphrase })},
		{name: "known_hosts", decode: text(func(a *GitAuth) *string { return &a.KnownHosts })},
		{name: "insecure_ignore_host_key", decode: flag(func(a *GitAuth) *bool { return &a.InsecureIgnoreHostKey }, onlyFalse("Unknown SSH hosts are never trusted",
			"strata checks every SSH host key against known_hosts. Add the server's key with: ssh-keyscan HOST >> known_hosts, and pass that file's content as known_hosts."))},
		{name: "ca", decode: text(func(a *GitAuth) *string { return &a.CA })},
	},
	check: checkGitCredentials,
}

var helmSourceBody = body[HelmSource]{
	attrs: []attr[HelmSource]{
		{name: "url", required: true, decode: helmURL},
		{name: "interval", decode: duration(func(h *HelmSource) *time.Duration { return &h.Interval })},
		{name: "timeout", decode: duration(func(h *HelmSource) *time.Duration { return &h.Timeout })},
		{name: "ca", decode: text(func(h *HelmSource) *string { return &h.CA })},
		{name: "insecure_skip_verify", decode: flag(func(h *HelmSource) *bool { return &h.InsecureSkipVerify })},
		{name: "plain_http", decode: flag(func(h *HelmSource) *bool { return &h.PlainHTTP })},
		{name: "pass_credentials", decode: flag(func(h *HelmSource) *bool { return &h.PassCredentials })},
	},
	blocks: []nested[HelmSource]{
		{typ: "auth", decode: optional(&helmAuthBody, func(h *HelmSource) **HelmAuth { return &h.Auth })},
	},
}

var ociSourceBody = body[OCISource]{
	attrs: []attr[OCISource]{
		{name: "url", required: true, decode: ociURL},
		{name: "tag", decode: text(func(o *OCISource) *string { return &o.Tag })},
		{name: "semver", decode: text(func(o *OCISource) *string { return &o.Semver }, checkConstraint)},
		{name: "digest", decode: text(func(o *OCISource) *string { return &o.ManifestDigest }, checkOCIDigest)},
		{name: "interval", decode: duration(func(o *OCISource) *time.Duration { return &o.Interval })},
		{name: "timeout", decode: duration(func(o *OCISource) *time.Duration { return &o.Timeout })},
		{name: "ca", decode: text(func(o *OCISource) *string { return &o.CA })},
		{name: "insecure_skip_verify", decode: flag(func(o *OCISource) *bool { return &o.InsecureSkipVerify })},
		{name: "plain_http", decode: flag(func(o *OCISource) *bool { return &o.PlainHTTP })},
	},
	check: checkOCIRef,
	blocks: []nested[OCISource]{
		{typ: "auth", decode: optional(&helmAuthBody, func(o *OCISource) **HelmAuth { return &o.Auth })},
	},
}

var helmAuthBody = body[HelmAuth]{
	attrs: []attr[HelmAuth]{
		{name: "username", decode: text(func(a *HelmAuth) *string { return &a.Username })},
		{name: "password", decode: secret(func(a *HelmAuth) *Sensitive { return &a.Password })},
		{name: "cert", decode: text(func(a *HelmAuth) *string { return &a.Cert })},
		{name: "key", decode: secret(func(a *HelmAuth) *Sensitive { return &a.Key })},
	},
}

var kustomizationBody = body[Kustomization]{
	attrs: []attr[Kustomization]{
		{name: "source", decode: kustomizationSource},
		{name: "path", decode: kustomizationPath},
		{name: "prune", decode: flag(func(k *Kustomization) *bool { return &k.Prune })},
		{name: "adopt", decode: flag(func(k *Kustomization) *bool { return &k.Adopt })},
		{name: "wait", decode: flag(func(k *Kustomization) *bool { return &k.Wait })},
		{name: "force", decode: flag(func(k *Kustomization) *bool { return &k.Force })},
		{name: "timeout", decode: duration(func(k *Kustomization) *time.Duration { return &k.Timeout })},
		{name: "interval", decode: duration(func(k *Kustomization) *time.Duration { return &k.Interval })},
		{name: "suspend", decode: flag(func(k *Kustomization) *bool { return &k.Suspend })},
		{name: "target_namespace", decode: text(func(k *Kustomization) *string { return &k.TargetNamespace }, checkDNSLabel)},
		{name: "substitute", decode: dict(func(k *Kustomization) *map[string]string { return &k.Substitute }, checkSubstNames)},
		{name: "name_prefix", decode: text(func(k *Kustomization) *string { return &k.NamePrefix })},
		{name: "name_suffix", decode: text(func(k *Kustomization) *string { return &k.NameSuffix })},
		{name: "common_labels", decode: dict(func(k *Kustomization) *map[string]string { return &k.CommonLabels })},
		{name: "common_annotations", decode: dict(func(k *Kustomization) *map[string]string { return &k.CommonAnnotations })},
		{name: "components", decode: list(func(k *Kustomization) *[]string { return &k.Components })},
		{name: "service_account", decode: kustomizationAccount},
		{name: "depends_on", decode: dependsOn(func(k *Kustomization) *[]Ref { return &k.DependsOn })},
	},
	blocks: []nested[Kustomization]{
		{typ: "health_check", decode: repeated(&healthCheckBody, func(k *Kustomization) *[]HealthCheck { return &k.HealthChecks })},
		{typ: "patch", decode: repeated(&patchBody, func(k *Kustomization) *[]Patch { return &k.Patches })},
		{typ: "image", decode: repeated(&imageBody, func(k *Kustomization) *[]Image { return &k.Images })},
		{typ: "decryption", decode: optional(&decryptionBody, func(k *Kustomization) **Decryption { return &k.Decryption })},
	},
}

var healthCheckBody = body[HealthCheck]{
	attrs: []attr[HealthCheck]{
		{name: "api_version", required: true, decode: text(func(h *HealthCheck) *string { return &h.APIVersion })},
		{name: "kind", required: true, decode: text(func(h *HealthCheck) *string { return &h.Kind })},
		{name: "name", required: true, decode: text(func(h *HealthCheck) *string { return &h.Name })},
		{name: "namespace", decode: text(func(h *HealthCheck) *string { return &h.Namespace })},
		{name: "condition", decode: text(func(h *HealthCheck) *string { return &h.Condition }, checkConditionType)},
	},
}

var patchBody = body[Patch]{
	attrs: []attr[Patch]{
		{name: "patch", required: true, decode: text(func(p *Patch) *string { return &p.Patch })},
	},
	blocks: []nested[Patch]{
		{typ: "target", decode: optional(&selectorBody, func(p *Patch) **Selector { return &p.Target })},
	},
}

var selectorBody = body[Selector]{
	attrs: []attr[Selector]{
		{name: "group", decode: text(func(s *Selector) *string { return &s.Group })},
		{name: "version", decode: text(func(s *Selector) *string { return &s.Version })},
		{name: "kind", decode: text(func(s *Selector) *string { return &s.Kind })},
		{name: "name", decode: text(func(s *Selector) *string { return &s.Name })},
		{name: "namespace", decode: text(func(s *Selector) *string { return &s.Namespace })},
		{name: "label_selector", decode: text(func(s *Selector) *string { return &s.LabelSelector })},
		{name: "annotation_selector", decode: text(func(s *Selector) *string { return &s.AnnotationSelector })},
	},
}

var imageBody = body[Image]{
	attrs: []attr[Image]{
		{name: "name", required: true, decode: text(func(i *Image) *string { return &i.Name })},
		{name: "new_name", decode: text(func(i *Image) *string { return &i.NewName })},
		{name: "new_tag", decode: text(func(i *Image) *string { return &i.NewTag })},
		{name: "digest", decode: text(func(i *Image) *string { return &i.Digest })},
	},
	check: checkImage,
}

var releaseBody = body[Release]{
	attrs: []attr[Release]{
		{name: "name", decode: releaseName},
		{name: "namespace", decode: text(func(r *Release) *string { return &r.Namespace }, checkDNSLabel)},
		{name: "source", decode: releaseSource},
		{name: "chart", required: true, decode: releaseChart},
		{name: "version", decode: text(func(r *Release) *string { return &r.Version }, checkConstraint)},
		{name: "values", decode: releaseValues},
		{name: "values_files", decode: list(func(r *Release) *[]string { return &r.ValuesFiles }, checkValuesFiles)},
		{name: "max_history", decode: count(func(r *Release) *int { return &r.MaxHistory })},
		{name: "timeout", decode: duration(func(r *Release) *time.Duration { return &r.Timeout })},
		{name: "interval", decode: duration(func(r *Release) *time.Duration { return &r.Interval })},
		{name: "wait", decode: flag(func(r *Release) *bool { return &r.Wait })},
		{name: "adopt", decode: flag(func(r *Release) *bool { return &r.Adopt })},
		{name: "suspend", decode: flag(func(r *Release) *bool { return &r.Suspend })},
		{name: "service_account", decode: releaseAccount},
		{name: "depends_on", decode: dependsOn(func(r *Release) *[]Ref { return &r.DependsOn })},
	},
	blocks: []nested[Release]{
		{typ: "install", decode: single(&installBody, func(r *Release) *ReleaseInstall { return &r.Install })},
		{typ: "upgrade", decode: single(&upgradeBody, func(r *Release) *ReleaseUpgrade { return &r.Upgrade })},
		{typ: "rollback", decode: single(&rollbackBody, func(r *Release) *ReleaseRollback { return &r.Rollback })},
		{typ: "uninstall", decode: single(&uninstallBody, func(r *Release) *ReleaseUninstall { return &r.Uninstall })},
		{typ: "drift_detection", decode: single(&driftDetectionBody, func(r *Release) *DriftDetection { return &r.DriftDetection })},
		{typ: "values_from", decode: repeated(&valuesFromBody, func(r *Release) *[]ValuesFrom { return &r.ValuesFrom })},
		{typ: "decryption", decode: optional(&decryptionBody, func(r *Release) **Decryption { return &r.Decryption })},
	},
}

// crdPolicies are the values of install.crds and upgrade.crds.
var crdPolicies = []string{CRDsSkip, CRDsCreate, CRDsCreateReplace}

var installBody = body[ReleaseInstall]{
	attrs: []attr[ReleaseInstall]{
		{name: "create_namespace", decode: flag(func(i *ReleaseInstall) *bool { return &i.CreateNamespace })},
		{name: "crds", decode: enum(func(i *ReleaseInstall) *string { return &i.CRDs }, crdPolicies...)},
		{name: "disable_hooks", decode: flag(func(i *ReleaseInstall) *bool { return &i.DisableHooks })},
	},
	blocks: []nested[ReleaseInstall]{
		{typ: "remediation", decode: single(&installRemediationBody, func(i *ReleaseInstall) *Remediation { return &i.Remediation })},
	},
}

var upgradeBody = body[ReleaseUpgrade]{
	attrs: []attr[ReleaseUpgrade]{
		{name: "crds", decode: enum(func(u *ReleaseUpgrade) *string { return &u.CRDs }, crdPolicies...)},
		{name: "cleanup_on_fail", decode: flag(func(u *ReleaseUpgrade) *bool { return &u.CleanupOnFail })},
		{name: "force", decode: flag(func(u *ReleaseUpgrade) *bool { return &u.Force })},
		{name: "disable_hooks", decode: flag(func(u *ReleaseUpgrade) *bool { return &u.DisableHooks })},
	},
	blocks: []nested[ReleaseUpgrade]{
		{typ: "remediation", decode: single(&upgradeRemediationBody, func(u *ReleaseUpgrade) *Remediation { return &u.Remediation })},
	},
}

// installRemediationBody and upgradeRemediationBody differ in strategy
// (an install has nothing to roll back to) and in the default of
// remediate_last_failure.
var installRemediationBody = body[Remediation]{
	attrs: []attr[Remediation]{
		{name: "retries", decode: count(func(r *Remediation) *int { return &r.Retries })},
		{name: "remediate_last_failure", decode: lastFailure(false)},
	},
}

var upgradeRemediationBody = body[Remediation]{
	attrs: []attr[Remediation]{
		{name: "retries", decode: count(func(r *Remediation) *int { return &r.Retries })},
		{name: "remediate_last_failure", decode: lastFailure(true)},
		{name: "strategy", decode: enum(func(r *Remediation) *string { return &r.Strategy }, "rollback", "uninstall")},
	},
}

var rollbackBody = body[ReleaseRollback]{
	attrs: []attr[ReleaseRollback]{
		{name: "cleanup_on_fail", decode: flag(func(r *ReleaseRollback) *bool { return &r.CleanupOnFail })},
		{name: "force", decode: flag(func(r *ReleaseRollback) *bool { return &r.Force })},
		{name: "recreate", decode: flag(func(r *ReleaseRollback) *bool { return &r.Recreate })},
		{name: "disable_hooks", decode: flag(func(r *ReleaseRollback) *bool { return &r.DisableHooks })},
		{name: "timeout", decode: duration(func(r *ReleaseRollback) *time.Duration { return &r.Timeout })},
	},
}

var uninstallBody = body[ReleaseUninstall]{
	attrs: []attr[ReleaseUninstall]{
		{name: "keep_history", decode: flag(func(u *ReleaseUninstall) *bool { return &u.KeepHistory })},
		{name: "disable_hooks", decode: flag(func(u *ReleaseUninstall) *bool { return &u.DisableHooks })},
		{name: "timeout", decode: duration(func(u *ReleaseUninstall) *time.Duration { return &u.Timeout })},
	},
}

var driftDetectionBody = body[DriftDetection]{
	attrs: []attr[DriftDetection]{
		{name: "mode", decode: enum(func(m *DriftDetection) *string { return &m.Mode }, "enabled", "warn", "disabled")},
	},
}

var notificationBody = body[Notification]{
	attrs: []attr[Notification]{
		{name: "type", required: true, decode: enum(func(n *Notification) *string { return &n.Type }, "webhook", "slack")},
		{name: "url", required: true, decode: secret(func(n *Notification) *Sensitive { return &n.URL }, checkNotificationURL)},
		{name: "events", decode: list(func(n *Notification) *[]string { return &n.Events }, checkEvents)},
		{name: "headers", decode: notificationHeaders},
	},
}

// skipped reports whether declareBlocks rejected b (duplicate or bad name).
func skipped(b *hcl.Block) bool { return b.Type == "" }

func (l *loader) decodeGitSource(b *hcl.Block) {
	if skipped(b) {
		return
	}
	g := &GitSource{Name: b.Labels[1], Interval: DefaultSourceInterval, Timeout: DefaultSourceTimeout}
	l.st.GitSources[g.Name] = g
	decodeBody(l.newDecoder(&g.Meta, b, &g.Refs), b, &gitSourceBody, g)
}

func (l *loader) decodeHelmSource(b *hcl.Block) {
	if skipped(b) {
		return
	}
	h := &HelmSource{Name: b.Labels[1], Type: "default", Interval: DefaultSourceInterval, Timeout: DefaultSourceTimeout}
	l.st.HelmSources[h.Name] = h
	decodeBody(l.newDecoder(&h.Meta, b, &h.Refs), b, &helmSourceBody, h)
}

func (l *loader) decodeOCISource(b *hcl.Block) {
	if skipped(b) {
		return
	}
	o := &OCISource{Name: b.Labels[1], Interval: DefaultSourceInterval, Timeout: DefaultSourceTimeout}
	l.st.OCISources[o.Name] = o
	decodeBody(l.newDecoder(&o.Meta, b, &o.Refs), b, &ociSourceBody, o)
}

func (l *loader) decodeKustomization(b *hcl.Block) {
	if skipped(b) {
		return
	}
	k := &Kustomization{
		Name: b.Labels[0], Prune: true, Wait: true,
		Timeout: DefaultKustomizationTimeout, Interval: DefaultKustomizationInterval,
	}
	l.st.Kustomizations[k.Name] = k
	if decodeBody(l.newDecoder(&k.Meta, b, &k.Refs), b, &kustomizationBody, k) {
		k.Refs = appendRefs(k.Refs, k.Source, k.DependsOn)
	}
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
	l.st.Releases[r.BlockName] = r
	if decodeBody(l.newDecoder(&r.Meta, b, &r.Refs), b, &releaseBody, r) {
		r.Refs = appendRefs(r.Refs, r.Source, r.DependsOn)
	}
}

func (l *loader) decodeNotification(b *hcl.Block) {
	if skipped(b) {
		return
	}
	n := &Notification{Name: b.Labels[0]}
	l.st.Notifications[n.Name] = n
	decodeBody(l.newDecoder(&n.Meta, b, nil), b, &notificationBody, n)
}
