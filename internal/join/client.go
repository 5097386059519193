package join

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/atomicfile"
	"kubelite/internal/pki"
)

// Files under Request.Dir.
const (
	CAFile   = "ca.crt"
	CertFile = "minion.crt"
	KeyFile  = "minion.key"
)

// RenewBefore: a saved certificate valid for less than this is renewed.
const RenewBefore = 30 * 24 * time.Hour

// DefaultTimeout bounds each request of a join when Request.Client has none.
const DefaultTimeout = 30 * time.Second

// maxResponseBytes caps what is read of an answer.
const maxResponseBytes = 1 << 20

// Request is what a minion joins with.
type Request struct {
	Master string // https://host:8080
	// Others are more masters of the same cluster (https://host:port):
	// when Master cannot be reached, each is tried in turn. The token pins
	// the one CA they all share.
	Others    []string
	Token     pki.Token // pins the CA, carries the secret
	Name      string    // the minion's name (hostname_override or host name)
	HostIP    string
	Hostnames []string
	Dir       string // <root-dir>/pki: ca.crt, minion.crt, minion.key
	// Client is optional. Its Timeout is kept; its Transport, when set,
	// must be an *http.Transport, which is cloned with the join's own TLS
	// configuration (any other RoundTripper is refused: it could bypass the
	// pin).
	Client *http.Client
	Now    func() time.Time // optional: time.Now
}

// Credentials are a joined minion's.
type Credentials struct {
	CA     *x509.Certificate
	CAPEM  []byte
	Cert   tls.Certificate // Leaf set
	Reused bool            // read from Dir, no network
}

// RefusedError is the master's answer to a join it refused (401, 409,
// 422, ...): Message is the server's one line.
type RefusedError struct {
	URL     string
	Code    int
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the master at %s refused the join (%d): %s", e.URL, e.Code, e.Message)
}

// Minion returns the minion's credentials: those saved in req.Dir when they
// still fit req (see the package doc), else new ones from the master.
func Minion(ctx context.Context, req Request) (*Credentials, error) {
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	master, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	if c, err := Load(req.Dir, req.Token, req.Name, now()); err == nil {
		return c, nil
	}
	masters := []string{master}
	for _, o := range req.Others {
		m, err := checkMaster(o)
		if err != nil {
			return nil, err
		}
		masters = append(masters, m)
	}
	var unreachable []string
	var last error
	for _, m := range masters {
		c, err := joinOne(ctx, req, m, now)
		var oe *net.OpError
		if err == nil || !errors.As(err, &oe) || len(masters) == 1 || ctx.Err() != nil {
			return c, err
		}
		unreachable = append(unreachable, fmt.Sprintf("%s (%v)", m, oe.Err))
		last = oe
	}
	return nil, fmt.Errorf("join: none of the %d masters could be reached: %s: %w", len(masters), strings.Join(unreachable, ", "), last)
}

// joinOne joins through the master at master (checked URL).
func joinOne(ctx context.Context, req Request, master string, now func() time.Time) (*Credentials, error) {
	caPEM, ca, err := fetchCA(ctx, req.Client, master)
	if err != nil {
		return nil, err
	}
	if !req.Token.Matches(ca) {
		return nil, fmt.Errorf("the master at %s presents a CA with sha256 %s, but the token pins %s: wrong token, or not the master you meant; nothing was sent",
			master, pki.CAHash(ca), req.Token.CAHash)
	}
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	if err := os.Chmod(req.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	csrPEM, keyPEM, err := csrFor(req.Dir, MinionCNPrefix+req.Name)
	if err != nil {
		return nil, err
	}
	certPEM, err := post(ctx, req, master, ca, csrPEM)
	if err != nil {
		return nil, err
	}
	cert, err := checkCert(ca, certPEM, keyPEM, req.Name, now(), 0)
	if err != nil {
		return nil, fmt.Errorf("join: the master at %s answered with a certificate that %w", master, err)
	}
	if err := saveFile(req.Dir, CAFile, caPEM); err != nil {
		return nil, err
	}
	if err := saveFile(req.Dir, CertFile, certPEM); err != nil {
		return nil, err
	}
	return &Credentials{CA: ca, CAPEM: caPEM, Cert: cert}, nil
}

func checkRequest(req Request) (string, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"master", req.Master}, {"name", req.Name}, {"dir", req.Dir},
		{"token's CA hash", req.Token.CAHash}, {"token's secret", req.Token.Secret},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("join: no %s", strings.Join(missing, ", no "))
	}
	return checkMaster(req.Master)
}

func checkMaster(master string) (string, error) {
	u, err := url.Parse(strings.TrimRight(master, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("join: master %q: want https://host:port", master)
	}
	return u.String(), nil
}

// Load reads the credentials saved in dir and returns them when the CA
// matches tok, the certificate is for minion name, signed by that CA, pairs
// with the key and is valid for more than RenewBefore after now. The error
// says why they do not fit.
func Load(dir string, tok pki.Token, name string, now time.Time) (*Credentials, error) {
	read := func(f string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, f)) }
	caPEM, err := read(CAFile)
	if err != nil {
		return nil, err
	}
	certPEM, err := read(CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read(KeyFile)
	if err != nil {
		return nil, err
	}
	ca, err := pki.ParseCertPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAFile, err)
	}
	if !tok.Matches(ca) {
		return nil, fmt.Errorf("%s has sha256 %s, the token pins %s", CAFile, pki.CAHash(ca), tok.CAHash)
	}
	cert, err := checkCert(ca, certPEM, keyPEM, name, now, RenewBefore)
	if err != nil {
		return nil, fmt.Errorf("%s: the certificate %w", CertFile, err)
	}
	return &Credentials{CA: ca, CAPEM: caPEM, Cert: cert, Reused: true}, nil
}

