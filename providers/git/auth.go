package git

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	skeemaknownhosts "github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/strata-gitops/strata/providers/source"
)

// remote is one prepared connection target: the URL go-git dials (without
// credentials), the auth method, and what is needed to explain failures.
type remote struct {
	url      string // credential-free URL given to go-git
	display  string // redacted URL for messages
	endpoint *transport.Endpoint
	auth     transport.AuthMethod
	caBundle []byte
	secrets  []string

	mu         sync.Mutex
	hostKeyErr error
}

// prepare parses the spec's URL and builds the transport auth.
func (f *Fetcher) prepare(s Spec) (*remote, error) {
	r := &remote{url: s.URL, display: source.RedactURL(s.URL), caBundle: s.CABundle}
	a := s.Auth
	for _, v := range []string{a.Password, a.BearerToken, a.SSHPassphrase} {
		if v != "" {
			r.secrets = append(r.secrets, v)
		}
	}
	ep, err := transport.NewEndpoint(s.URL)
	if err != nil {
		return nil, fmt.Errorf("git url %s: invalid", r.display)
	}
	r.endpoint = ep
	switch ep.Protocol {
	case "http", "https":
		user, pass := a.Username, a.Password
		if ep.User != "" || ep.Password != "" {
			if ep.Password != "" {
				r.secrets = append(r.secrets, ep.Password)
			}
			if user == "" && pass == "" {
				user, pass = ep.User, ep.Password
			}
			u, err := url.Parse(s.URL)
			if err != nil {
				return nil, fmt.Errorf("git url %s: invalid", r.display)
			}
			u.User = nil
			r.url = u.String()
			r.display = u.String()
		}
		switch {
		case a.BearerToken != "":
			r.auth = &githttp.TokenAuth{Token: a.BearerToken}
		case pass != "":
			if user == "" {
				user = "git"
			}
			r.auth = &githttp.BasicAuth{Username: user, Password: pass}
		}
	case "ssh":
		if len(a.SSHPrivateKey) == 0 {
			return nil, fmt.Errorf("git url %s: ssh needs a private key", r.display)
		}
		user := ep.User
		if user == "" {
			user = a.Username
		}
		if user == "" {
			user = "git"
		}
		pk, err := f.publicKeys(user, a.SSHPrivateKey, a.SSHPassphrase)
		if err != nil {
			var missing *ssh.PassphraseMissingError
			msg := "cannot read the ssh private key: " + err.Error()
			switch {
			case errors.As(err, &missing) || errors.Is(err, x509.IncorrectPasswordError):
				msg = "cannot decrypt the ssh private key (wrong or missing passphrase)"
			case strings.Contains(err.Error(), "decryption password incorrect"), strings.Contains(err.Error(), "empty password"):
				msg = "cannot decrypt the ssh private key (wrong or missing passphrase)"
			}
			return nil, fmt.Errorf("git url %s: %s: %w", r.display, msg, ErrAuthentication)
		}
		db, err := f.knownHosts(a.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("git url %s: %w", r.display, err)
		}
		cb := db.HostKeyCallback()
		pk.HostKeyCallback = func(hostname string, addr net.Addr, key ssh.PublicKey) error {
			err := cb(hostname, addr, key)
			if err != nil {
				r.mu.Lock()
				r.hostKeyErr = hostKeyError(hostname, key, err)
				r.mu.Unlock()
			}
			return err
		}
		port := ep.Port
		if port == 0 {
			port = 22
		}
		// Offer only the host key algorithms known_hosts has for this
		// host, or a server with several host keys may present one we
		// cannot check.
		algos := db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
		r.auth = &sshAuth{PublicKeys: pk, algos: algos}
	case "file":
	default:
		return nil, fmt.Errorf("git url %s: unsupported scheme %q", r.display, ep.Protocol)
	}
	return r, nil
}

// publicKeys parses (and decrypts) an SSH private key once per Fetcher:
// decrypting an OpenSSH key costs about a third of a second by design, and
// a plan resolves and fetches every source.
func (f *Fetcher) publicKeys(user string, pemBytes []byte, passphrase string) (*gitssh.PublicKeys, error) {
	h := sha256.New()
	h.Write(pemBytes)
	h.Write([]byte{0})
	h.Write([]byte(passphrase))
	id := string(h.Sum(nil))
	f.mu.Lock()
	signer, ok := f.signers[id]
	f.mu.Unlock()
	if ok {
		return &gitssh.PublicKeys{User: user, Signer: signer}, nil
	}
	pk, err := gitssh.NewPublicKeys(user, pemBytes, passphrase)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.signers[id] = pk.Signer
	f.mu.Unlock()
	return pk, nil
}

