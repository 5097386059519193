package kubeconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"kubelite/internal/atomicfile"
	"kubelite/internal/endpoint"
)

// Config is a kubeconfig file.
type Config struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []NamedCluster `json:"clusters"`
	Users          []NamedUser    `json:"users"`
	Contexts       []NamedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
}

// NamedCluster is one entry of clusters.
type NamedCluster struct {
	Name    string  `json:"name"`
	Cluster Cluster `json:"cluster"`
}

// Cluster is where the API is and how to trust it.
type Cluster struct {
	Server                   string `json:"server"`
	CertificateAuthority     string `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
	TLSServerName            string `json:"tls-server-name,omitempty"`
}

// NamedUser is one entry of users.
type NamedUser struct {
	Name string `json:"name"`
	User User   `json:"user"`
}

// User is a credential: a bearer token and/or a client certificate.
type User struct {
	Token                 string `json:"token,omitempty"`
	ClientCertificate     string `json:"client-certificate,omitempty"`
	ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
	ClientKey             string `json:"client-key,omitempty"`
	ClientKeyData         []byte `json:"client-key-data,omitempty"`
}

// NamedContext is one entry of contexts.
type NamedContext struct {
	Name    string  `json:"name"`
	Context Context `json:"context"`
}

// Context ties a cluster to a user.
type Context struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

// New returns a config with one cluster, user and context, all called name.
func New(name, server string, caPEM []byte, token string) *Config {
	return &Config{
		APIVersion:     "v1",
		Kind:           "Config",
		Clusters:       []NamedCluster{{Name: name, Cluster: Cluster{Server: server, CertificateAuthorityData: bytes.Clone(caPEM)}}},
		Users:          []NamedUser{{Name: name, User: User{Token: token}}},
		Contexts:       []NamedContext{{Name: name, Context: Context{Cluster: name, User: name}}},
		CurrentContext: name,
	}
}

// Marshal returns the config as YAML.
func (c *Config) Marshal() ([]byte, error) {
	out := *c
	if out.APIVersion == "" {
		out.APIVersion = "v1"
	}
	if out.Kind == "" {
		out.Kind = "Config"
	}
	b, err := yaml.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("marshal kubeconfig: %w", err)
	}
	return b, nil
}

// Parse reads a kubeconfig in YAML or JSON.
func Parse(b []byte) (*Config, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("parse kubeconfig: empty")
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse kubeconfig: %w", err)
	}
	if c.Kind != "" && c.Kind != "Config" {
		return nil, fmt.Errorf("parse kubeconfig: kind is %q, want Config", c.Kind)
	}
	if c.APIVersion != "" && c.APIVersion != "v1" {
		return nil, fmt.Errorf("parse kubeconfig: apiVersion is %q, want v1", c.APIVersion)
	}
	return &c, nil
}

// Load reads and parses a file; relative file references are resolved
// against the file's directory.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range c.Clusters {
		c.Clusters[i].Cluster.CertificateAuthority = abs(c.Clusters[i].Cluster.CertificateAuthority)
	}
	for i := range c.Users {
		u := &c.Users[i].User
		u.ClientCertificate = abs(u.ClientCertificate)
		u.ClientKey = abs(u.ClientKey)
	}
	return c, nil
}

// Current returns the cluster and user of the current context, or of the only
// context when current-context is empty.
func (c *Config) Current() (Cluster, User, error) {
	var ctx *NamedContext
	switch {
	case c.CurrentContext != "":
		for i := range c.Contexts {
			if c.Contexts[i].Name == c.CurrentContext {
				ctx = &c.Contexts[i]
				break
			}
		}
		if ctx == nil {
			return Cluster{}, User{}, fmt.Errorf("kubeconfig: current-context %q is not among the contexts", c.CurrentContext)
		}
	case len(c.Contexts) == 1:
		ctx = &c.Contexts[0]
	case len(c.Contexts) == 0:
		return Cluster{}, User{}, errors.New("kubeconfig: no context")
	default:
		names := make([]string, len(c.Contexts))
		for i, x := range c.Contexts {
			names[i] = x.Name
		}
		return Cluster{}, User{}, fmt.Errorf("kubeconfig: no current-context and %d contexts (%s): set current-context", len(names), strings.Join(names, ", "))
	}
	var cluster *Cluster
	for i := range c.Clusters {
		if c.Clusters[i].Name == ctx.Context.Cluster {
			cluster = &c.Clusters[i].Cluster
			break
		}
	}
	if cluster == nil {
		return Cluster{}, User{}, fmt.Errorf("kubeconfig: context %q names cluster %q, which is not among the clusters", ctx.Name, ctx.Context.Cluster)
	}
	if cluster.Server == "" {
		return Cluster{}, User{}, fmt.Errorf("kubeconfig: cluster %q has no server", ctx.Context.Cluster)
	}
	var user User
	if ctx.Context.User != "" {
		found := false
		for _, u := range c.Users {
			if u.Name == ctx.Context.User {
				user, found = u.User, true
				break
			}
		}
		if !found {
			return Cluster{}, User{}, fmt.Errorf("kubeconfig: context %q names user %q, which is not among the users", ctx.Name, ctx.Context.User)
		}
	}
	return *cluster, user, nil
}

// CAPEM returns the cluster's CA certificates in PEM: the inline data, else
// the file's contents, else nil (use the system roots).
func (c Cluster) CAPEM() ([]byte, error) {
	if len(c.CertificateAuthorityData) > 0 {
		return c.CertificateAuthorityData, nil
	}
	if c.CertificateAuthority == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.CertificateAuthority)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig certificate-authority: %w", err)
	}
	return b, nil
}

// ClientCertPEM returns the user's client certificate and key in PEM, inline
// or from files; both nil when the user has none. Having only one half is an
// error.
func (u User) ClientCertPEM() (certPEM, keyPEM []byte, err error) {
	certPEM, keyPEM = u.ClientCertificateData, u.ClientKeyData
	if len(certPEM) == 0 && u.ClientCertificate != "" {
		if certPEM, err = os.ReadFile(u.ClientCertificate); err != nil {
			return nil, nil, fmt.Errorf("kubeconfig client-certificate: %w", err)
		}
	}
	if len(keyPEM) == 0 && u.ClientKey != "" {
		if keyPEM, err = os.ReadFile(u.ClientKey); err != nil {
			return nil, nil, fmt.Errorf("kubeconfig client-key: %w", err)
		}
	}
	if (len(certPEM) == 0) != (len(keyPEM) == 0) {
		return nil, nil, errors.New("kubeconfig: user has a client certificate without a key, or a key without a certificate")
	}
	return certPEM, keyPEM, nil
}

// WriteFile writes c to path atomically, mode 0600.
func WriteFile(path string, c *Config) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// Endpoint is the API endpoint of the current context: its server (https
// unless written otherwise), a TLS configuration that trusts only its
// certificate authority (the system's roots when it names none) and
// presents its client certificate if it has one, and its bearer token.
// A server that is a comma list (https://m1:8080,https://m2:8080), and the
// servers of other clusters with the same certificate authority, are the
// cluster's masters: the endpoint fails over among them (kubelite's own
// kubectl; Kubernetes' kubectl takes one server per cluster).
func (c *Config) Endpoint() (endpoint.Endpoint, error) {
	cl, u, err := c.Current()
	if err != nil {
		return endpoint.Endpoint{}, err
	}
	urls, err := endpoint.NormalizeList(cl.Server, "https")
	if err != nil {
		return endpoint.Endpoint{}, fmt.Errorf("server: %w", err)
	}
	caPEM, err := cl.CAPEM()
	if err != nil {
		return endpoint.Endpoint{}, err
	}
	urls = append(urls, c.sameCA(cl, caPEM, urls)...)
	ep := endpoint.List(urls)
	ep.Token = u.Token
	if !ep.Secure() {
		return ep, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cl.InsecureSkipTLSVerify, ServerName: cl.TLSServerName}
	if len(caPEM) > 0 {
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(caPEM) {
			return endpoint.Endpoint{}, errors.New("no PEM certificate in its certificate authority")
		}
	}
	certPEM, keyPEM, err := u.ClientCertPEM()
	if err != nil {
		return endpoint.Endpoint{}, err
	}
	if len(certPEM) > 0 {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return endpoint.Endpoint{}, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	ep.TLS = tc
	return ep, nil
}

// sameCA returns the servers of the other clusters whose certificate
// authority is cur's (not empty): with kubelite they are the same cluster's
// other masters (a kubeconfig with a cluster per master), so the endpoint
// fails over to them too. Servers that do not parse, already in have, or of
// another scheme are left out.
func (c *Config) sameCA(cur Cluster, caPEM []byte, have []string) []string {
	if len(caPEM) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, u := range have {
		seen[u] = true
	}
	for _, nc := range c.Clusters {
		if nc.Cluster.Server == cur.Server {
			continue
		}
		pem, err := nc.Cluster.CAPEM()
		if err != nil || !bytes.Equal(bytes.TrimSpace(pem), bytes.TrimSpace(caPEM)) {
			continue
		}
		urls, err := endpoint.NormalizeList(nc.Cluster.Server, "https")
		if err != nil {
			continue
		}
		for _, u := range urls {
			if !seen[u] && strings.HasPrefix(u, "https://") == strings.HasPrefix(have[0], "https://") {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}
