package kubeconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestEndpoint: the current context as an API endpoint.
func TestEndpoint(t *testing.T) {
	ep, err := New("k", "10.0.0.1", selfSignedPEM(t), "tok").Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	if ep.URL != "https://10.0.0.1:8080" || ep.Token != "tok" || ep.TLS == nil || ep.TLS.RootCAs == nil || ep.TLS.InsecureSkipVerify {
		t.Fatalf("endpoint %+v", ep)
	}
	plain, err := New("k", "http://m:9090", nil, "").Endpoint()
	if err != nil || plain.URL != "http://m:9090" || plain.TLS != nil {
		t.Fatalf("plain endpoint %+v, %v", plain, err)
	}
	if _, err := New("k", "https://m", []byte("not pem"), "").Endpoint(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("bad CA: %v", err)
	}
	if _, err := (&Config{}).Endpoint(); err == nil {
		t.Fatal("a kubeconfig without contexts gave an endpoint")
	}
}
