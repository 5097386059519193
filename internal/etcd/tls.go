package etcd

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// TLSFiles are PEM files for etcd's TLS: a certificate and its key, and
// the CA that signs the other side's certificates.
type TLSFiles struct {
	CertFile, KeyFile, CAFile string
}

// IsLoopback reports whether a host:port listens on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ClientTLS is the client side of f: the CA that verifies the server, and
// the client certificate when f names one. Nil for empty files.
func ClientTLS(f TLSFiles) (*tls.Config, error) {
	if f == (TLSFiles{}) {
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: f.CertFile, KeyFile: f.KeyFile, TrustedCAFile: f.CAFile}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd TLS: %w", err)
	}
	c.MinVersion = tls.VersionTLS12
	return c, nil
}
