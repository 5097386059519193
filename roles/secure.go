package roles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/apiserver"
	"kubelite/internal/atomicfile"
	"kubelite/internal/auth"
	"kubelite/internal/endpoint"
	"kubelite/internal/etcd"
	"kubelite/internal/httpserve"
	"kubelite/internal/join"
	"kubelite/internal/logging"
	"kubelite/internal/pki"
	"kubelite/internal/store"
)

// loadIdentity creates the cluster's identity on a master's first start
// (CA, serving certificate, tokens, admin.kubeconfig under --data-dir) and
// reuses it after.
func loadIdentity(log *logrus.Entry, cfg *config.Master) (*pki.Identity, error) {
	id, err := pki.LoadOrCreate(cfg.DataDir, pki.Options{Log: log, SANs: cfg.TLSSANs, Server: cfg.LocalAPIURL()})
	if err != nil {
		return nil, fmt.Errorf("cluster identity: %w", err)
	}
	return id, nil
}

// apiSecurity is what the API server needs to authenticate requests: the
// admin's token and certificates of the cluster's CA, and the join served
// to anyone (the join checks its own secret).
func apiSecurity(log *logrus.Entry, id *pki.Identity, st store.Store) *apiserver.Security {
	authn := auth.NewAuthenticator(map[string]auth.User{id.AdminToken: {Name: auth.Admin}}, id.CA.Pool())
	js := &join.Server{Log: log, CA: id.CA, Secret: joinSecret(id.Dir), Store: st}
	h := js.Handler()
	return &apiserver.Security{Authn: authn, Public: map[string]http.Handler{join.CACertsPath: h, join.MinionPath: h}}
}

// apiTLS serves the API's certificate and verifies client certificates of
// the cluster's CA when one is sent (a bearer token is the other way in).
func apiTLS(id *pki.Identity) *tls.Config {
	return httpserve.ServerTLS(id.Serving, id.CA.Pool())
}

// joinSecret reads the minions' join secret from its file at each join, so
// that `kubelite token --rotate` takes effect without a restart.
func joinSecret(dataDir string) func() string {
	return func() string {
		s, err := pki.ReadToken(dataDir, false)
		if err != nil {
			return ""
		}
		t, err := pki.ParseToken(s)
		if err != nil {
			return ""
		}
		return t.Secret
	}
}

// kubeletTransport reaches kubelets (logs, proxy, /validate) over TLS,
// trusting only the cluster's CA and presenting the master's certificate.
func kubeletTransport(id *pki.Identity) http.RoundTripper {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: id.CA.Pool(), Certificates: []tls.Certificate{id.Master}, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
	}
}

// minionCreds are how a minion talks to its master and serves its kubelet.
type minionCreds struct {
	api        endpoint.Endpoint
	kubeletTLS *tls.Config         // nil: plain HTTP (--insecure master)
	authn      *auth.Authenticator // nil: anyone may use the kubelet
}

// minionDir is where a minion keeps its joined credentials.
func minionDir(cfg *config.Minion) string { return filepath.Join(cfg.RootDir, "pki") }

