package gitserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer serves a Server's repositories over SSH: git-upload-pack only,
// for clients presenting one of the authorized keys.
type SSHServer struct {
	// Addr is host:port.
	Addr string
	// HostKey is the server's ed25519 public host key, the one KnownHosts
	// lists. The server also offers an ECDSA host key, listed nowhere.
	HostKey ssh.PublicKey

	root string
	ln   net.Listener
	cfg  *ssh.ServerConfig
	wg   sync.WaitGroup

	mu      sync.Mutex
	uploads int
}

// StartSSH starts an SSH server for s's repositories accepting the given
// client keys, stopped when the test ends.
func (s *Server) StartSSH(t testing.TB, authorized ...ssh.PublicKey) *SSHServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, a := range authorized {
				if bytes.Equal(a.Marshal(), key.Marshal()) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("unauthorized key")
		},
	}
	cfg.AddHostKey(hostSigner)
	// A second host key of a type clients prefer, which KnownHosts does
	// not list (as with real servers, which offer several): clients must
	// negotiate the algorithm known_hosts has, not their favourite.
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, err := ssh.NewSignerFromKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AddHostKey(ecSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &SSHServer{Addr: ln.Addr().String(), HostKey: hostSigner.PublicKey(), root: s.root, ln: ln, cfg: cfg}
	srv.wg.Add(1)
	go srv.serve()
	t.Cleanup(func() {
		ln.Close()
		srv.wg.Wait()
	})
	return srv
}

// URL returns the ssh:// URL of the repository name.
func (s *SSHServer) URL(name string) string { return "ssh://git@" + s.Addr + "/" + name }

// KnownHosts returns a known_hosts line for this server.
func (s *SSHServer) KnownHosts() []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey) + "\n")
}

// UploadPacks counts git-upload-pack sessions served.
func (s *SSHServer) UploadPacks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploads
}

func (s *SSHServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

func (s *SSHServer) handle(conn net.Conn) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.session(ch, creqs)
	}
}

func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL" {
				env = append(env, kv.Name+"="+kv.Value)
			}
			req.Reply(true, nil)
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				req.Reply(false, nil)
				return
			}
			prog, arg, _ := strings.Cut(p.Command, " ")
			arg = strings.Trim(arg, `'"`)
			name := strings.TrimPrefix(arg, "/")
			if prog != "git-upload-pack" || !filepath.IsLocal(name) {
				req.Reply(false, nil)
				io.WriteString(ch.Stderr(), "only git-upload-pack is served\n")
				exit(ch, 1)
				return
			}
			req.Reply(true, nil)
			s.mu.Lock()
			s.uploads++
			s.mu.Unlock()
			cmd := exec.Command("git-upload-pack", filepath.Join(s.root, name))
			cmd.Env = append(cmd.Environ(), env...)
			cmd.Stdin = ch
			cmd.Stdout = ch
			cmd.Stderr = ch.Stderr()
			code := 0
			if err := cmd.Run(); err != nil {
				code = 1
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				}
			}
			exit(ch, code)
			return
		default:
			req.Reply(false, nil)
		}
	}
}

func exit(ch ssh.Channel, code int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	ch.SendRequest("exit-status", false, b[:])
}

// NewClientKey returns a new ed25519 client key as PEM (OpenSSH format,
// encrypted when passphrase is not empty) and its public key.
func NewClientKey(t testing.TB, passphrase string) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}
