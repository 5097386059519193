package cli

import (
	"strings"
	"testing"

	"kubelite/internal/kubeconfig"
	"kubelite/internal/pki"
)

// TestTokenAndKubeconfig: what `kubelite token` and `kubelite kubeconfig`
// print on a master's data dir.
func TestTokenAndKubeconfig(t *testing.T) {
	dir := t.TempDir()
	id, err := pki.LoadOrCreate(dir, pki.Options{Server: "https://127.0.0.1:8080", Hosts: func() ([]string, error) { return []string{"m1", "10.0.0.1"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "kubelite", "token", "--data-dir", dir)
	if err != nil || strings.TrimSpace(out) != id.JoinToken {
		t.Fatalf("token = %q, %v; want %q", out, err, id.JoinToken)
	}
	tok, err := pki.ParseToken(strings.TrimSpace(out))
	if err != nil || !tok.Matches(id.CA.Cert) {
		t.Fatalf("token %q does not pin the CA: %v", out, err)
	}
	rotated, _, err := run(t, "kubelite", "token", "--data-dir", dir, "--rotate")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := pki.ParseToken(strings.TrimSpace(rotated))
	if err != nil || rt.CAHash != tok.CAHash || rt.Secret == tok.Secret {
		t.Fatalf("rotated token %q: same CA, new secret wanted (%v)", rotated, err)
	}
	if again, _, _ := run(t, "kubelite", "token", "--data-dir", dir); again != rotated {
		t.Fatalf("after --rotate, token prints %q, want %q", again, rotated)
	}

	out, _, err = run(t, "kubelite", "kubeconfig", "--data-dir", dir, "--server", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubeconfig.Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	cl, u, err := kc.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cl.Server != "https://10.0.0.1:8080" || u.Token != id.AdminToken || string(cl.CertificateAuthorityData) != string(id.CA.CertPEM) {
		t.Fatalf("kubeconfig: server %q token %q ca %d bytes", cl.Server, u.Token, len(cl.CertificateAuthorityData))
	}

	empty := t.TempDir()
	for _, args := range [][]string{{"token"}, {"kubeconfig"}} {
		_, _, err := run(t, append([]string{"kubelite"}, append(args, "--data-dir", empty)...)...)
		if err == nil || !strings.Contains(err.Error(), "start the master once") {
			t.Errorf("%v on an empty data dir: %v", args, err)
		}
	}
	if _, _, err := run(t, "kubelite", "kubeconfig", "--data-dir", dir, "--server", "ftp://x"); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("bad --server: %v", err)
	}
}
