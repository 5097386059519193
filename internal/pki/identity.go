package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/atomicfile"
	"kubelite/internal/kubeconfig"
	"kubelite/internal/logging"
)

// File names under dataDir/pki.
const (
	DirName         = "pki"
	CACertFile      = "ca.crt"
	CAKeyFile       = "ca.key"
	ServerCertFile  = "server.crt"
	ServerKeyFile   = "server.key"
	MasterCertFile  = "master.crt"
	MasterKeyFile   = "master.key"
	TokenFile       = "token"
	MasterTokenFile = "master-token"
	AdminTokenFile  = "admin-token"
	// AdminKubeconfigFile is directly under dataDir.
	AdminKubeconfigFile = "admin.kubeconfig"

	// MasterCommonName is the CN of the master's client certificate.
	MasterCommonName = "kubelite:master"
	// RenewBefore is how long before expiry a leaf certificate is re-issued.
	RenewBefore = 30 * 24 * time.Hour
	// DefaultServer is written into admin.kubeconfig when Options.Server is empty.
	DefaultServer = "https://127.0.0.1:8080"
	// KubeconfigName names the cluster, user and context of admin.kubeconfig.
	KubeconfigName = "kubelite"
)

// Identity is a master's (or standalone's) cluster identity under Dir.
type Identity struct {
	CA          *CA
	Serving     tls.Certificate // the API's serving certificate (ServerAuth)
	Master      tls.Certificate // client cert CN "kubelite:master": the master authenticating to kubelets
	JoinToken   string          // K10...::secret for minions (file token)
	MasterToken string          // K10...::secret for joining masters (file master-token)
	AdminToken  string          // bearer token of user "admin" (file admin-token)
	Dir         string          // dataDir
}

// Options tune LoadOrCreate.
type Options struct {
	SANs   []string                 // extra names/IPs (--tls-san)
	Server string                   // URL written into admin.kubeconfig; "" = DefaultServer
	Now    func() time.Time         // nil = time.Now
	Hosts  func() ([]string, error) // nil = HostNames: os.Hostname and every interface address
	Log    *logrus.Entry            // nil = logs nothing
}

// PKIDir returns dataDir/pki.
func PKIDir(dataDir string) string { return filepath.Join(dataDir, DirName) }

// TokenPath returns the path of the join token file (master: the master-token file).
func TokenPath(dataDir string, master bool) string {
	if master {
		return filepath.Join(PKIDir(dataDir), MasterTokenFile)
	}
	return filepath.Join(PKIDir(dataDir), TokenFile)
}

// HostNames returns this host's name and every address of every interface.
func HostNames() ([]string, error) {
	var out []string
	if h, err := os.Hostname(); err == nil && h != "" {
		out = append(out, h)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out, fmt.Errorf("interface addresses: %w", err)
	}
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if ip != nil {
			out = append(out, ip.String())
		}
	}
	return out, nil
}

