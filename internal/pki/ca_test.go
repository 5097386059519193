package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func mustCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("", t0)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	ca := mustCA(t)
	if got, want := ca.Cert.Subject.CommonName, "kubelite-ca@1796126400"; got != want {
		t.Errorf("CN = %q, want %q", got, want)
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a CA: IsCA=%v usage=%v", ca.Cert.IsCA, ca.Cert.KeyUsage)
	}
	if d := ca.Cert.NotAfter.Sub(t0); d != CAValidity {
		t.Errorf("validity %v, want %v", d, CAValidity)
	}
	again, err := ParseCA(ca.CertPEM, mustKeyPEM(t, ca))
	if err != nil {
		t.Fatalf("ParseCA: %v", err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Error("ParseCA returned another certificate")
	}
	other := mustCA(t)
	if _, err := ParseCA(ca.CertPEM, mustKeyPEM(t, other)); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("ParseCA with another key: err = %v", err)
	}
}

func mustKeyPEM(t *testing.T, ca *CA) []byte {
	t.Helper()
	b, err := encodeKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verify(ca *CA, c *x509.Certificate, usage x509.ExtKeyUsage, at time.Time, dns string) error {
	_, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}, CurrentTime: at, DNSName: dns})
	return err
}

func TestIssue(t *testing.T) {
	ca := mustCA(t)
	tests := []struct {
		name      string
		usage     Usage
		client    bool
		server    bool
		wantError bool
	}{
		{"client", ClientAuth, true, false, false},
		{"server", ServerAuth, false, true, false},
		{"both", ClientAuth | ServerAuth, true, true, false},
		{"none", 0, false, false, true},
		{"unknown bit", 4, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kp, err := ca.Issue("cn-"+tc.name, []string{"o1", "o2"}, []string{"10.0.0.1", "host.example", "::1", " "}, tc.usage, t0)
			if tc.wantError {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pair, err := kp.TLS()
			if err != nil {
				t.Fatal(err)
			}
			c := pair.Leaf
			if c.Subject.CommonName != "cn-"+tc.name || !slices.Equal(c.Subject.Organization, []string{"o1", "o2"}) {
				t.Errorf("subject = %v", c.Subject)
			}
			if !slices.Equal(c.DNSNames, []string{"host.example"}) || len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("10.0.0.1")) {
				t.Errorf("SANs = %v %v", c.DNSNames, c.IPAddresses)
			}
			if d := c.NotAfter.Sub(t0); d != LeafValidity {
				t.Errorf("validity %v", d)
			}
			at := t0.Add(time.Minute)
			if got := verify(ca, c, x509.ExtKeyUsageClientAuth, at, "") == nil; got != tc.client {
				t.Errorf("verifies as client = %v, want %v", got, tc.client)
			}
			if got := verify(ca, c, x509.ExtKeyUsageServerAuth, at, "host.example") == nil; got != tc.server {
				t.Errorf("verifies as server = %v, want %v", got, tc.server)
			}
			if verify(ca, c, x509.ExtKeyUsageAny, t0.Add(LeafValidity+time.Hour), "") == nil {
				t.Error("verifies after expiry")
			}
		})
	}
	if _, err := ca.Issue("", nil, nil, ClientAuth, t0); err == nil {
		t.Error("empty CN accepted")
	}
}

func TestIssueNeverOutlivesCA(t *testing.T) {
	ca := mustCA(t)
	kp, err := ca.Issue("late", nil, nil, ClientAuth, ca.Cert.NotAfter.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertPEM(kp.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if c.NotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("leaf expires %v after the CA %v", c.NotAfter, ca.Cert.NotAfter)
	}
}

func TestSignIgnoresRequestNames(t *testing.T) {
	ca := mustCA(t)
	csrPEM, keyPEM, err := NewCSR("admin")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.Sign(csrPEM, "minion:m1", []string{"kubelite:minions"}, []string{"192.168.1.5", "m1"}, ClientAuth|ServerAuth, t0)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("signed certificate does not match the request's key: %v", err)
	}
	c := pair.Leaf
	if c.Subject.CommonName != "minion:m1" || !slices.Equal(c.Subject.Organization, []string{"kubelite:minions"}) {
		t.Errorf("subject = %v, want the caller's, not the request's", c.Subject)
	}
	if err := verify(ca, c, x509.ExtKeyUsageServerAuth, t0, "m1"); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestSignRejects(t *testing.T) {
	ca := mustCA(t)
	csrPEM, _, err := NewCSR("x")
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(csrPEM), "A", "B", 3))
	tests := map[string][]byte{
		"empty":        nil,
		"not pem":      []byte("hello"),
		"certificate":  ca.CertPEM,
		"tampered csr": tampered,
	}
	for name, in := range tests {
		if _, err := ca.Sign(in, "minion:m1", nil, nil, ClientAuth, t0); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestParseCertPEMSkipsOtherBlocks(t *testing.T) {
	ca := mustCA(t)
	b := append(mustKeyPEM(t, ca), ca.CertPEM...)
	c, err := ParseCertPEM(b)
	if err != nil || !c.Equal(ca.Cert) {
		t.Fatalf("ParseCertPEM = %v, %v", c, err)
	}
	if _, err := ParseCertPEM([]byte("junk")); err == nil {
		t.Error("junk parsed")
	}
}
