package config

import (
	"sort"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/strata-gitops/strata/internal/addrs"
)

// Defaults for fields a stack leaves unset.
const (
	DefaultSourceInterval        = 10 * time.Minute
	DefaultSourceTimeout         = 60 * time.Second
	DefaultKustomizationInterval = 10 * time.Minute
	DefaultKustomizationTimeout  = 5 * time.Minute
	DefaultReleaseInterval       = 10 * time.Minute
	DefaultReleaseTimeout        = 5 * time.Minute
	DefaultMaxHistory            = 5
	DefaultStatePath             = ".strata/state.db"
)

// Stack is a loaded stack: every *.hcl file of one directory.
type Stack struct {
	// Dir is the stack directory as passed to Load.
	Dir string
	// Files holds every parsed file by the name used in diagnostics, for
	// rendering snippets.
	Files map[string]*hcl.File

	Strata    Strata
	Cluster   Cluster
	Variables map[string]*Variable
	Locals    map[string]*Local

	GitSources     map[string]*GitSource
	HelmSources    map[string]*HelmSource
	OCISources     map[string]*OCISource
	Kustomizations map[string]*Kustomization
	Releases       map[string]*Release
	Notifications  map[string]*Notification
	// Moved are the `moved` blocks, in file order.
	Moved []Moved
	// Environments are the environment blocks, in declaration order.
	Environments []*Environment
	// Environment is the environment the stack was loaded for
	// (LoadOptions.Environment), nil for none. Its cluster, values and
	// backend are already in Cluster, Variables and Strata.Backend.
	Environment *Environment
	// Policies are the `policy` blocks by name.
	Policies map[string]*Policy
	// policiesDecoded is set once Load got to decode the policy blocks.
	policiesDecoded bool
}

// Moved is a `moved { from = ADDRESS  to = ADDRESS }` block: the block
// once at From is now To. A plan moves From's state to To and rewrites the
// objects' strata.dev/block labels in place instead of deleting and
// creating them; once the state has no From, the block does nothing.
type Moved struct {
	From, To Address
	// DeclRange is the block's header.
	DeclRange hcl.Range
}

// Blocks returns every graph block (sources, kustomizations, releases)
// sorted by address.
func (s *Stack) Blocks() []Block {
	out := make([]Block, 0, len(s.GitSources)+len(s.HelmSources)+len(s.OCISources)+len(s.Kustomizations)+len(s.Releases))
	for _, b := range s.GitSources {
		out = append(out, b)
	}
	for _, b := range s.HelmSources {
		out = append(out, b)
	}
	for _, b := range s.OCISources {
		out = append(out, b)
	}
	for _, b := range s.Kustomizations {
		out = append(out, b)
	}
	for _, b := range s.Releases {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address().Less(out[j].Address()) })
	return out
}

// Block returns the graph block at addr, or nil.
func (s *Stack) Block(addr Address) Block {
	switch addr.Kind {
	case KindSource:
		switch addr.Type {
		case SourceGit:
			if b, ok := s.GitSources[addr.Name]; ok {
				return b
			}
		case SourceHelm:
			if b, ok := s.HelmSources[addr.Name]; ok {
				return b
			}
		case SourceOCI:
			if b, ok := s.OCISources[addr.Name]; ok {
				return b
			}
		}
	case KindKustomization:
		if b, ok := s.Kustomizations[addr.Name]; ok {
			return b
		}
	case KindRelease:
		if b, ok := s.Releases[addr.Name]; ok {
			return b
		}
	}
	return nil
}

// Block is a node of the dependency graph: a source, a kustomization or a
// release.
type Block interface {
	// Address is the block's address, e.g. kustomization.platform_base.
	Address() Address
	// BlockMeta returns the block's ranges and sensitivity information.
	BlockMeta() *Meta
	// References lists every block this one depends on: references in
	// expressions, the source attribute and depends_on entries, in source
	// order. The same address may appear more than once.
	References() []Ref
	// Digest is a stable digest ("sha256:...") of the block's effective
	// configuration. It changes when any configured value changes (secrets
	// included), and not when only ranges, comments, formatting or
	// depends_on change.
	Digest() string
}

