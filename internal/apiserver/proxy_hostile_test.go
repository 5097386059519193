package apiserver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store/memory"
)

// Issue 17 item 1: the API's proxy, redirect and /validate reach only
// minions' kubelets and running pods, never loopback, link-local or the
// master's own ports, whoever wrote the objects that name them.

// makeLive turns seeded's svc into what the endpoints controller derives:
// pod web runs on m1 (Ready) with IP 10.1.0.5 and port 8080, and svc's
// endpoints object says 10.1.0.5:8080.
func makeLive(t testing.TB, s *memory.Store) {
	t.Helper()
	ctx := context.Background()
	obj, err := s.Get(ctx, api.Pods, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	p := obj.(*api.Pod)
	p.DesiredState.Host = "m1"
	p.DesiredState.Manifest.Containers[0].Ports = []api.Port{{ContainerPort: 8080}}
	p.CurrentState.Status, p.CurrentState.Phase, p.CurrentState.PodIP, p.CurrentState.Host = api.PodRunning, api.PodPhaseRunning, "10.1.0.5", "m1"
	if _, err := s.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	mo, err := s.Get(ctx, api.Minions, "", "m1")
	if err != nil {
		t.Fatal(err)
	}
	m := mo.(*api.Minion)
	m.Status.Condition = api.MinionReady
	if _, err := s.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// setEndpoints writes svc's endpoints object by hand, as an attacker with
// write access (or an admin) could.
func setEndpoints(t testing.TB, s *memory.Store, eps ...string) {
	t.Helper()
	obj, err := s.Get(context.Background(), api.EndpointsResource, "default", "svc")
	if err != nil {
		t.Fatal(err)
	}
	e := obj.(*api.Endpoints)
	e.Endpoints = eps
	if _, err := s.Update(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

// recordingTransport answers like fakeTransport and counts what reached it.
type recordingTransport struct {
	fakeTransport
	hits    atomic.Int32
	lastHdr atomic.Pointer[http.Header]
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.hits.Add(1)
	h := req.Header.Clone()
	r.lastHdr.Store(&h)
	return r.fakeTransport.RoundTrip(req)
}

// thisHostIP is a non-loopback address of this machine (the master's own).
func thisHostIP(t *testing.T) string {
	t.Helper()
	as, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		p, err := netip.ParsePrefix(a.String())
		if err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
			return p.Addr().String()
		}
	}
	t.Fatal("this host has no non-loopback IPv4 address")
	return ""
}

func TestHostileProxyTargets(t *testing.T) {
	self := thisHostIP(t)
	minion := func(host string, port int) func(*testing.T, *memory.Store) {
		return func(t *testing.T, s *memory.Store) {
			mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "evil"}, HostIP: host, KubeletPort: port})
		}
	}
	endpoints := func(eps ...string) func(*testing.T, *memory.Store) {
		return func(t *testing.T, s *memory.Store) { setEndpoints(t, s, eps...) }
	}
	cases := []struct {
		name  string
		setup func(*testing.T, *memory.Store)
		paths []string // each must be refused without reaching the transport
		code  int
	}{
		{"minion on etcd's loopback port", minion("127.0.0.1", 4001), []string{
			"/api/v1beta1/proxy/minions/evil/v3/kv/deleterange", "/api/v1beta1/redirect/minions/evil"}, 403},
		{"minion on loopback, another port", minion("127.0.0.1", 10251), []string{"/api/v1beta1/proxy/minions/evil/"}, 403},
		{"minion on the API's loopback port", minion("127.0.0.1", 8080), []string{"/api/v1beta1/proxy/minions/evil/api/v1beta1/pods"}, 403},
		{"minion on IPv6 loopback", minion("::1", 2379), []string{"/api/v1beta1/proxy/minions/evil/v3/kv/range"}, 403},
		{"minion on a v4-mapped loopback", minion("::ffff:127.0.0.1", 10251), []string{"/api/v1beta1/proxy/minions/evil/healthz"}, 403},
		{"minion on 0.0.0.0", minion("0.0.0.0", 10250), []string{"/api/v1beta1/proxy/minions/evil/healthz"}, 403},
		{"minion on the cloud metadata address", minion("169.254.169.254", 80), []string{
			"/api/v1beta1/proxy/minions/evil/latest/meta-data/", "/api/v1beta1/redirect/minions/evil"}, 403},
		{"minion on IPv6 link-local", minion("fe80::1", 10250), []string{"/api/v1beta1/proxy/minions/evil/healthz"}, 403},
		{"minion on the master's own API port", minion(self, 8080), []string{"/api/v1beta1/proxy/minions/evil/api/v1beta1/pods"}, 403},
		{"minion on the master's own etcd port", minion(self, 2379), []string{"/api/v1beta1/proxy/minions/evil/v3/kv/range"}, 403},
		{"minion on the master's ssh port", minion(self, 22), []string{"/api/v1beta1/proxy/minions/evil/"}, 403},
		{"minion on another host's etcd port", minion("10.0.0.9", 4001), []string{"/api/v1beta1/proxy/minions/evil/v2/keys/"}, 403},
		{"minion named localhost", func(t *testing.T, s *memory.Store) {
			mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "localhost"}, KubeletPort: 6443})
		}, []string{"/api/v1beta1/proxy/minions/localhost/healthz"}, 403},
		{"hand-written endpoints on etcd", endpoints("127.0.0.1:4001"), []string{
			"/api/v1beta1/proxy/services/svc/v3/kv/deleterange", "/api/v1beta1/redirect/services/svc"}, 503},
		{"endpoints on another pod-less address", endpoints("10.9.9.9:80"), []string{"/api/v1beta1/proxy/services/svc/"}, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seeded(t)
			makeLive(t, s)
			tc.setup(t, s)
			rt := &recordingTransport{}
			h := newServer(t, s, apiserver.Config{Port: 8080, Transport: rt}).Handler()
			for _, p := range tc.paths {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					if strings.Contains(p, "/redirect/") && method == http.MethodPost {
						continue
					}
					rec := do(h, method, p, "{}")
					if rec.Code != tc.code {
						t.Errorf("%s %s: code %d, want %d: %s", method, p, rec.Code, tc.code, rec.Body)
					}
					if loc := rec.Header().Get("Location"); loc != "" {
						t.Errorf("%s %s: redirected to %s", method, p, loc)
					}
				}
			}
			if n := rt.hits.Load(); n != 0 {
				t.Errorf("%d requests reached the transport", n)
			}
		})
	}
}

