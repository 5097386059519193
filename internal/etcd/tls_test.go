package etcd_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/pki"
)

// TestEmbeddedClientTLS: with ClientTLS, etcd serves https and answers only
// clients with a certificate of its CA; off loopback, TLS is required.
func TestEmbeddedClientTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.NewCA("", now)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Issue("etcd", nil, []string{"127.0.0.1"}, pki.ServerAuth, now)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("kubelite:master", nil, nil, pki.ClientAuth, now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("", now)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.Issue("kubelite:master", nil, nil, pki.ClientAuth, now)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := etcd.TLSFiles{CertFile: write("s.crt", server.CertPEM), KeyFile: write("s.key", server.KeyPEM), CAFile: write("ca.crt", ca.CertPEM)}

	e := etcd.NewEmbedded(etcd.Config{DataDir: t.TempDir(), ClientAddr: etcdtest.FreeAddr(t), PeerAddr: etcdtest.FreeAddr(t), UnsafeNoFsync: true, ClientTLS: &files})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- e.Run(ctx, func() { close(started) }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("etcd did not start: %v", err)
	}
	eps := e.Endpoints()
	if len(eps) != 1 || !strings.HasPrefix(eps[0], "https://") {
		t.Fatalf("endpoints %v, want https", eps)
	}
	try := func(certFile, keyFile string) error {
		tc, err := etcd.ClientTLS(etcd.TLSFiles{CertFile: certFile, KeyFile: keyFile, CAFile: files.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		cli, err := etcd.NewClient(eps, tc)
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		return etcd.Health(context.Background(), cli)
	}
	if err := try(write("c.crt", client.CertPEM), write("c.key", client.KeyPEM)); err != nil {
		t.Fatalf("client with the CA's certificate: %v", err)
	}
	if err := try("", ""); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if err := try(write("x.crt", stranger.CertPEM), write("x.key", stranger.KeyPEM)); err == nil {
		t.Fatal("a client with another CA's certificate was served")
	}

	off := etcd.NewEmbedded(etcd.Config{DataDir: t.TempDir(), ClientAddr: "0.0.0.0:0", PeerAddr: etcdtest.FreeAddr(t)})
	if err := off.Run(context.Background(), func() {}); err == nil || !strings.Contains(err.Error(), "off loopback") {
		t.Fatalf("etcd off loopback without TLS: %v", err)
	}
}