// wantedSANs is hosts + loopback names + extra, trimmed and deduplicated
// (IPs in canonical form, names in lower case), in a stable order.
func wantedSANs(hosts, extra []string) []string {
	all := append(append(append([]string{}, hosts...), "127.0.0.1", "::1", "localhost"), extra...)
	seen := map[string]bool{}
	var out []string
	for _, h := range all {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else {
			h = strings.ToLower(h)
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// covers reports whether cert has every SAN of want.
func covers(cert *x509.Certificate, want []string) bool {
	for _, h := range want {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.ContainsFunc(cert.DNSNames, func(n string) bool { return strings.EqualFold(n, h) }) {
			return false
		}
	}
	return true
}

// corruptError names the file and the way out.
func corruptError(dataDir, file string, err error) error {
	return fmt.Errorf("cluster identity file %s: %w (to start a new identity remove %s; every minion must then rejoin with the new token)",
		filepath.Join(PKIDir(dataDir), file), err, PKIDir(dataDir))
}

// LoadOrCreate returns the identity under dataDir, creating it on first use.
func LoadOrCreate(dataDir string, opts Options) (*Identity, error) {
	log := logging.OrDiscard(opts.Log)
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	hostsFn := opts.Hosts
	if hostsFn == nil {
		hostsFn = HostNames
	}
	hosts, err := hostsFn()
	if err != nil {
		return nil, fmt.Errorf("cluster identity: %w", err)
	}
	sans := wantedSANs(hosts, opts.SANs)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster identity: %w", err)
	}
	dir := PKIDir(dataDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := create(log, dataDir, sans, now()); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("cluster identity: %w", err)
	}
	id, err := load(log, dataDir, sans, now())
	if err != nil {
		return nil, err
	}
	server := opts.Server
	if server == "" {
		server = DefaultServer
	}
	kc := kubeconfig.New(KubeconfigName, server, id.CA.CertPEM, id.AdminToken)
	if err := kubeconfig.WriteFile(filepath.Join(dataDir, AdminKubeconfigFile), kc); err != nil {
		return nil, fmt.Errorf("cluster identity: %w", err)
	}
	return id, nil
}

// create makes a whole identity in a temporary directory and renames it to
// dataDir/pki. Losing a race with another process is not an error: its
// identity is then the one loaded.
func create(log *logrus.Entry, dataDir string, sans []string, now time.Time) error {
	tmp, err := os.MkdirTemp(dataDir, ".pki-new-")
	if err != nil {
		return fmt.Errorf("create cluster identity: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	if err := os.Chmod(tmp, 0o700); err != nil {
		return fmt.Errorf("create cluster identity: %w", err)
	}
	ca, err := NewCA("", now)
	if err != nil {
		return fmt.Errorf("create cluster identity: %w", err)
	}
	serving, err := ca.Issue("kubelite-apiserver", nil, sans, ServerAuth, now)
	if err != nil {
		return fmt.Errorf("create cluster identity: %w", err)
	}
	master, err := ca.Issue(MasterCommonName, nil, nil, ClientAuth, now)
	if err != nil {
		return fmt.Errorf("create cluster identity: %w", err)
	}
	caKey, err := encodeKey(ca.Key)
	if err != nil {
		return fmt.Errorf("create cluster identity: %w", err)
	}
	hash := CAHash(ca.Cert)
	var secrets [3]string
	for i := range secrets {
		if secrets[i], err = NewSecret(); err != nil {
			return fmt.Errorf("create cluster identity: %w", err)
		}
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{CACertFile, ca.CertPEM, 0o644},
		{CAKeyFile, caKey, 0o600},
		{ServerCertFile, serving.CertPEM, 0o644},
		{ServerKeyFile, serving.KeyPEM, 0o600},
		{MasterCertFile, master.CertPEM, 0o644},
		{MasterKeyFile, master.KeyPEM, 0o600},
		{TokenFile, []byte(FormatToken(hash, secrets[0]) + "\n"), 0o600},
		{MasterTokenFile, []byte(FormatToken(hash, secrets[1]) + "\n"), 0o600},
		{AdminTokenFile, []byte(secrets[2] + "\n"), 0o600},
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(tmp, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("create cluster identity: %w", err)
		}
	}
	if err := os.Rename(tmp, PKIDir(dataDir)); err != nil {
		if _, serr := os.Stat(PKIDir(dataDir)); serr == nil {
			return nil // another process created it first
		}
		return fmt.Errorf("create cluster identity: %w", err)
	}
	atomicfile.SyncDir(dataDir)
	log.WithField("dir", PKIDir(dataDir)).Info("created a new cluster identity (CA, certificates, tokens)")
	return nil
}

// privateFiles are set back to 0600 when found more open.
var privateFiles = []string{CAKeyFile, ServerKeyFile, MasterKeyFile, TokenFile, MasterTokenFile, AdminTokenFile}

// readPKI reads dataDir/pki/name; a missing file is a corrupt identity.
func readPKI(dataDir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(PKIDir(dataDir), name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, corruptError(dataDir, name, errors.New("missing"))
		}
		return nil, fmt.Errorf("cluster identity: %w", err)
	}
	return b, nil
}

func load(log *logrus.Entry, dataDir string, sans []string, now time.Time) (*Identity, error) {
	dir := PKIDir(dataDir)
	if err := fixMode(log, dir, 0o700); err != nil {
		return nil, err
	}
	for _, name := range privateFiles {
		if err := fixMode(log, filepath.Join(dir, name), 0o600); err != nil {
			return nil, err
		}
	}
	certPEM, err := readPKI(dataDir, CACertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPKI(dataDir, CAKeyFile)
	if err != nil {
		return nil, err
	}
	ca, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, corruptError(dataDir, CACertFile+" / "+CAKeyFile, err)
	}
	id := &Identity{CA: ca, Dir: dataDir}
	for _, t := range []struct {
		file string
		dst  *string
	}{{TokenFile, &id.JoinToken}, {MasterTokenFile, &id.MasterToken}} {
		b, err := readPKI(dataDir, t.file)
		if err != nil {
			return nil, err
		}
		tok, err := ParseToken(string(b))
		if err != nil {
			return nil, corruptError(dataDir, t.file, err)
		}
		if !tok.Matches(ca.Cert) {
			return nil, corruptError(dataDir, t.file, errors.New("token pins another CA than ca.crt"))
		}
		*t.dst = tok.String()
	}
	b, err := readPKI(dataDir, AdminTokenFile)
	if err != nil {
		return nil, err
	}
	id.AdminToken = strings.TrimSpace(string(b))
	if id.AdminToken == "" || strings.ContainsAny(id.AdminToken, " \t\r\n") {
		return nil, corruptError(dataDir, AdminTokenFile, errors.New("empty or malformed admin token"))
	}
	if id.Serving, err = leaf(log, dataDir, ca, ServerCertFile, ServerKeyFile, "kubelite-apiserver", sans, ServerAuth, now); err != nil {
		return nil, err
	}
	if id.Master, err = leaf(log, dataDir, ca, MasterCertFile, MasterKeyFile, MasterCommonName, nil, ClientAuth, now); err != nil {
		return nil, err
	}
	return id, nil
}

// leaf loads a certificate and key of the identity, re-issuing them from ca
// when they no longer fit: not signed by ca, not matching each other, lacking
// a wanted SAN, or expiring within RenewBefore. A file that does not parse at
// all is an error.
func leaf(log *logrus.Entry, dataDir string, ca *CA, certFile, keyFile, cn string, sans []string, usage Usage, now time.Time) (tls.Certificate, error) {
	certPEM, err := readPKI(dataDir, certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPKI(dataDir, keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return tls.Certificate{}, corruptError(dataDir, certFile, err)
	}
	if _, err := ParseKeyPEM(keyPEM); err != nil {
		return tls.Certificate{}, corruptError(dataDir, keyFile, err)
	}
	reason := ""
	pair, pairErr := KeyPair{CertPEM: certPEM, KeyPEM: keyPEM}.TLS()
	switch {
	case pairErr != nil:
		reason = "does not match its key"
	case cert.CheckSignatureFrom(ca.Cert) != nil || !bytes.Equal(cert.RawIssuer, ca.Cert.RawSubject):
		reason = "is not signed by the cluster CA"
	case !covers(cert, sans):
		reason = "lacks a wanted name or address"
	case now.Add(RenewBefore).After(cert.NotAfter):
		reason = fmt.Sprintf("expires %s", cert.NotAfter.Format(time.RFC3339))
	case cert.Subject.CommonName != cn:
		reason = fmt.Sprintf("has common name %q, want %q", cert.Subject.CommonName, cn)
	}
	if reason == "" {
		return pair, nil
	}
	kp, err := ca.Issue(cn, nil, sans, usage, now)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster identity: re-issue %s: %w", certFile, err)
	}
	dir := PKIDir(dataDir)
	if err := atomicfile.Write(filepath.Join(dir, keyFile), kp.KeyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster identity: re-issue %s: %w", certFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, certFile), kp.CertPEM, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster identity: re-issue %s: %w", certFile, err)
	}
	log.WithFields(logrus.Fields{"file": filepath.Join(dir, certFile), "reason": reason}).Info("re-issued certificate from the cluster CA")
	return kp.TLS()
}

// fixMode sets path back to mode when it has more permission bits; a
// missing path is left to the caller.
func fixMode(log *logrus.Entry, path string, mode os.FileMode) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("cluster identity: %w", err)
	}
	if st.Mode().Perm()&^mode == 0 {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("cluster identity: %s is mode %o and cannot be fixed: %w", path, st.Mode().Perm(), err)
	}
	log.WithField("file", path).Warnf("was mode %o, set to %o", st.Mode().Perm(), mode)
	return nil
}

