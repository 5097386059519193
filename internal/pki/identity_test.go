package pki

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/kubeconfig"
)

func opts(now time.Time, hosts ...string) Options {
	return Options{
		Server: "https://10.0.0.1:8080",
		Now:    func() time.Time { return now },
		Hosts:  func() ([]string, error) { return hosts, nil },
	}
}

func mustLoad(t *testing.T, dir string, o Options) *Identity {
	t.Helper()
	id, err := LoadOrCreate(dir, o)
	if err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	return id
}

func TestLoadOrCreateCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	o := opts(t0, "master1", "10.0.0.1")
	o.SANs = []string{"api.example", "192.168.1.200"}
	id := mustLoad(t, dir, o)

	for _, s := range []string{id.JoinToken, id.MasterToken} {
		tok, err := ParseToken(s)
		if err != nil || !tok.Matches(id.CA.Cert) {
			t.Errorf("token %q: %v, matches=%v", s, err, err == nil && tok.Matches(id.CA.Cert))
		}
	}
	if id.JoinToken == id.MasterToken || len(id.AdminToken) != 64 {
		t.Errorf("tokens: join %q master %q admin %q", id.JoinToken, id.MasterToken, id.AdminToken)
	}
	s := id.Serving.Leaf
	if !slices.Equal(s.DNSNames, []string{"master1", "localhost", "api.example"}) {
		t.Errorf("serving DNS SANs = %v", s.DNSNames)
	}
	var ips []string
	for _, ip := range s.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"10.0.0.1", "127.0.0.1", "::1", "192.168.1.200"}) {
		t.Errorf("serving IP SANs = %v", ips)
	}
	if err := verify(id.CA, s, x509.ExtKeyUsageServerAuth, t0, "api.example"); err != nil {
		t.Errorf("serving cert: %v", err)
	}
	m := id.Master.Leaf
	if m.Subject.CommonName != "kubelite:master" || verify(id.CA, m, x509.ExtKeyUsageClientAuth, t0, "") != nil {
		t.Errorf("master cert CN %q", m.Subject.CommonName)
	}

	pkiDir := filepath.Join(dir, "pki")
	wantModes := map[string]os.FileMode{
		"": 0o700, "ca.crt": 0o644, "ca.key": 0o600, "server.crt": 0o644, "server.key": 0o600,
		"master.crt": 0o644, "master.key": 0o600, "token": 0o600, "master-token": 0o600, "admin-token": 0o600,
	}
	entries, err := os.ReadDir(pkiDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(wantModes)-1 {
		t.Errorf("pki dir holds %d files, want %d", len(entries), len(wantModes)-1)
	}
	for name, mode := range wantModes {
		st, err := os.Stat(filepath.Join(pkiDir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s mode %o, want %o", name, st.Mode().Perm(), mode)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "admin.kubeconfig")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("admin.kubeconfig: %v %v", st, err)
	}
	kc, err := kubeconfig.Load(filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	cl, u, err := kc.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cl.Server != "https://10.0.0.1:8080" || string(cl.CertificateAuthorityData) != string(id.CA.CertPEM) || u.Token != id.AdminToken {
		t.Errorf("admin.kubeconfig: server %q token %q", cl.Server, u.Token)
	}
	if got, err := ReadToken(dir, false); err != nil || got != id.JoinToken {
		t.Errorf("ReadToken = %q, %v", got, err)
	}
	if got, err := ReadToken(dir, true); err != nil || got != id.MasterToken {
		t.Errorf("ReadToken(master) = %q, %v", got, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".pki-new-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary dirs left: %v", leftovers)
	}
}

func TestLoadOrCreateReuses(t *testing.T) {
	dir := t.TempDir()
	first := mustLoad(t, dir, opts(t0, "master1"))
	o := opts(t0.Add(48*time.Hour), "master1")
	o.Server = "https://other:8080"
	second := mustLoad(t, dir, o)
	if !second.CA.Cert.Equal(first.CA.Cert) || second.JoinToken != first.JoinToken ||
		second.MasterToken != first.MasterToken || second.AdminToken != first.AdminToken {
		t.Error("reuse changed the CA or a token")
	}
	if !second.Serving.Leaf.Equal(first.Serving.Leaf) || !second.Master.Leaf.Equal(first.Master.Leaf) {
		t.Error("reuse re-issued a certificate that still fit")
	}
	kc, err := kubeconfig.Load(filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if cl, _, _ := kc.Current(); cl.Server != "https://other:8080" {
		t.Errorf("admin.kubeconfig server %q, want the new one", cl.Server)
	}
}

func TestLoadOrCreateReissues(t *testing.T) {
	tests := []struct {
		name          string
		second        Options
		reissueServer bool
		reissueMaster bool
	}{
		{"new address", opts(t0, "master1", "10.0.0.9"), true, false},
		{"new tls-san", func() Options { o := opts(t0, "master1"); o.SANs = []string{"api.example"}; return o }(), true, false},
		{"same names", opts(t0.Add(24*time.Hour), "master1"), false, false},
		{"29 days before expiry", opts(t0.Add(LeafValidity-29*24*time.Hour), "master1"), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := mustLoad(t, dir, opts(t0, "master1"))
			second := mustLoad(t, dir, tc.second)
			if !second.CA.Cert.Equal(first.CA.Cert) || second.JoinToken != first.JoinToken || second.AdminToken != first.AdminToken {
				t.Fatal("the CA or a token changed")
			}
			if got := !second.Serving.Leaf.Equal(first.Serving.Leaf); got != tc.reissueServer {
				t.Errorf("serving re-issued = %v, want %v", got, tc.reissueServer)
			}
			if got := !second.Master.Leaf.Equal(first.Master.Leaf); got != tc.reissueMaster {
				t.Errorf("master re-issued = %v, want %v", got, tc.reissueMaster)
			}
			if err := verify(second.CA, second.Serving.Leaf, x509.ExtKeyUsageServerAuth, tc.second.Now(), "master1"); err != nil {
				t.Errorf("serving cert: %v", err)
			}
			third := mustLoad(t, dir, tc.second)
			if !third.Serving.Leaf.Equal(second.Serving.Leaf) {
				t.Error("the re-issued certificate was not saved")
			}
		})
	}
}

func TestLoadOrCreateReissuesMismatchedPair(t *testing.T) {
	dir := t.TempDir()
	first := mustLoad(t, dir, opts(t0, "m"))
	other, err := first.CA.Issue("x", nil, nil, ServerAuth, t0)
	if err != nil {
		t.Fatal(err)
	}
	// A crash between writing the new key and the new certificate.
	if err := os.WriteFile(filepath.Join(dir, "pki", "server.key"), other.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	second := mustLoad(t, dir, opts(t0, "m"))
	if second.Serving.Leaf.Equal(first.Serving.Leaf) {
		t.Error("mismatched pair kept")
	}
}

func TestLoadOrCreateCorrupt(t *testing.T) {
	tests := []struct {
		file    string
		content string // "" = remove the file
		errHas  string
	}{
		{"ca.crt", "not a certificate", "ca.crt"},
		{"ca.key", "", "ca.key: missing"},
		{"ca.key", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", "ca.key"},
		{"token", "garbage", "token: token must start with K10"},
		{"token", "K10" + strings.Repeat("0", 64) + "::abc\n", "pins another CA"},
		{"admin-token", "", "admin-token: missing"},
		{"admin-token", "\n", "admin-token"},
		{"server.crt", "junk", "server.crt"},
		{"master.key", "junk", "master.key"},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.errHas, func(t *testing.T) {
			dir := t.TempDir()
			mustLoad(t, dir, opts(t0, "m"))
			path := filepath.Join(dir, "pki", tc.file)
			var err error
			if tc.content == "" {
				err = os.Remove(path)
			} else {
				err = os.WriteFile(path, []byte(tc.content), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadOrCreate(dir, opts(t0, "m"))
			if err == nil {
				t.Fatal("corrupt identity loaded")
			}
			for _, want := range []string{tc.errHas, filepath.Join(dir, "pki"), "remove", "rejoin"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestLoadOrCreateFixesModes(t *testing.T) {
	dir := t.TempDir()
	mustLoad(t, dir, opts(t0, "m"))
	key := filepath.Join(dir, "pki", "ca.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "pki"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, dir, opts(t0, "m"))
	for path, want := range map[string]os.FileMode{key: 0o600, filepath.Join(dir, "pki"): 0o700} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %o (%v)", path, st.Mode().Perm(), want, err)
		}
	}
}

func TestLoadOrCreateRace(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	ids := make([]*Identity, 4)
	errs := make([]error, 4)
	for i := range ids {
		wg.Go(func() { ids[i], errs[i] = LoadOrCreate(dir, opts(t0, "m")) })
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		if !ids[i].CA.Cert.Equal(ids[0].CA.Cert) || ids[i].JoinToken != ids[0].JoinToken {
			t.Errorf("process %d got another identity", i)
		}
	}
}

func TestHostsError(t *testing.T) {
	o := opts(t0)
	o.Hosts = func() ([]string, error) { return nil, errors.New("no interfaces") }
	if _, err := LoadOrCreate(t.TempDir(), o); err == nil || !strings.Contains(err.Error(), "no interfaces") {
		t.Errorf("err = %v", err)
	}
}

func TestHostNames(t *testing.T) {
	hosts, err := HostNames()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(hosts, "127.0.0.1") {
		t.Errorf("HostNames() = %v: want the loopback address among them", hosts)
	}
}

func TestRotateToken(t *testing.T) {
	dir := t.TempDir()
	id := mustLoad(t, dir, opts(t0, "m"))
	for _, master := range []bool{false, true} {
		old := id.JoinToken
		if master {
			old = id.MasterToken
		}
		got, err := RotateToken(dir, master)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ParseToken(got)
		if err != nil || !tok.Matches(id.CA.Cert) || got == old {
			t.Errorf("rotated token %q (old %q): %v", got, old, err)
		}
		if read, err := ReadToken(dir, master); err != nil || read != got {
			t.Errorf("ReadToken after rotate = %q, %v", read, err)
		}
	}
	again := mustLoad(t, dir, opts(t0, "m"))
	if !again.CA.Cert.Equal(id.CA.Cert) || again.AdminToken != id.AdminToken {
		t.Error("rotation changed the CA or the admin token")
	}
	if st, err := os.Stat(TokenPath(dir, false)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token mode after rotate: %v %v", st, err)
	}
}

func TestTokenWithoutIdentity(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadToken(dir, false); err == nil || !strings.Contains(err.Error(), "start the master once") || !strings.Contains(err.Error(), "pki/token") {
		t.Errorf("ReadToken: %v", err)
	}
	if _, err := RotateToken(dir, false); err == nil || !strings.Contains(err.Error(), "start the master once") {
		t.Errorf("RotateToken: %v", err)
	}
}