// Meta is what every block keeps besides its values.
type Meta struct {
	// DeclRange is the range of the block header (type and labels).
	DeclRange hcl.Range `digest:"-"`
	// Attrs holds the range of every attribute and nested block set in the
	// block, keyed by dotted path: "path", "upgrade.remediation.retries",
	// "health_check[1].kind". A nested block's own range is under its path
	// ("upgrade", "health_check[1]").
	Attrs map[string]hcl.Range `digest:"-"`
	// SensitivePaths lists, sorted, the attribute paths whose value derives
	// from a sensitive variable, e.g. "values.auth.password" or
	// "substitute.token".
	SensitivePaths []string `digest:"-"`
	// SensitiveValues are the values at SensitivePaths (their string
	// leaves, numbers as text), so that what they become in rendered
	// objects can be masked. They print as "(sensitive value)".
	SensitiveValues []Sensitive `digest:"-" json:"-"`
	// Unknown lists, sorted, the attribute paths whose value was unknown at
	// load time (only with LoadOptions.Partial).
	Unknown []string `digest:"-"`
}

// Range returns the range of the attribute or nested block at path, or
// DeclRange if it was not set.
func (m *Meta) Range(path string) hcl.Range {
	if r, ok := m.Attrs[path]; ok {
		return r
	}
	return m.DeclRange
}

// IsSet reports whether the attribute or nested block at path was set.
func (m *Meta) IsSet(path string) bool {
	_, ok := m.Attrs[path]
	return ok
}

// IsSensitive reports whether the value at path, or any value under it,
// derives from a sensitive variable.
func (m *Meta) IsSensitive(path string) bool {
	for _, p := range m.SensitivePaths {
		if p == path || (len(p) > len(path) && p[:len(path)] == path && (p[len(path)] == '.' || p[len(path)] == '[')) {
			return true
		}
	}
	return false
}

// Ref is a reference from one block to another.
type Ref struct {
	Addr Address
	// Range is where the reference is written.
	Range hcl.Range
	// Explicit is true for depends_on entries.
	Explicit bool
}

// Strata holds the settings of the strata block.
type Strata struct {
	Meta
	// RequiredVersion is nil when not set.
	RequiredVersion version.Constraints
	Backend         Backend
	// Encryption is nil unless the state and saved plans are encrypted.
	Encryption *Encryption
}

// Backend is the state backend. Type is "local" (the default) or
// "kubernetes".
type Backend struct {
	Meta
	Type string
	// Path of the bbolt file for the local backend, relative to the stack
	// directory and inside it (checked at load, see statePath). Default
	// DefaultStatePath.
	Path string
	// Namespace and Name of the state Secret and lock Lease for the
	// kubernetes backend.
	Namespace string
	Name      string
	// Kubeconfig and Context of the kubernetes backend; "" means the
	// cluster block's.
	Kubeconfig string
	Context    string
}

// Cluster says which cluster to talk to. Empty fields mean the kubeconfig
// defaults ($KUBECONFIG, current context). A leading "~/" in Kubeconfig is
// expanded to $HOME.
type Cluster struct {
	Meta
	Kubeconfig string
	Context    string
}

// Variable is a declared input variable with its resolved value.
type Variable struct {
	Meta
	Name        string
	Description string
	// Type is the type constraint (cty.DynamicPseudoType when not set).
	Type cty.Type
	// Default is cty.NilVal when the variable has no default (required).
	Default   cty.Value
	Sensitive bool
	Nullable  bool
	// Value is the resolved value, converted to Type. It is marked with
	// cty mark "sensitive" when Sensitive is true.
	Value cty.Value
	// ValueSource says where Value came from.
	ValueSource ValueSource
	Validations []Validation
}

