package source

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// TLS is the transport security of a connection to a source's server.
type TLS struct {
	// CABundle is PEM-encoded CA certificates trusted in addition to the
	// system pool.
	CABundle []byte
	// CertPEM and KeyPEM are a client certificate and key for mutual TLS.
	CertPEM []byte
	KeyPEM  []byte
	// InsecureSkipVerify disables certificate verification.
	InsecureSkipVerify bool
}

// Apply sets t on cfg: the trusted CAs, the client certificate and
// whether to verify the server's certificate. A nil cfg is not allowed.
func (t TLS) Apply(cfg *tls.Config) error {
	cfg.InsecureSkipVerify = t.InsecureSkipVerify //nolint:gosec // the user asked for it
	if len(t.CertPEM) > 0 || len(t.KeyPEM) > 0 {
		cert, err := tls.X509KeyPair(t.CertPEM, t.KeyPEM)
		if err != nil {
			return errors.New("client certificate and key do not form a valid pair")
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if len(t.CABundle) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(t.CABundle) {
			return errors.New("ca bundle holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return nil
}
