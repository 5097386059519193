package kubelet

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"kubelite/internal/auth"
	"kubelite/internal/httpserve"
	"kubelite/internal/pki"
	"kubelite/internal/store/memory"
)

// serveKubelet runs Server s on a real listener on 127.0.0.1 and returns
// its base URL (https when s.TLS is set).
func serveKubelet(t *testing.T, s Server) string {
	t.Helper()
	kl, err := New(Config{NodeName: "m1", HostIP: "127.0.0.1", Store: memory.New(), Runtime: fakeRT(), RootDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.K = kl
	s.Addr = freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func() { close(started) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	scheme := "http"
	if s.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + s.Addr
}

func issue(t *testing.T, ca *pki.CA, cn string, orgs, hosts []string, usage pki.Usage) tls.Certificate {
	t.Helper()
	kp, err := ca.Issue(cn, orgs, hosts, usage, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := kp.TLS()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServerSecure(t *testing.T) {
	ca, err := pki.NewCA("cluster", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.NewCA("elsewhere", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serving := issue(t, ca, "minion:m1", []string{"kubelite:minions"}, []string{"127.0.0.1", "m1"}, pki.ClientAuth|pki.ServerAuth)
	authn := auth.NewAuthenticator(map[string]auth.User{"admin-token": {Name: auth.Admin}, "other-token": {Name: "someone"}}, ca.Pool())
	base := serveKubelet(t, Server{TLS: httpserve.ServerTLS(serving, ca.Pool()), Authn: authn})

	masterCert := issue(t, ca, auth.MasterUser, nil, nil, pki.ClientAuth)
	minionCert := issue(t, ca, "minion:other", []string{"kubelite:minions"}, nil, pki.ClientAuth)
	foreignMaster := issue(t, otherCA, auth.MasterUser, nil, nil, pki.ClientAuth)

	for _, tc := range []struct {
		name, path, token string
		cert              *tls.Certificate
		force             bool   // send cert whatever CAs the server asks for
		code              int    // 0: the connection is refused
		body              string // substring of the answer
	}{
		{name: "healthz open (the same as readyz)", path: "/healthz", code: 503, body: "[-]pods-synced failed"},
		{name: "anonymous", path: "/stats/", code: 401, body: "anonymous requests are refused"},
		{name: "anonymous podInfo", path: "/podInfo?podID=x", code: 401},
		{name: "anonymous logs", path: "/containerLogs/default/p/c", code: 401},
		{name: "not quite healthz", path: "/healthz/../stats/", code: 401},
		{name: "livez open", path: "/livez", code: 200, body: "ok"},
		{name: "readyz open, not ready before the pod cache lists", path: "/readyz", code: 503, body: "[+]docker ok\n[-]pods-synced failed"},
		{name: "anonymous metrics", path: "/metrics", code: 401},
		{name: "another minion's metrics", path: "/metrics", cert: &minionCert, code: 403},
		{name: "master cert metrics", path: "/metrics", cert: &masterCert, code: 200, body: "# TYPE kubelet_running_pods gauge"},
		{name: "admin token metrics", path: "/metrics", token: "admin-token", code: 200, body: "go_goroutines"},
		{name: "master cert", path: "/stats/", cert: &masterCert, code: 200, body: "[]"},
		{name: "master cert podInfo", path: "/podInfo?podID=x", cert: &masterCert, code: 404},
		{name: "admin token", path: "/stats/", token: "admin-token", code: 200},
		{name: "another minion", path: "/stats/", cert: &minionCert, code: 403, body: `user "minion:other" may not use the kubelet API`},
		{name: "another user's token", path: "/stats/", token: "other-token", code: 403},
		{name: "wrong token", path: "/stats/", token: "guess", code: 401},
		// Go's client sends no certificate the server's CA list excludes: anonymous.
		{name: "cert of another CA", path: "/stats/", cert: &foreignMaster, code: 401},
		// Sent anyway, it fails the handshake.
		{name: "cert of another CA forced", path: "/stats/", cert: &foreignMaster, force: true, code: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
			if tc.cert != nil {
				cfg.Certificates = []tls.Certificate{*tc.cert}
			}
			if tc.force {
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return tc.cert, nil }
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
			defer c.CloseIdleConnections()
			r, err := http.NewRequest("GET", base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := c.Do(r)
			if tc.code == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("answered %d, want the TLS handshake refused", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, b, tc.code, tc.body)
			}
			if tc.code == 401 || tc.code == 403 {
				if msg := strings.TrimSuffix(string(b), "\n"); strings.Contains(msg, "\n") {
					t.Errorf("refusal is not one line: %q", b)
				}
			}
		})
	}

	// The kubelet serves the joined certificate: the master verifies it
	// against the cluster CA and the minion's name.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: ca.Pool(), ServerName: "m1", Certificates: []tls.Certificate{masterCert}})
	if err != nil {
		t.Fatalf("verify the kubelet as m1: %v", err)
	}
	conn.Close()
	// A client that trusts only another CA refuses the kubelet.
	if conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: otherCA.Pool()}); err == nil {
		conn.Close()
		t.Error("a client trusting another CA accepted the kubelet's certificate")
	}
}

// --insecure: plain HTTP, no authentication, as in 2014.
func TestServerInsecure(t *testing.T) {
	base := serveKubelet(t, Server{})
	for path, code := range map[string]int{"/livez": 200, "/metrics": 200, "/stats/": 200, "/podInfo": 400} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}

func TestServerTLSWithoutCertificate(t *testing.T) {
	kl, err := New(Config{NodeName: "m1", HostIP: "127.0.0.1", Store: memory.New(), Runtime: fakeRT(), RootDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	err = Server{K: kl, Addr: freeAddr(t), TLS: &tls.Config{}}.Run(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "no serving certificate") {
		t.Fatalf("err = %v", err)
	}
}

func TestMayUseKubelet(t *testing.T) {
	for _, tc := range []struct {
		u  auth.User
		ok bool
	}{
		{auth.User{Name: auth.MasterUser}, true},
		{auth.User{Name: auth.Admin}, true},
		{auth.User{Name: "alice", Groups: []string{auth.AdminsGroup}}, true},
		{auth.User{Name: "alice", Groups: []string{auth.MasterUser}}, false},
		{auth.MinionUser("m1"), false},
		{auth.User{Name: "minion:m2", Groups: []string{"kubelite:minions"}}, false},
		{auth.User{}, false},
	} {
		if got := mayUseKubelet(tc.u); got != tc.ok {
			t.Errorf("mayUseKubelet(%+v) = %v", tc.u, got)
		}
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
