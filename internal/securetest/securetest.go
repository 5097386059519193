package securetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"kubelite/internal/endpoint"
	"kubelite/internal/join"
	"kubelite/internal/kubeconfig"
)

// Token runs `bin token --data-dir dataDir` and returns the join token it
// prints (K10<ca hash>::<secret>).
func Token(ctx context.Context, bin, dataDir string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "token", "--data-dir", dataDir).Output()
	if err != nil {
		return "", fmt.Errorf("kubelite token --data-dir %s: %w%s", dataDir, err, stderrOf(err))
	}
	tok := strings.TrimSpace(string(out))
	if !strings.HasPrefix(tok, "K10") {
		return "", fmt.Errorf("kubelite token --data-dir %s printed %q, not a K10 token", dataDir, tok)
	}
	return tok, nil
}

// Kubeconfig runs `bin kubeconfig --data-dir dataDir --server server` and
// returns the admin kubeconfig it prints.
func Kubeconfig(ctx context.Context, bin, dataDir, server string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, bin, "kubeconfig", "--data-dir", dataDir, "--server", server).Output()
	if err != nil {
		return nil, fmt.Errorf("kubelite kubeconfig --data-dir %s --server %s: %w%s", dataDir, server, err, stderrOf(err))
	}
	return out, nil
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// FromKubeconfig returns the endpoint of a kubeconfig file's current
// context: its server (https unless written otherwise), a TLS config that
// trusts only its certificate authority and presents its client
// certificate if it has one, and its bearer token.
func FromKubeconfig(path string) (endpoint.Endpoint, error) {
	c, err := kubeconfig.Load(path)
	if err != nil {
		return endpoint.Endpoint{}, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	ep, err := c.Endpoint()
	if err != nil {
		return endpoint.Endpoint{}, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return ep, nil
}

// MinionEndpoint is the credential a joined minion keeps under its
// --root-dir (pki/ca.crt, minion.crt, minion.key), as an endpoint of the
// API at url: what that minion's kubelet and proxy present.
func MinionEndpoint(url, rootDir string) (endpoint.Endpoint, error) {
	dir := filepath.Join(rootDir, "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, join.CertFile), filepath.Join(dir, join.KeyFile))
	if err != nil {
		return endpoint.Endpoint{}, fmt.Errorf("minion credential in %s: %w", dir, err)
	}
	pool, err := caPool(filepath.Join(dir, join.CAFile))
	if err != nil {
		return endpoint.Endpoint{}, err
	}
	return endpoint.Endpoint{URL: url, TLS: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{cert}}}, nil
}

func caPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

// Client is an HTTP client of ep (its TLS and credential), each request
// bounded by timeout, that never uses a proxy from the environment.
func Client(ep endpoint.Endpoint, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: ep.RoundTripper()}
}