// ValueSource says where a variable's value came from.
type ValueSource string

// The places a variable value can come from, lowest precedence first.
const (
	FromDefault  ValueSource = "default"
	FromEnv      ValueSource = "environment"
	FromAutoFile ValueSource = "auto vars file"
	FromVarFile  ValueSource = "var file"
	FromCLI      ValueSource = "command line"
	FromNowhere  ValueSource = "unset"
)

// Validation is a variable validation block.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Local is one local value.
type Local struct {
	Name  string
	Expr  hcl.Expression
	Value cty.Value
	Range hcl.Range
	// SensitiveValues are the values of the sensitive parts of Expr (see
	// Meta.SensitiveValues).
	SensitiveValues []Sensitive `json:"-"`

	// blockRefs are the block references the local's value depends on,
	// directly or through other locals.
	blockRefs []Ref
}

// Source types.
const (
	SourceGit  = addrs.SourceGit
	SourceHelm = addrs.SourceHelm
	SourceOCI  = addrs.SourceOCI
)

// GitSource is a `source "git" NAME` block.
type GitSource struct {
	Meta
	Name string
	URL  string
	// Exactly one of Branch, Tag, Semver, Commit, RefName may be set; none
	// means the remote's default branch.
	Branch string
	Tag    string
	// Semver is a go-version constraint over the repository's tags.
	Semver string
	Commit string
	// RefName is a full Git reference, e.g. refs/pull/42/head.
	RefName  string
	Ignore   []string
	Interval time.Duration
	Timeout  time.Duration
	// RecurseSubmodules clones submodules too.
	RecurseSubmodules bool
	Verify            *GitVerify
	Auth              *GitAuth
	Refs              []Ref `digest:"-"`
}

// GitVerify asks for the HEAD commit (or tag) to be signed by one of the
// given OpenPGP public keys.
type GitVerify struct {
	Meta
	// Mode is "" (the default: the commit, and for tag and semver refs the
	// tag too), "head" (only the commit), "tag" or "tag_and_head".
	Mode string
	// PublicKeys is one or more ASCII-armored OpenPGP public keys.
	PublicKeys string
}

// GitAuth holds Git credentials: username/password (or token) for HTTPS,
// or an SSH private key.
type GitAuth struct {
	Meta
	Username    string
	Password    Sensitive
	BearerToken Sensitive
	PrivateKey  Sensitive
	Passphrase  Sensitive
	// KnownHosts in OpenSSH known_hosts format; required for SSH unless
	// InsecureIgnoreHostKey.
	KnownHosts            string
	InsecureIgnoreHostKey bool
	// CA is a PEM bundle to trust for HTTPS.
	CA string
}

// HelmSource is a `source "helm" NAME` block: an HTTP(S) chart repository
// or an OCI registry (URL oci://...).
type HelmSource struct {
	Meta
	Name string
	URL  string
	// Type is "default" (HTTP index.yaml) or "oci", from the URL scheme.
	Type     string
	Interval time.Duration
	Timeout  time.Duration
	Auth     *HelmAuth
	// CA is a PEM bundle (the value, e.g. file("ca.pem")) to trust.
	CA                 string
	InsecureSkipVerify bool
	// PlainHTTP allows http:// for OCI registries.
	PlainHTTP bool
	// PassCredentials sends the credentials also to hosts other than the
	// repository's (chart tarballs served from another host).
	PassCredentials bool
	Refs            []Ref `digest:"-"`
}

// IsOCI reports whether the source is an OCI registry.
func (h *HelmSource) IsOCI() bool { return h.Type == "oci" }

// HelmAuth holds chart repository credentials and client certificates.
type HelmAuth struct {
	Meta
	Username string
	Password Sensitive
	// Cert and Key are a PEM client certificate and its key.
	Cert string
	Key  Sensitive
}

