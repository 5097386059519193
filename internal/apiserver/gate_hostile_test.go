package apiserver_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/kubeconfig"
	"kubelite/internal/pki"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// Issue 17 item 1 (CSRF, DNS rebinding): what a web page of another site
// can make a browser send is refused before it reaches a handler.

func TestHostileCSRF(t *testing.T) {
	const pod = `{"id":"csrf","desiredState":{"manifest":{"version":"v1beta1","containers":[{"name":"c","image":"i"}]}}}`
	cases := []struct {
		name, method, path, ct, origin, body string
		code                                 int
	}{
		// The measured attack: text/plain POSTs from a page.
		{"text/plain create", "POST", "/api/v1beta1/pods", "text/plain", "", pod, 415},
		{"text/plain through the proxy", "POST", "/api/v1beta1/proxy/minions/m1/v3/kv/deleterange", "text/plain;charset=UTF-8", "", `{"key":"AA=="}`, 415},
		{"form create", "POST", "/api/v1beta1/pods", "application/x-www-form-urlencoded", "", pod, 415},
		{"multipart create", "POST", "/api/v1beta1/pods", "multipart/form-data; boundary=x", "", pod, 415},
		{"no content type from a browser", "POST", "/api/v1beta1/pods", "", "http://127.0.0.1:8080", pod, 415},
		{"cross-site write without an Origin", "POST", "/api/v1beta1/pods", "application/json", "", pod, 403},
		{"garbage content type", "POST", "/api/v1beta1/pods", "application/json;;", "", pod, 415},
		{"json lookalike", "POST", "/api/v1beta1/pods", "text/json", "", pod, 415},
		{"text/plain update", "PUT", "/api/v1beta1/pods/web", "text/plain", "", `{"id":"web"}`, 415},
		{"text/plain delete with a body", "DELETE", "/api/v1beta1/pods/web", "text/plain", "", `{}`, 415},
		{"foreign origin, json", "POST", "/api/v1beta1/pods", "application/json", "http://evil.example", pod, 403},
		{"foreign origin, same host other port", "POST", "/api/v1beta1/pods", "application/json", "http://127.0.0.1:9999", pod, 403},
		{"foreign origin, other scheme", "POST", "/api/v1beta1/pods", "application/json", "https://127.0.0.1:8080", pod, 403},
		{"null origin", "POST", "/api/v1beta1/pods", "application/json", "null", pod, 403},
		{"foreign origin delete", "DELETE", "/api/v1beta1/pods/web", "", "http://evil.example", "", 403},
		{"foreign origin read", "GET", "/api/v1beta1/pods", "", "http://evil.example", "", 403},
		{"foreign origin proxy", "GET", "/api/v1beta1/proxy/minions/m1/healthz", "", "http://evil.example", "", 403},

		{"json create", "POST", "/api/v1beta1/pods", "application/json", "", pod, 201},
		{"no content type, not a browser (kubectl create --raw)", "POST", "/api/v1beta1/pods", "", "", pod, 201},
		{"json with charset", "POST", "/api/v1beta1/pods", "application/json; charset=utf-8", "", pod, 201},
		{"own origin", "POST", "/api/v1beta1/pods", "application/json", "http://127.0.0.1:8080", pod, 201},
		{"delete without a body or type", "DELETE", "/api/v1beta1/pods/web", "", "", "", 200},
		{"merge patch type reaches the handler", "PATCH", "/api/v1beta1/pods/web", "application/merge-patch+json", "", `{}`, 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seeded(t)
			rt := &recordingTransport{}
			h := newServer(t, s, apiserver.Config{Transport: rt}).Handler()
			var rd io.Reader
			if tc.body != "" {
				rd = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(tc.method, tc.path, rd)
			req.Host = "127.0.0.1:8080"
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.name == "cross-site write without an Origin" {
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("%s %s: code %d, want %d: %s", tc.method, tc.path, rec.Code, tc.code, rec.Body)
			}
			if tc.code == 415 || tc.code == 403 {
				if rt.hits.Load() != 0 {
					t.Errorf("the proxy forwarded a refused request")
				}
				pods, _, err := s.List(context.Background(), api.Pods, store.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(pods) != 2 {
					t.Errorf("%d pods after a refused request, want the 2 seeded", len(pods))
				}
				if !strings.Contains(rec.Body.String(), `"kind":"Status"`) {
					t.Errorf("not a Status: %s", rec.Body)
				}
			}
		})
	}
}

// tlsFixture is a CA and a serving certificate for 127.0.0.1, localhost
// and master1.test.
func tlsFixture(t *testing.T) (*pki.CA, *tls.Config) {
	t.Helper()
	ca, err := pki.NewCA("test-ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.Issue("kubelite-apiserver", nil, []string{"127.0.0.1", "localhost", "master1.test"}, pki.ServerAuth, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := kp.TLS()
	if err != nil {
		t.Fatal(err)
	}
	return ca, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// DNS rebinding: a Host the API's certificate does not cover is refused
// (every request with TLS; with --insecure, a browser's).
func TestHostileHostHeader(t *testing.T) {
	_, tc := tlsFixture(t)
	secure := newServer(t, seeded(t), apiserver.Config{TLS: tc}).Handler()
	insecure := newServer(t, seeded(t), apiserver.Config{}).Handler()
	cases := []struct {
		name    string
		h       http.Handler
		host    string
		browser bool
		code    int
	}{
		{"rebound name", secure, "evil.example:8080", false, 421},
		{"rebound name without port", secure, "evil.example", false, 421},
		{"suffix of a real name", secure, "master1.test.evil.example:8080", false, 421},
		{"rebound name, browser, insecure", insecure, "evil.example:8080", true, 421},
		{"certificate name", secure, "master1.test:8080", false, 200},
		{"certificate name, any case, trailing dot", secure, "MASTER1.test.:8080", false, 200},
		{"localhost", secure, "localhost:8080", false, 200},
		{"loopback address", secure, "127.0.0.1:8080", false, 200},
		{"any address", secure, "192.168.1.200:8080", false, 200},
		{"IPv6 address", secure, "[fd00::2]:8080", false, 200},
		{"insecure, not a browser: any name (2014 behaviour)", insecure, "kube-master:8080", false, 200},
		{"insecure, browser, address", insecure, "192.168.1.200:8080", true, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1beta1/pods", nil)
			req.Host = c.host
			if c.browser {
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				req.Header.Set("Sec-Fetch-Mode", "cors")
			}
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			if rec.Code != c.code {
				t.Fatalf("Host %s: %d, want %d: %s", c.host, rec.Code, c.code, rec.Body)
			}
			if c.code == 421 && !strings.Contains(rec.Body.String(), "--tls-san") {
				t.Errorf("message does not name the API's names: %s", rec.Body)
			}
		})
	}
	// Health probes answer whatever the name.
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Host = "lb.example"
	rec := httptest.NewRecorder()
	secure.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("/healthz by another name: %d", rec.Code)
	}
}

// The real kubectl (every version on the machine) still reads and writes
// through a TLS API with these checks: it sends Host = the server's
// host:port, no Origin, and JSON.
func TestHostileGateRealKubectl(t *testing.T) {
	t.Parallel()
	bins := testutil.RealKubectls(t).All()
	ca, tc := tlsFixture(t)
	st := memory.New()
	srv := newServer(t, st, apiserver.Config{Address: "127.0.0.1", Port: 0, TLS: tc})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func() { close(ready) }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	<-ready
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kubeconfig")
	if err := kubeconfig.WriteFile(cfgPath, kubeconfig.New("t", "https://"+srv.Addr(), ca.CertPEM, "unused-token")); err != nil {
		t.Fatal(err)
	}
	// The versions side by side (each its own pod), all done before the
	// server stops.
	t.Run("versions", func(t *testing.T) {
		for i, bin := range bins {
			t.Run(filepath.Base(bin), func(t *testing.T) {
				t.Parallel()
				run := func(args ...string) string {
					cmd := exec.Command(bin, append([]string{"--kubeconfig", cfgPath}, args...)...)
					cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=")
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
					}
					return string(out)
				}
				id := fmt.Sprintf("k%d", i)
				f := filepath.Join(t.TempDir(), "pod.json")
				body := `{"kind":"Pod","apiVersion":"v1beta1","id":"` + id + `","desiredState":{"manifest":{"version":"v1beta1","id":"` + id + `","containers":[{"name":"c","image":"i"}]}}}`
				if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				if out := run("create", "--raw", "/api/v1beta1/pods", "-f", f); !strings.Contains(out, `"id":"`+id+`"`) {
					t.Errorf("create --raw: %s", out)
				}
				if out := run("get", "--raw", "/api/v1beta1/pods/"+id); !strings.Contains(out, `"id":"`+id+`"`) {
					t.Errorf("get --raw: %s", out)
				}
				run("delete", "--raw", "/api/v1beta1/pods/"+id)
				if _, err := st.Get(context.Background(), api.Pods, "default", id); !api.IsNotFound(err) {
					t.Errorf("after delete --raw: %v", err)
				}
			})
		}
	})
	// And the same server refuses a rebound name over the wire.
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "master1.test"}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+srv.Addr()+"/api/v1beta1/pods", nil)
	req.Host = "evil.example"
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebound Host over TLS: %d", resp.StatusCode)
	}
}
