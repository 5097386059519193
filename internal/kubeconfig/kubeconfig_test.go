package kubeconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/testutil"
)

const caPEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

func TestNewMarshalParse(t *testing.T) {
	c := New("kubelite", "https://10.0.0.1:8080", []byte(caPEM), "tok123")
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"apiVersion: v1", "kind: Config", "current-context: kubelite",
		"certificate-authority-data: LS0tLS1CRUdJTi", "token: tok123", "server: https://10.0.0.1:8080"} {
		if !strings.Contains(s, want) {
			t.Errorf("YAML lacks %q:\n%s", want, s)
		}
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	cl, u, err := back.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cl.Server != "https://10.0.0.1:8080" || string(cl.CertificateAuthorityData) != caPEM || u.Token != "tok123" {
		t.Errorf("round trip: %+v %+v", cl, u)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, errHas string
	}{
		{"yaml", "apiVersion: v1\nkind: Config\nclusters: []\n", ""},
		{"json", `{"apiVersion":"v1","kind":"Config","current-context":"x"}`, ""},
		{"no kind", "clusters: []\n", ""},
		{"unknown fields kept out", "apiVersion: v1\nkind: Config\npreferences: {}\nusers:\n- name: u\n  user:\n    exec: {command: x}\n", ""},
		{"empty", "\n", "empty"},
		{"wrong kind", "apiVersion: v1\nkind: Pod\n", `kind is "Pod"`},
		{"wrong version", "apiVersion: v2\nkind: Config\n", `apiVersion is "v2"`},
		{"syntax", "clusters: [\n", "parse kubeconfig"},
		{"bad base64", "clusters:\n- name: c\n  cluster:\n    certificate-authority-data: '!!!'\n", "parse kubeconfig"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.in))
		if tc.errHas == "" && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.errHas)
		}
	}
}

func TestCurrent(t *testing.T) {
	two := &Config{
		Clusters: []NamedCluster{{Name: "a", Cluster: Cluster{Server: "https://a"}}, {Name: "b", Cluster: Cluster{Server: "https://b"}}, {Name: "noserver"}},
		Users:    []NamedUser{{Name: "ua", User: User{Token: "ta"}}, {Name: "ub", User: User{Token: "tb"}}},
		Contexts: []NamedContext{{Name: "ca", Context: Context{Cluster: "a", User: "ua"}}, {Name: "cb", Context: Context{Cluster: "b", User: "ub"}}},
	}
	with := func(f func(c *Config)) *Config {
		c := *two
		c.Contexts = append([]NamedContext(nil), two.Contexts...)
		f(&c)
		return &c
	}
	tests := []struct {
		name               string
		c                  *Config
		server, token, err string
	}{
		{"current b", with(func(c *Config) { c.CurrentContext = "cb" }), "https://b", "tb", ""},
		{"only context", with(func(c *Config) { c.Contexts = c.Contexts[:1] }), "https://a", "ta", ""},
		{"anonymous user", with(func(c *Config) { c.Contexts = []NamedContext{{Name: "x", Context: Context{Cluster: "a"}}} }), "https://a", "", ""},
		{"ambiguous", two, "", "", "no current-context and 2 contexts (ca, cb)"},
		{"none", &Config{}, "", "", "no context"},
		{"missing current", with(func(c *Config) { c.CurrentContext = "zz" }), "", "", `current-context "zz" is not among`},
		{"missing cluster", with(func(c *Config) { c.Contexts = []NamedContext{{Name: "x", Context: Context{Cluster: "q"}}} }), "", "", `cluster "q", which is not among`},
		{"missing user", with(func(c *Config) { c.Contexts = []NamedContext{{Name: "x", Context: Context{Cluster: "a", User: "q"}}} }), "", "", `user "q", which is not among`},
		{"no server", with(func(c *Config) { c.Contexts = []NamedContext{{Name: "x", Context: Context{Cluster: "noserver"}}} }), "", "", "has no server"},
	}
	for _, tc := range tests {
		cl, u, err := tc.c.Current()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || cl.Server != tc.server || u.Token != tc.token {
			t.Errorf("%s: = %q %q %v", tc.name, cl.Server, u.Token, err)
		}
	}
}

func TestLoadResolvesRelativeFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"ca.crt": caPEM, "c.crt": "CERT", "c.key": "KEY"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yml := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://x:8080", certificate-authority: ca.crt}
users:
- name: u
  user: {client-certificate: c.crt, client-key: /abs/c.key}
contexts:
- name: x
  context: {cluster: c, user: u}
`
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cl, u, err := c.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cl.CertificateAuthority != filepath.Join(dir, "ca.crt") || u.ClientCertificate != filepath.Join(dir, "c.crt") || u.ClientKey != "/abs/c.key" {
		t.Errorf("paths: %q %q %q", cl.CertificateAuthority, u.ClientCertificate, u.ClientKey)
	}
	if b, err := cl.CAPEM(); err != nil || string(b) != caPEM {
		t.Errorf("CAPEM = %q, %v", b, err)
	}
	if _, _, err := u.ClientCertPEM(); err == nil || !strings.Contains(err.Error(), "client-key") {
		t.Errorf("missing key file: err = %v", err)
	}
	u.ClientKey = filepath.Join(dir, "c.key")
	if cert, key, err := u.ClientCertPEM(); err != nil || string(cert) != "CERT" || string(key) != "KEY" {
		t.Errorf("ClientCertPEM = %q %q %v", cert, key, err)
	}
	if _, _, err := (User{ClientCertificateData: []byte("C")}).ClientCertPEM(); err == nil {
		t.Error("certificate without a key accepted")
	}
	if cert, key, err := (User{Token: "t"}).ClientCertPEM(); err != nil || cert != nil || key != nil {
		t.Errorf("token user: %q %q %v", cert, key, err)
	}
	if b, err := (Cluster{}).CAPEM(); err != nil || b != nil {
		t.Errorf("no CA: %q %v", b, err)
	}
	if _, err := Load(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, New("k", "https://s", []byte(caPEM), "t")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode().Perm(), err)
	}
	c, err := Load(path)
	if err != nil || c.CurrentContext != "k" {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestRealKubectl checks that the real kubectl accepts what New+WriteFile
// write, for every kubectl version the machine ships.
func TestRealKubectl(t *testing.T) {
	bins := testutil.RealKubectls(t).All()
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	if err := WriteFile(path, New("kubelite", "https://192.168.1.200:8080", []byte(caPEM), "s3cr3t-token")); err != nil {
		t.Fatal(err)
	}
	for _, bin := range bins {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			run := func(args ...string) string {
				cmd := exec.Command(bin, append([]string{"--kubeconfig", path}, args...)...)
				cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
				}
				return string(out)
			}
			view := run("config", "view")
			for _, want := range []string{"server: https://192.168.1.200:8080", "current-context: kubelite", "certificate-authority-data: DATA+OMITTED", "token: REDACTED"} {
				if !strings.Contains(view, want) {
					t.Errorf("config view lacks %q:\n%s", want, view)
				}
			}
			if got := run("config", "view", "--raw", "-o", "jsonpath={.users[0].user.token}"); got != "s3cr3t-token" {
				t.Errorf("token = %q", got)
			}
			if got := run("config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"); !strings.HasPrefix(got, "LS0tLS1CRUdJTi") {
				t.Errorf("certificate-authority-data = %q", got)
			}
		})
	}
}
