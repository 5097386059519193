package masterjoin

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/join"
	"kubelite/internal/pki"
)

// JoinRequest says how to join.
type JoinRequest struct {
	Master  string // HOST:PORT of a running master's API
	Token   string // the master token, K10...::secret
	Name    string // this master's etcd member name
	PeerURL string // this master's etcd peer URL
	Timeout time.Duration
}

// RefusedError is a running master's refusal, with its one line.
type RefusedError struct {
	Code    int
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the master refused the join (%d): %s", e.Code, e.Message)
}

const maxResponseBytes = 1 << 20

// Join pins the running master's CA with the token, then asks it to add
// this master's etcd member and hand over the cluster identity.
func Join(ctx context.Context, req JoinRequest) (*Response, error) {
	tok, err := pki.ParseToken(req.Token)
	if err != nil {
		return nil, fmt.Errorf("master token: %w", err)
	}
	if req.Timeout <= 0 {
		req.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	base := "https://" + strings.TrimPrefix(strings.TrimPrefix(req.Master, "https://"), "http://")

	// The CA, fetched without verification, must be the one the token pins.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}} //nolint:gosec // pinned below
	defer insecure.CloseIdleConnections()
	caPEM, err := get(ctx, insecure, base+join.CACertsPath)
	if err != nil {
		return nil, err
	}
	ca, err := pki.ParseCertPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("the master's CA: %w", err)
	}
	if !tok.Matches(ca) {
		return nil, fmt.Errorf("the CA of %s does not match the master token (sent nothing): is it the right master, and the token of its cluster?", req.Master)
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer pinned.CloseIdleConnections()
	body, _ := json.Marshal(Request{Name: req.Name, PeerURL: req.PeerURL})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+Path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Authorization", "Bearer "+tok.Secret)
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := pinned.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("join master %s: %w (is it running?)", req.Master, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("join master %s: %w", req.Master, err)
	}
	if resp.StatusCode != http.StatusOK {
		var st api.Status
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &st) == nil && st.Message != "" {
			msg = st.Message
		}
		return nil, &RefusedError{Code: resp.StatusCode, Message: oneLine(msg)}
	}
	var out Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("join master %s: answer: %w", req.Master, err)
	}
	if out.InitialCluster == "" || len(out.Files[pki.CACertFile]) == 0 || len(out.Files[pki.CAKeyFile]) == 0 {
		return nil, fmt.Errorf("join master %s: the answer lacks the initial cluster or the CA", req.Master)
	}
	if got, err := pki.ParseCertPEM(out.Files[pki.CACertFile]); err != nil || !tok.Matches(got) {
		return nil, fmt.Errorf("join master %s: the CA handed over is not the pinned one", req.Master)
	}
	return &out, nil
}

func get(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the master's CA from %s: %w (is it running?)", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the master's CA from %s: %d %v", u, resp.StatusCode, err)
	}
	return b, nil
}

// HandedOver lists the identity files a running master hands over.
var HandedOver = []string{pki.CACertFile, pki.CAKeyFile, pki.TokenFile, pki.MasterTokenFile, pki.AdminTokenFile}

// ReadFiles reads the files of HandedOver from dataDir/pki (Server.Files).
func ReadFiles(dataDir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, name := range HandedOver {
		b, err := os.ReadFile(filepath.Join(pki.PKIDir(dataDir), name))
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// WriteFiles writes handed-over files into dataDir/pki (0700), each 0600,
// atomically; only names of HandedOver are written. It adds this master's
// own serving and client certificates, issued from the CA (pki re-issues
// the serving one for this host's names at start).
func WriteFiles(dataDir string, files map[string][]byte) error {
	dir := pki.PKIDir(dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write the cluster identity: %w", err)
	}
	ca, err := pki.ParseCA(files[pki.CACertFile], files[pki.CAKeyFile])
	if err != nil {
		return fmt.Errorf("write the cluster identity: the CA handed over: %w", err)
	}
	now := time.Now()
	serving, err := ca.Issue("kubelite-apiserver", nil, []string{"127.0.0.1", "localhost"}, pki.ServerAuth, now)
	if err != nil {
		return fmt.Errorf("write the cluster identity: %w", err)
	}
	client, err := ca.Issue(pki.MasterCommonName, nil, nil, pki.ClientAuth, now)
	if err != nil {
		return fmt.Errorf("write the cluster identity: %w", err)
	}
	all := map[string][]byte{
		pki.ServerCertFile: serving.CertPEM, pki.ServerKeyFile: serving.KeyPEM,
		pki.MasterCertFile: client.CertPEM, pki.MasterKeyFile: client.KeyPEM,
	}
	names := []string{pki.ServerCertFile, pki.ServerKeyFile, pki.MasterCertFile, pki.MasterKeyFile}
	for _, name := range HandedOver {
		b, ok := files[name]
		if !ok {
			return fmt.Errorf("write the cluster identity: %s was not handed over", name)
		}
		all[name] = b
	}
	// The CA last: its presence is what tells a restart the join is done.
	names = append(names, pki.TokenFile, pki.MasterTokenFile, pki.AdminTokenFile, pki.CAKeyFile, pki.CACertFile)
	for _, name := range names {
		b := all[name]
		tmp, err := os.CreateTemp(dir, "."+name+".*")
		if err != nil {
			return fmt.Errorf("write the cluster identity: %w", err)
		}
		_, werr := tmp.Write(b)
		if werr == nil {
			werr = tmp.Chmod(0o600)
		}
		if werr == nil {
			werr = tmp.Sync()
		}
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), filepath.Join(dir, name))
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write the cluster identity: %s: %w", name, werr)
		}
	}
	return nil
}