// ReadToken returns the join token (master: the master token) of the
// identity under dataDir.
func ReadToken(dataDir string, master bool) (string, error) {
	path := TokenPath(dataDir, master)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read token: %s does not exist: start the master once (with --data-dir %s) to create it", path, dataDir)
		}
		return "", fmt.Errorf("read token: %w", err)
	}
	tok, err := ParseToken(string(b))
	if err != nil {
		return "", fmt.Errorf("read token %s: %w", path, err)
	}
	return tok.String(), nil
}

// RotateToken writes a new secret, keeping the CA hash, to the join token
// (master: the master token) file and returns the new token. Minions already
// joined keep working: they hold certificates, not the token.
func RotateToken(dataDir string, master bool) (string, error) {
	certPEM, err := os.ReadFile(filepath.Join(PKIDir(dataDir), CACertFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("rotate token: no cluster identity under %s: start the master once to create it", dataDir)
		}
		return "", fmt.Errorf("rotate token: %w", err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return "", fmt.Errorf("rotate token: %w", corruptError(dataDir, CACertFile, err))
	}
	secret, err := NewSecret()
	if err != nil {
		return "", fmt.Errorf("rotate token: %w", err)
	}
	tok := FormatToken(CAHash(cert), secret)
	if err := atomicfile.Write(TokenPath(dataDir, master), []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("rotate token: %w", err)
	}
	return tok, nil
}