// OCISource is a `source "oci" NAME` block: an OCI artifact in Flux's
// format (`flux push artifact`) holding manifests for kustomizations.
type OCISource struct {
	Meta
	Name string
	// URL is oci://host/repository.
	URL string
	// Exactly one of Tag, Semver and ManifestDigest is set.
	Tag string
	// Semver is a go-version constraint over the repository's tags.
	Semver string
	// ManifestDigest pins a manifest ("sha256:..."), the digest attribute.
	ManifestDigest string
	Interval       time.Duration
	Timeout        time.Duration
	Auth           *HelmAuth
	// CA is a PEM bundle (the value, e.g. file("ca.pem")) to trust.
	CA                 string
	InsecureSkipVerify bool
	// PlainHTTP talks HTTP to the registry.
	PlainHTTP bool
	Refs      []Ref `digest:"-"`
}

// Kustomization is a `kustomization NAME` block.
type Kustomization struct {
	Meta
	Name string
	// Source is nil for the stack's own directory.
	Source *Ref `digest:"-"`
	// SourceAddr is Source.Addr, or the zero Address; it counts for the
	// digest.
	SourceAddr Address
	// Path inside the source, "" or "." for its root. Without a source it
	// is relative to the stack directory.
	Path  string
	Prune bool
	// Adopt takes over objects that exist in the cluster without strata's
	// labels (never objects of another block or stack). It changes no
	// object by itself, so it is not part of the digest.
	Adopt           bool `digest:"-"`
	Wait            bool
	Force           bool
	Timeout         time.Duration
	Interval        time.Duration
	Suspend         bool
	TargetNamespace string
	// Substitute holds post-build variables (${name} in manifests).
	Substitute        map[string]string
	Patches           []Patch
	Images            []Image
	NamePrefix        string
	NameSuffix        string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	Components        []string
	HealthChecks      []HealthCheck
	// Decryption, when set, decrypts the SOPS-encrypted files the build
	// reads; nil refuses them.
	Decryption *Decryption
	// ServiceAccount is "NAMESPACE/NAME" or "": the account every request
	// for the block impersonates. A bare NAME in the stack is resolved
	// against TargetNamespace when decoded.
	ServiceAccount string
	DependsOn      []Ref `digest:"-"`
	Refs           []Ref `digest:"-"`
}

// RedactedSubstitute returns Substitute with sensitive values replaced by
// "(sensitive value)".
func (k *Kustomization) RedactedSubstitute() map[string]string {
	if k.Substitute == nil {
		return nil
	}
	out := make(map[string]string, len(k.Substitute))
	for key, v := range k.Substitute {
		if k.IsSensitive("substitute." + key) {
			v = redacted
		}
		out[key] = v
	}
	return out
}

// Patch is a strategic merge or JSON 6902 patch with an optional target.
type Patch struct {
	Patch  string
	Target *Selector
}

// Selector selects objects for a patch, like kustomize's target.
type Selector struct {
	Group              string
	Version            string
	Kind               string
	Name               string
	Namespace          string
	LabelSelector      string
	AnnotationSelector string
}

// Image overrides an image, like kustomize's images field.
type Image struct {
	Name    string
	NewName string
	NewTag  string
	Digest  string
}

// HealthCheck names an object whose readiness the apply waits for.
type HealthCheck struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Condition, when set, is the type of the status condition that must
	// be True (for the object's current generation); otherwise kstatus'
	// rules decide.
	Condition string
}

