package git

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/strata-gitops/strata/providers/cache"
)

// Errors wrapped by the errors this package returns, for callers that
// branch on the kind of failure.
var (
	// ErrRefNotFound: the branch, tag, ref or commit does not exist at the
	// remote, or no tag matches the semver constraint.
	ErrRefNotFound = errors.New("reference not found")
	// ErrAuthentication: the server rejected the credentials, or asked for
	// some and none were given.
	ErrAuthentication = errors.New("authentication failed")
	// ErrHostKey: the SSH server's host key is not in known_hosts, or does
	// not match the key recorded there.
	ErrHostKey = errors.New("ssh host key not trusted")
	// ErrVerification: OpenPGP verification of a commit or tag failed.
	ErrVerification = errors.New("signature verification failed")
	// ErrOffline: the source is not in the cache at a pinned revision and
	// the fetcher runs offline.
	ErrOffline = errors.New("not cached and running offline")
)

// Spec describes one Git source.
type Spec struct {
	// URL of the repository: https://, http://, ssh://, user@host:path or
	// file://. Credentials in the URL are accepted but Auth is preferred.
	URL string
	// Ref selects the revision. The zero Ref means the remote's HEAD.
	Ref Ref
	// Auth holds credentials; the zero value means anonymous.
	Auth Auth
	// CABundle is PEM-encoded CA certificates trusted for https, in
	// addition to the system pool.
	CABundle []byte
	// Ignore holds extra ignore patterns in .gitignore syntax, applied
	// after the defaults and .sourceignore files.
	Ignore []string
	// Verify, when set, requires valid OpenPGP signatures.
	Verify *Verify
}

// Ref selects a revision. Set at most one of Branch, Tag, SemVer and Name
// (none means the remote's HEAD). Commit may be set alone or with Branch,
// Tag or Name: with Branch or Name the commit must be reachable from that
// ref, with Tag the tag must point at it, and the ref names the revision.
// A set Commit pins the revision: Resolve needs no network and Fetch needs
// none when the commit is cached. Pin builds such a Ref from a revision.
type Ref struct {
	// Branch name, e.g. "main".
	Branch string
	// Tag name, e.g. "v1.2.0".
	Tag string
	// SemVer is a hashicorp/go-version constraint over tag names, e.g.
	// ">= 1.0, < 2.0"; the highest matching tag is used.
	SemVer string
	// Commit is a full 40-hex-digit commit hash.
	Commit string
	// Name is a full reference name, e.g. "refs/pull/42/head".
	Name string
}

// String describes the ref for messages, e.g. `branch "main"`.
func (r Ref) String() string {
	switch {
	case r.Commit != "" && r.Branch != "":
		return fmt.Sprintf("commit %s on branch %q", r.Commit, r.Branch)
	case r.Commit != "" && r.Tag != "":
		return fmt.Sprintf("commit %s at tag %q", r.Commit, r.Tag)
	case r.Commit != "" && r.Name != "":
		return fmt.Sprintf("commit %s on ref %q", r.Commit, r.Name)
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Branch != "":
		return fmt.Sprintf("branch %q", r.Branch)
	case r.Tag != "":
		return fmt.Sprintf("tag %q", r.Tag)
	case r.SemVer != "":
		return fmt.Sprintf("semver %q", r.SemVer)
	case r.Name != "":
		return fmt.Sprintf("ref %q", r.Name)
	}
	return "HEAD"
}

// Auth holds credentials for a Git remote.
type Auth struct {
	// Username and Password for https basic auth. A token goes in
	// Password (Username defaults to "git" then).
	Username string
	Password string
	// BearerToken is sent as "Authorization: Bearer" over https.
	BearerToken string
	// SSHPrivateKey is a PEM-encoded private key for ssh URLs, protected
	// by SSHPassphrase if that is set.
	SSHPrivateKey []byte
	SSHPassphrase string
	// KnownHosts is the content of a known_hosts file used to check SSH
	// host keys. Empty means Options.KnownHostsFiles.
	KnownHosts []byte
}

// Verify configures OpenPGP verification.
type Verify struct {
	// PublicKeys are ASCII-armored public keys; an entry may hold several
	// armored blocks one after the other. A signature by any of the keys
	// (or their subkeys) is accepted.
	PublicKeys []string
	// Mode selects what is verified. Default VerifyDefault.
	Mode VerifyMode
}

