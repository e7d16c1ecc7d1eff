package testcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// User is a client identity of the cluster, authenticated by a client
// certificate signed by the cluster's client CA. It has no rights until RBAC
// grants it some.
type User struct {
	Name       string
	Groups     []string
	Config     *rest.Config
	Kubeconfig string
}

// User creates a user named name in groups (any names: the API server takes
// them from the certificate).
func (c *Cluster) User(name string, groups ...string) (*User, error) {
	pki := filepath.Join(c.dir, "pki")
	certPEM, keyPEM, err := signClientCert(filepath.Join(pki, "client-ca.crt"), filepath.Join(pki, "client-ca.key"), name, groups)
	if err != nil {
		return nil, fmt.Errorf("issuing a certificate for %s: %w", name, err)
	}
	cfg := rest.AnonymousClientConfig(c.config)
	cfg.CertData = certPEM
	cfg.KeyData = keyPEM
	u := &User{Name: name, Groups: groups, Config: cfg}
	f, err := os.CreateTemp(filepath.Join(c.dir, "users"), safeName(name)+"-*.kubeconfig")
	if err != nil {
		return nil, err
	}
	f.Close()
	u.Kubeconfig = f.Name()
	if err := writeKubeconfig(u.Kubeconfig, cfg, name); err != nil {
		return nil, err
	}
	return u, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

func writeKubeconfig(path string, cfg *rest.Config, user string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["strata-test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["strata-test"] = &clientcmdapi.Context{Cluster: "strata-test", AuthInfo: user, Namespace: "default"}
	kc.CurrentContext = "strata-test"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
