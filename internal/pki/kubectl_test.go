package pki

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kubelite/internal/testutil"
)

// TestAdminKubeconfigWithRealKubectl serves TLS with the identity's serving
// certificate and checks that the real kubectl, given only admin.kubeconfig,
// trusts it (CA data, SAN 127.0.0.1) and sends the admin token.
func TestAdminKubeconfigWithRealKubectl(t *testing.T) {
	kubectl := testutil.RealKubectls(t).Path
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := opts(time.Now(), "master1")
	o.Server = "https://" + ln.Addr().String()
	id := mustLoad(t, dir, o)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+id.AdminToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"0","minor":"6","gitVersion":"v0.6.2-kubelite"}`))
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.Serving}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	cmd := exec.Command(kubectl, "--kubeconfig", filepath.Join(dir, AdminKubeconfigFile), "get", "--raw", "/version")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "v0.6.2-kubelite") {
		t.Errorf("kubectl output %q", out)
	}
}