// Release is a `release NAME` block: a Helm release.
type Release struct {
	Meta
	// BlockName is the block label; Name the Helm release name (default
	// BlockName).
	BlockName string
	Name      string
	Namespace string
	// Chart is a chart name in Source, a path inside a Git source, or a
	// local chart directory relative to the stack when Source is nil.
	Chart   string
	Version string
	// Source is a source.helm.* or source.git.* reference, or nil.
	Source     *Ref `digest:"-"`
	SourceAddr Address
	// Values are the release values as plain JSON-able data
	// (map[string]any, []any, string, float64/int64, bool, nil).
	Values map[string]any
	// ValuesFiles are files relative to the stack directory, merged in
	// order before ValuesFrom and Values.
	ValuesFiles []string
	// ValuesFrom are the values_from blocks, merged in order after
	// ValuesFiles and before Values.
	ValuesFrom []ValuesFrom
	Install    ReleaseInstall
	Upgrade    ReleaseUpgrade
	Rollback   ReleaseRollback
	Uninstall  ReleaseUninstall
	MaxHistory int
	Timeout    time.Duration
	Interval   time.Duration
	Wait       bool
	// Adopt installs the release over objects that exist in the cluster
	// without any Helm release's metadata (Helm's --take-ownership; never
	// objects of another release, block or stack). It changes no object by
	// itself, so it is not part of the digest.
	Adopt bool `digest:"-"`
	// DriftDetection.Mode is "enabled" (default), "warn" or "disabled".
	DriftDetection DriftDetection
	Suspend        bool
	// ServiceAccount is "NAMESPACE/NAME" or "": the account every request
	// for the release impersonates (Helm's storage included). A bare NAME in
	// the stack is resolved against Namespace when decoded.
	ServiceAccount string
	DependsOn      []Ref `digest:"-"`
	Refs           []Ref `digest:"-"`

	// Decryption, when set, decrypts SOPS-encrypted ValuesFiles; nil
	// refuses them.
	Decryption *Decryption
}

// RedactedValues returns a deep copy of Values with every value derived from
// a sensitive variable replaced by "(sensitive value)".
func (r *Release) RedactedValues() map[string]any {
	v, _ := redact(r.Values, "values", &r.Meta).(map[string]any)
	return v
}

// CRD policies for install and upgrade.
const (
	CRDsSkip          = "skip"
	CRDsCreate        = "create"
	CRDsCreateReplace = "create_replace"
)

// ReleaseInstall holds install settings.
type ReleaseInstall struct {
	CreateNamespace bool
	// CRDs is CRDsSkip, CRDsCreate (default) or CRDsCreateReplace.
	CRDs         string
	Remediation  Remediation
	DisableHooks bool
}

// ReleaseUpgrade holds upgrade settings.
type ReleaseUpgrade struct {
	// CRDs is CRDsSkip (default), CRDsCreate or CRDsCreateReplace.
	CRDs          string
	Remediation   Remediation
	CleanupOnFail bool
	Force         bool
	DisableHooks  bool
}

// Remediation says what to do when an install or upgrade fails: retry up
// to Retries times; for upgrades, Strategy "rollback" (default) or
// "uninstall" after the last failure.
type Remediation struct {
	Retries  int
	Strategy string
	// RemediateLastFailure also remediates the last failure, when retries
	// are exhausted; false keeps the failed revision (Helm status failed).
	// Unset, it is DefaultRemediateLastFailure, as in Flux.
	RemediateLastFailure bool
}

// DefaultRemediateLastFailure is remediate_last_failure when the attribute
// is unset, as Flux's MustRemediateLastFailure: false for an install, and
// for an upgrade true only when retries is greater than zero.
func DefaultRemediateLastFailure(upgrade bool, retries int) bool {
	return upgrade && retries > 0
}

// ReleaseRollback holds rollback settings.
type ReleaseRollback struct {
	CleanupOnFail bool
	Force         bool
	Recreate      bool
	DisableHooks  bool
	Timeout       time.Duration
}

// ReleaseUninstall holds uninstall settings.
type ReleaseUninstall struct {
	KeepHistory  bool
	DisableHooks bool
	Timeout      time.Duration
}

// DriftDetection configures drift detection of a release.
type DriftDetection struct {
	Mode string
}

// Notification is a `notification NAME` block: where drift reports go.
type Notification struct {
	Meta
	Name string
	// Type is "webhook" or "slack".
	Type string
	URL  Sensitive
	// Events filters what is sent, e.g. ["drift", "error"]; empty: all.
	Events  []string
	Headers map[string]Sensitive
}