// knownHosts loads known_hosts from inline content or the configured
// files. Its callback never accepts unknown hosts.
func (f *Fetcher) knownHosts(inline []byte) (*skeemaknownhosts.HostKeyDB, error) {
	if len(inline) > 0 {
		tmp, err := os.CreateTemp("", "strata-known-hosts-")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		_, werr := tmp.Write(inline)
		cerr := tmp.Close()
		if werr != nil || cerr != nil {
			return nil, errors.Join(werr, cerr)
		}
		db, err := skeemaknownhosts.NewDB(tmp.Name())
		if err != nil {
			return nil, fmt.Errorf("parse known_hosts: %w", err)
		}
		return db, nil
	}
	var files []string
	for _, p := range f.knownHostsFiles {
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no known_hosts to check the ssh host key against (set known_hosts): %w", ErrHostKey)
	}
	db, err := skeemaknownhosts.NewDB(files...)
	if err != nil {
		return nil, fmt.Errorf("parse known_hosts: %w", err)
	}
	return db, nil
}

// sshAuth is go-git's public-key auth with the host key algorithms pinned
// to those known_hosts lists (go-git leaves them unset when the caller
// supplies its own host key callback).
type sshAuth struct {
	*gitssh.PublicKeys
	algos []string
}

// ClientConfig implements gitssh.AuthMethod.
func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	if len(a.algos) > 0 {
		cfg.HostKeyAlgorithms = a.algos
	}
	return cfg, nil
}

func hostKeyError(hostname string, key ssh.PublicKey, err error) error {
	fp := ssh.FingerprintSHA256(key)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		if len(ke.Want) == 0 {
			return fmt.Errorf("host %s is not in known_hosts (its %s key is %s): %w", hostname, key.Type(), fp, ErrHostKey)
		}
		return fmt.Errorf("host key of %s does not match known_hosts (got %s key %s): possible man-in-the-middle: %w", hostname, key.Type(), fp, ErrHostKey)
	}
	var re *knownhosts.RevokedError
	if errors.As(err, &re) {
		return fmt.Errorf("host key of %s is revoked in known_hosts: %w", hostname, ErrHostKey)
	}
	return fmt.Errorf("host key of %s: %v: %w", hostname, err, ErrHostKey)
}

// explain turns a transport error into a clear, secret-free error.
func (r *remote) explain(op string, err error) error {
	r.mu.Lock()
	hk := r.hostKeyErr
	r.mu.Unlock()
	if hk != nil {
		return r.scrub(fmt.Errorf("%s %s: %w", op, r.display, hk))
	}
	msg := err.Error()
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return r.scrub(fmt.Errorf("%s %s: the server requires credentials, or rejected the ones given: %w", op, r.display, ErrAuthentication))
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return r.scrub(fmt.Errorf("%s %s: access denied for the given credentials: %w", op, r.display, ErrAuthentication))
	case strings.Contains(msg, "unable to authenticate"):
		return r.scrub(fmt.Errorf("%s %s: the ssh server rejected the key: %w", op, r.display, ErrAuthentication))
	case errors.Is(err, transport.ErrRepositoryNotFound):
		if strings.Contains(msg, transport.ErrRepositoryNotFound.Error()) {
			return r.scrub(fmt.Errorf("%s %s: %w", op, r.display, err))
		}
		return r.scrub(fmt.Errorf("%s %s: repository not found: %w", op, r.display, err))
	case errors.As(err, &opErr) || errors.As(err, &netErr) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host"):
		return r.scrub(fmt.Errorf("%s %s: cannot reach the server: %w", op, r.display, err))
	}
	return r.scrub(fmt.Errorf("%s %s: %w", op, r.display, err))
}

// scrub removes secret values from an error's text, keeping its chain.
func (r *remote) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range r.secrets {
		clean = strings.ReplaceAll(clean, s, "***")
	}
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