// The legitimate targets still work: a minion's kubelet (also this host's
// own kubelet port, a standalone node), a live endpoint.
func TestHostileProxyTargetsLegitimate(t *testing.T) {
	self := thisHostIP(t)
	s := seeded(t)
	makeLive(t, s)
	mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "me"}, HostIP: self})
	mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "standalone"}, HostIP: "127.0.0.1"})
	rt := &recordingTransport{}
	h := newServer(t, s, apiserver.Config{Port: 8080, Transport: rt}).Handler()
	for path, want := range map[string]string{
		"/api/v1beta1/proxy/minions/m1/healthz":      "10.0.0.1:10250/healthz",
		"/api/v1beta1/proxy/minions/me/healthz":      net.JoinHostPort(self, "10250") + "/healthz",
		"/api/v1beta1/proxy/minions/standalone/x":    "127.0.0.1:10250/x",
		"/api/v1beta1/proxy/services/svc/index.html": "10.1.0.5:8080/index.html",
	} {
		rec := do(h, http.MethodGet, path, "")
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("GET %s: %d %s, want 200 %s", path, rec.Code, rec.Body, want)
		}
	}
	rec := do(h, http.MethodGet, "/api/v1beta1/redirect/services/svc", "")
	if rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != "http://10.1.0.5:8080/" {
		t.Errorf("redirect: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// A forged endpoint beside the live one is never picked.
	setEndpoints(t, s, "10.1.0.5:8080", "127.0.0.1:4001")
	for i := 0; i < 50; i++ {
		rec := do(h, http.MethodGet, "/api/v1beta1/proxy/services/svc/", "")
		if rec.Code != 200 || rec.Body.String() != "10.1.0.5:8080/" {
			t.Fatalf("try %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

// The caller's credentials and cookies never reach the target.
func TestHostileProxyStripsCredentials(t *testing.T) {
	s := seeded(t)
	rt := &recordingTransport{}
	h := newServer(t, s, apiserver.Config{Transport: rt}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/v1beta1/proxy/minions/m1/healthz", nil)
	req.Header.Set("Authorization", "Bearer admin-secret")
	req.Header.Set("Cookie", "session=x")
	req.Header.Set("Proxy-Authorization", "Basic eDp5")
	req.Header.Set("X-Keep", "1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	got := *rt.lastHdr.Load()
	for _, k := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
		if v := got.Get(k); v != "" {
			t.Errorf("%s forwarded: %q", k, v)
		}
	}
	if got.Get("X-Keep") != "1" {
		t.Errorf("other headers lost: %v", got)
	}
}

// /validate never GETs a refused address and never shows what a target
// answered.
func TestHostileValidate(t *testing.T) {
	var hits atomic.Int32
	secret := "etcd-secret-value"
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, secret)
	}))
	defer target.Close()
	host, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	s := seeded(t)
	mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "evil"}, HostIP: host, KubeletPort: p})
	// A real transport: the dial-time check is what stops it, not the fake.
	h := newServer(t, s, apiserver.Config{Transport: &http.Transport{}, CheckTimeout: time.Second}).Handler()
	rec := do(h, http.MethodGet, "/validate", "")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), secret) || hits.Load() != 0 {
		t.Errorf("validate reached %s (%d hits): %s", target.URL, hits.Load(), rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "loopback") {
		t.Errorf("validate does not say why: %s", rec.Body)
	}
}

// The dial-time check: a name that resolves to loopback (here: the
// minion's name, no hostIP) reaches nothing through a real transport, and
// neither does a proxy whose check at resolution is passed.
func TestHostileProxyDialGuard(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "reached")
	}))
	defer target.Close()
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	s := seeded(t)
	mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "localhost"}, KubeletPort: p})
	srv := newServer(t, s, apiserver.Config{Transport: &http.Transport{}})
	h := srv.Handler()
	for _, path := range []string{"/api/v1beta1/proxy/minions/localhost/x", "/api/v1beta1/redirect/minions/localhost"} {
		rec := do(h, http.MethodGet, path, "")
		if rec.Code != http.StatusForbidden {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("target reached %d times", hits.Load())
	}
	// Past the resolution check, the dialer itself refuses: the transport
	// the server built, fed a loopback URL directly.
	rt := srv.TransportForTest()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", p), nil)
	if resp, err := rt.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatalf("guarded transport reached loopback: %d", resp.StatusCode)
	} else if !strings.Contains(err.Error(), "loopback") {
		t.Errorf("error %v does not say loopback", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("target reached %d times", hits.Load())
	}
}