// joinMaster returns a minion's credentials: those it joined with before,
// or new ones from the master, whose CA the token pins before anything is
// sent. An --insecure master (http://) gets none.
func joinMaster(ctx context.Context, cfg *config.Minion, hostIP string) (*minionCreds, error) {
	masters := append([]string{cfg.MasterURL}, cfg.MoreMasterURLs...)
	if cfg.Token == "" {
		return &minionCreds{api: endpoint.List(masters)}, nil
	}
	tok, err := pki.ParseToken(cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("join token: %w", err)
	}
	req := join.Request{
		Master: cfg.MasterURL, Others: cfg.MoreMasterURLs, Token: tok, Name: cfg.Hostname,
		HostIP: hostIP, Hostnames: hostNames(cfg.Hostname), Dir: minionDir(cfg),
	}
	what, hint := "join the master at "+cfg.MasterURL, "check that kubelite master runs there and that its port is open to this host"
	if len(masters) > 1 {
		what, hint = "join any of the masters "+strings.Join(masters, ", "), "check that kubelite master runs on one of them and that its port is open to this host"
	}
	rep := logging.NewRepeater(logging.RepeaterConfig{Log: logging.FromContext(ctx).WithField("component", "minion"), What: what, Hint: hint})
	for wait := time.Second; ; wait = min(2*wait, 15*time.Second) {
		c, err := join.Minion(ctx, req)
		if err == nil {
			rep.OK()
			return credsFrom(masters, c), nil
		}
		// Only an unreachable master is worth waiting for (it may be
		// starting); a refusal or a CA that the token does not pin is final.
		var oe *net.OpError
		if !errors.As(err, &oe) {
			return nil, fmt.Errorf("join %s: %w", cfg.Master, err)
		}
		if len(masters) == 1 {
			rep.Fail(oe.Err)
		} else {
			rep.Fail(err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("join %s: %w", cfg.Master, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// localMinion is joinMaster for standalone: the minion half's credentials
// are issued by the CA in this process (saved where a joined minion keeps
// them, and reused), then used exactly as a remote minion uses its own.
func localMinion(id *pki.Identity, cfg *config.Minion, hostIP string) (*minionCreds, error) {
	tok, err := pki.ParseToken(id.JoinToken)
	if err != nil {
		return nil, err
	}
	dir := minionDir(cfg)
	if c, err := join.Load(dir, tok, cfg.Hostname, time.Now()); err == nil {
		return credsFrom([]string{cfg.MasterURL}, c), nil
	}
	hosts := hostNames(cfg.Hostname)
	if hostIP != "" {
		hosts = append(hosts, hostIP)
	}
	kp, err := id.CA.Issue(join.MinionCNPrefix+cfg.Hostname, []string{join.MinionsGroup}, hosts, pki.ClientAuth|pki.ServerAuth, time.Now())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("minion credentials: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{join.CAFile, id.CA.CertPEM}, {join.CertFile, kp.CertPEM}, {join.KeyFile, kp.KeyPEM}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			return nil, fmt.Errorf("minion credentials: %w", err)
		}
	}
	c, err := join.Load(dir, tok, cfg.Hostname, time.Now())
	if err != nil {
		return nil, fmt.Errorf("minion credentials: %w", err)
	}
	return credsFrom([]string{cfg.MasterURL}, c), nil
}

// credsFrom: the API endpoint of the masters (one, or a list to fail over
// among) with the joined credential.
func credsFrom(masters []string, c *join.Credentials) *minionCreds {
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	api := endpoint.List(masters)
	api.TLS = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{c.Cert}, MinVersion: tls.VersionTLS12}
	return &minionCreds{
		api:        api,
		kubeletTLS: httpserve.ServerTLS(c.Cert, pool),
		authn:      auth.NewAuthenticator(nil, pool),
	}
}

// hostNames are the names a minion's certificate covers besides its IP: its
// minion name and this host's name.
func hostNames(name string) []string {
	out := []string{name}
	if h, err := os.Hostname(); err == nil && h != name {
		out = append(out, h)
	}
	return out
}

// etcdCerts issues the embedded etcd's serving certificate (for addr, this
// host and loopback) and the master's client certificate, from the cluster's
// CA, into DATA-DIR/pki; etcd then takes only clients with a certificate of
// that CA.
func etcdCerts(id *pki.Identity, addr string) (*etcd.TLSFiles, *tls.Config, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--etcd-addr: %w", err)
	}
	hosts := append([]string{host, "127.0.0.1", "localhost"}, hostNames(host)...)
	now := time.Now()
	server, err := id.CA.Issue("kubelite:etcd", nil, hosts, pki.ServerAuth, now)
	if err != nil {
		return nil, nil, err
	}
	client, err := id.CA.Issue(auth.MasterUser, nil, nil, pki.ClientAuth, now)
	if err != nil {
		return nil, nil, err
	}
	dir := pki.PKIDir(id.Dir)
	files := &etcd.TLSFiles{CertFile: filepath.Join(dir, "etcd-server.crt"), KeyFile: filepath.Join(dir, "etcd-server.key"),
		CAFile: filepath.Join(dir, pki.CACertFile)}
	for path, data := range map[string][]byte{files.CertFile: server.CertPEM, files.KeyFile: server.KeyPEM} {
		if err := atomicfile.Write(path, data, 0o600); err != nil {
			return nil, nil, fmt.Errorf("etcd certificates: %w", err)
		}
	}
	cert, err := client.TLS()
	if err != nil {
		return nil, nil, err
	}
	return files, &tls.Config{RootCAs: id.CA.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
