package kubectl

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kubelite/internal/kubeconfig"
)

func testCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestResolveEndpoint: where the server and the credential come from.
func TestResolveEndpoint(t *testing.T) {
	dir := t.TempDir()
	ca := testCAPEM(t)
	admin := filepath.Join(dir, "admin.kubeconfig")
	if err := kubeconfig.WriteFile(admin, kubeconfig.New("kubelite", "https://127.0.0.1:8081", ca, "admintoken")); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.kubeconfig")
	if err := kubeconfig.WriteFile(other, kubeconfig.New("other", "https://10.0.0.9:8080", ca, "othertoken")); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.kubeconfig")
	if err := kubeconfig.WriteFile(list, kubeconfig.New("three", "m1:8080,https://m2:8080,m3", ca, "listtoken")); err != nil {
		t.Fatal(err)
	}
	// A context per master, clusters with one CA; a fourth cluster with
	// another CA is another cluster's.
	perMaster := kubeconfig.New("m1", "https://m1:8080", ca, "t1")
	for _, m := range []string{"m2", "m3"} {
		perMaster.Clusters = append(perMaster.Clusters, kubeconfig.NamedCluster{Name: m, Cluster: kubeconfig.Cluster{Server: "https://" + m + ":8080", CertificateAuthorityData: ca}})
	}
	perMaster.Clusters = append(perMaster.Clusters, kubeconfig.NamedCluster{Name: "elsewhere", Cluster: kubeconfig.Cluster{Server: "https://x:8080", CertificateAuthorityData: testCAPEM(t)}})
	perMasterFile := filepath.Join(dir, "per-master.kubeconfig")
	if err := kubeconfig.WriteFile(perMasterFile, perMaster); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		t         target
		env       map[string]string
		defaults  []string
		listening map[string]bool
		url       string
		others    string // the other masters, space-separated
		token     string
		tls       bool
		err       string
	}{
		{name: "nothing: localhost:8080 plain, then the standalone's (so an error names both)", url: "http://localhost:8080", others: StandaloneServer},
		{name: "nothing, localhost:8080 listening", listening: map[string]bool{DefaultServer: true}, url: DefaultServer},
		{name: "-s HOST is HOST:8080", t: target{server: "m"}, url: "http://m:8080"},
		{name: "-s list", t: target{server: "m1,m2:9000, http://m3"}, url: "http://m1:8080", others: "http://m2:9000 http://m3:8080"},
		{name: "-s list with the kubeconfig's master", t: target{server: "10.0.0.9:8080,m2:8080"}, defaults: []string{other}, url: "https://10.0.0.9:8080", others: "https://m2:8080", token: "othertoken", tls: true},
		{name: "-s list with an empty entry", t: target{server: "m1,,m2"}, err: "-s m1,,m2: API address list \"m1,,m2\": an empty entry"},
		{name: "kubeconfig server list", t: target{kubeconfig: list}, url: "https://m1:8080", others: "https://m2:8080 https://m3:8080", token: "listtoken", tls: true},
		{name: "kubeconfig cluster per master", t: target{kubeconfig: perMasterFile}, url: "https://m1:8080", others: "https://m2:8080 https://m3:8080", token: "t1", tls: true},
		{name: "nothing, standalone listening", listening: map[string]bool{StandaloneServer: true}, url: StandaloneServer},
		{name: "default admin kubeconfig", defaults: []string{filepath.Join(dir, "missing"), admin}, url: "https://127.0.0.1:8081", token: "admintoken", tls: true},
		{name: "--kubeconfig beats defaults", t: target{kubeconfig: other}, defaults: []string{admin}, url: "https://10.0.0.9:8080", token: "othertoken", tls: true},
		{name: "$KUBECONFIG", env: map[string]string{"KUBECONFIG": other}, defaults: []string{admin}, url: "https://10.0.0.9:8080", token: "othertoken", tls: true},
		{name: "--kubeconfig missing is an error", t: target{kubeconfig: filepath.Join(dir, "nope")}, err: "nope"},
		{name: "-s http on the kubeconfig's host:port upgrades", t: target{server: "http://127.0.0.1:8081"}, defaults: []string{admin}, url: "https://127.0.0.1:8081", token: "admintoken", tls: true},
		{name: "-s elsewhere gets no credential", t: target{server: "m:8080"}, defaults: []string{admin}, url: "http://m:8080"},
		{name: "-s with --token is https", t: target{server: "m", token: "tok", caFile: caFile}, url: "https://m:8080", token: "tok", tls: true},
		{name: "--token overrides the kubeconfig's", t: target{token: "mine"}, defaults: []string{admin}, url: "https://127.0.0.1:8081", token: "mine", tls: true},
		{name: "bad ca file", t: target{server: "https://m", caFile: filepath.Join(dir, "none.crt")}, err: "--certificate-authority"},
		{name: "ca file without PEM", t: target{server: "https://m", caFile: admin}, err: "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runner{
				Getenv:             func(k string) string { return tc.env[k] },
				Listening:          func(s string) bool { return tc.listening[s] },
				DefaultKubeconfigs: tc.defaults,
			}
			ep, err := r.resolveEndpoint(tc.t)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.URL != tc.url || ep.Token != tc.token || (ep.TLS != nil) != tc.tls || strings.Join(ep.Others, " ") != tc.others {
				t.Fatalf("endpoint %s others %q token %q tls %v; want %s %q %q %v", ep.URL, ep.Others, ep.Token, ep.TLS != nil, tc.url, tc.others, tc.token, tc.tls)
			}
			if tc.tls && !tc.t.insecureSkipVerify && ep.TLS.RootCAs == nil {
				t.Fatalf("no CA pinned")
			}
		})
	}
}