// VerifyMode selects which objects must carry valid signatures.
type VerifyMode string

// Verification modes.
const (
	// VerifyDefault verifies the commit, and for Tag and SemVer refs
	// also the annotated tag.
	VerifyDefault VerifyMode = ""
	// VerifyHead verifies only the commit.
	VerifyHead VerifyMode = "head"
	// VerifyTag verifies only the annotated tag (Tag and SemVer refs).
	VerifyTag VerifyMode = "tag"
	// VerifyTagAndHead verifies the annotated tag and the commit (Tag and
	// SemVer refs).
	VerifyTagAndHead VerifyMode = "tag_and_head"
)

// Options configure a Fetcher.
type Options struct {
	// Cache stores fetched artifacts. Required.
	Cache *cache.Cache
	// KnownHostsFiles are consulted for SSH host keys when a Spec has no
	// Auth.KnownHosts. Default: ~/.ssh/known_hosts.
	KnownHostsFiles []string
	// Offline forbids network access: only pinned, cached revisions work.
	Offline bool
}

// Fetcher resolves and fetches Git sources. It is safe for concurrent use.
type Fetcher struct {
	cache           *cache.Cache
	knownHostsFiles []string
	offline         bool

	mu      sync.Mutex
	signers map[string]ssh.Signer // parsed private keys by sha256(key, passphrase)
}

// New returns a Fetcher.
func New(opts Options) (*Fetcher, error) {
	if opts.Cache == nil {
		return nil, errors.New("git fetcher: a cache is required")
	}
	kh := opts.KnownHostsFiles
	if kh == nil {
		if home, err := os.UserHomeDir(); err == nil {
			kh = []string{filepath.Join(home, ".ssh", "known_hosts")}
		}
	}
	return &Fetcher{cache: opts.Cache, knownHostsFiles: kh, offline: opts.Offline, signers: map[string]ssh.Signer{}}, nil
}

// Resolved is the outcome of Resolve.
type Resolved struct {
	// Revision as in source.Artifact, e.g. "main@sha1:<hash>".
	Revision string
	// Commit is the commit hash (40 hex digits).
	Commit string
	// RefName is the full remote ref that was resolved, e.g.
	// "refs/heads/main"; empty for a bare commit.
	RefName string
}

func (s Spec) validate() error {
	r := s.Ref
	n := 0
	for _, v := range []string{r.Branch, r.Tag, r.SemVer, r.Name} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("set only one of branch, tag, semver and name")
	}
	if r.Commit != "" && r.SemVer != "" {
		return errors.New("commit cannot be combined with semver (pin the tag instead)")
	}
	if r.Commit != "" && !isHash(r.Commit) {
		return fmt.Errorf("commit %q is not a full 40-digit hash", r.Commit)
	}
	if s.URL == "" {
		return errors.New("url is required")
	}
	if s.Verify != nil && len(s.Verify.PublicKeys) == 0 {
		return errors.New("verify needs at least one public key")
	}
	return nil
}

func isHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// Pin returns spec pinned to revision, as returned in
// source.Artifact.Revision or Resolved.Revision for the same spec (and as
// recorded in state): Fetch then serves it from the cache without network
// when it was fetched before, and Fetch and Resolve name it with the same
// revision string.
func Pin(spec Spec, revision string) (Spec, error) {
	name, hash, ok := strings.Cut(revision, "@sha1:")
	if !ok {
		name, hash = "", strings.TrimPrefix(revision, "sha1:")
	}
	if !isHash(hash) {
		return spec, fmt.Errorf("revision %q is not a Git revision (name@sha1:<hash>)", revision)
	}
	r := spec.Ref
	p := Ref{Commit: hash}
	switch {
	case r.Branch != "":
		p.Branch = r.Branch
	case r.Tag != "", r.SemVer != "":
		p.Tag = name
	case r.Name != "":
		p.Name = r.Name
	case r.Commit != "":
	default: // HEAD: the revision names the branch HEAD pointed at
		if name != "" && name != "HEAD" {
			p.Branch = name
		}
	}
	if name != p.Branch+p.Tag+p.Name {
		return spec, fmt.Errorf("revision %q does not belong to %s", revision, r)
	}
	spec.Ref = p
	return spec, nil
}