// checkCert pairs certPEM with keyPEM and checks it is minion name's,
// signed by ca and valid for more than minLeft. Errors complete "the
// certificate ...".
func checkCert(ca *x509.Certificate, certPEM, keyPEM []byte, name string, now time.Time, minLeft time.Duration) (tls.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("does not pair with the key: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("cannot be parsed: %w", err)
		}
		pair.Leaf = leaf
	}
	if want := MinionCNPrefix + name; leaf.Subject.CommonName != want {
		return tls.Certificate{}, fmt.Errorf("is for %q, not %q", leaf.Subject.CommonName, want)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return tls.Certificate{}, fmt.Errorf("is not signed by the cluster CA: %w", err)
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if left := leaf.NotAfter.Sub(now); left <= minLeft {
		return tls.Certificate{}, fmt.Errorf("expires %s (renewed %s before)", leaf.NotAfter.UTC().Format(time.RFC3339), minLeft)
	}
	return pair, nil
}

// httpClient is base (nil: a default one) with its transport cloned and
// given cfg.
func httpClient(base *http.Client, cfg *tls.Config) (*http.Client, *http.Transport, error) {
	var tr *http.Transport
	timeout := DefaultTimeout
	if base != nil {
		if base.Timeout != 0 {
			timeout = base.Timeout
		}
		if base.Transport != nil {
			t, ok := base.Transport.(*http.Transport)
			if !ok {
				return nil, nil, fmt.Errorf("join: Request.Client's transport is a %T, want *http.Transport", base.Transport)
			}
			tr = t.Clone()
		}
	}
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: timeout}, tr, nil
}

// fetchCA downloads the CA without verifying the server: the caller checks
// it against the token before anything else is sent.
func fetchCA(ctx context.Context, base *http.Client, master string) ([]byte, *x509.Certificate, error) {
	c, tr, err := httpClient(base, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // the CA is checked against the token's pin
	if err != nil {
		return nil, nil, err
	}
	defer tr.CloseIdleConnections()
	u := master + CACertsPath
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("join: %w", err)
	}
	resp, err := c.Do(r)
	if err != nil {
		return nil, nil, netError("GET", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, nil, netError("GET", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("join: GET %s: %d %s (is this a kubelite master?)", u, resp.StatusCode, serverLine(body))
	}
	ca, err := pki.ParseCertPEM(body)
	if err != nil {
		return nil, nil, fmt.Errorf("join: GET %s: not a CA certificate: %w", u, err)
	}
	return body, ca, nil
}

// post sends the CSR with the secret over TLS that trusts only ca.
func post(ctx context.Context, req Request, master string, ca *x509.Certificate, csrPEM []byte) ([]byte, error) {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	c, tr, err := httpClient(req.Client, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	body, err := json.Marshal(JoinRequest{Name: req.Name, CSR: string(csrPEM), HostIP: req.HostIP, Hostnames: req.Hostnames})
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	u := master + MinionPath
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+req.Token.Secret)
	resp, err := c.Do(r)
	if err != nil {
		return nil, netError("POST", u, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, netError("POST", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &RefusedError{URL: master, Code: resp.StatusCode, Message: serverLine(out)}
	}
	var jr JoinResponse
	if err := json.Unmarshal(out, &jr); err != nil {
		return nil, fmt.Errorf("join: POST %s: bad answer: %w", u, err)
	}
	if rca, err := pki.ParseCertPEM([]byte(jr.CA)); err != nil || !rca.Equal(ca) {
		return nil, fmt.Errorf("join: POST %s: the answer names another CA than %s served", u, CACertsPath)
	}
	return []byte(jr.Cert), nil
}

func netError(method, u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("join: %s %s: %w (the master may not be running, or not be reachable from here)", method, u, err)
}

// serverLine is the message of an api.Status body, else its first line.
func serverLine(body []byte) string {
	var st api.Status
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		return oneLine(st.Message)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if line == "" {
		return "(empty answer)"
	}
	return trunc(line)
}

// csrFor returns a CSR for cn and the key it is signed with: the key saved
// in dir when there is one (a renewal keeps the name's binding), else a new
// key, saved before it is used.
func csrFor(dir, cn string) (csrPEM, keyPEM []byte, err error) {
	keyPEM, err = os.ReadFile(filepath.Join(dir, KeyFile))
	if err == nil {
		signer, perr := pki.ParseKeyPEM(keyPEM)
		if perr == nil {
			der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, signer)
			if err != nil {
				return nil, nil, fmt.Errorf("join: certificate request: %w", err)
			}
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), keyPEM, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("join: %w", err)
	}
	csrPEM, keyPEM, err = pki.NewCSR(cn)
	if err != nil {
		return nil, nil, fmt.Errorf("join: certificate request: %w", err)
	}
	if err := saveFile(dir, KeyFile, keyPEM); err != nil {
		return nil, nil, err
	}
	return csrPEM, keyPEM, nil
}

// saveFile writes a credential file of dir, private and atomically.
func saveFile(dir, name string, data []byte) error {
	if err := atomicfile.Write(filepath.Join(dir, name), data, 0o600); err != nil {
		return fmt.Errorf("save %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}
