package proxy

// Integration tests: real iptables and real traffic, inside the network
// namespace TestMain puts the whole test binary in (testutil.RunInNetns:
// lo up with backend addresses 10.99.1.1-9, the portal range 10.254.0.0/16
// routed into a sink veth whose source address is 10.99.0.1).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/netfilter"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunInNetns(testutil.NoLeaks(m), testutil.DefaultNetns)) }

var bothModes = []Mode{ModeIptables, ModeUserspace}

// backend is a small HTTP server on its own address that counts new connections.
type backend struct {
	name, addr string
	conns      atomic.Int64
	reqs       atomic.Int64
}

func startBackends(t testing.TB, n, port int) []*backend {
	t.Helper()
	var out []*backend
	for i := 1; i <= n; i++ {
		b := &backend{name: fmt.Sprintf("backend-%d", i), addr: fmt.Sprintf("10.99.1.%d:%d", i, port)}
		ln, err := net.Listen("tcp", b.addr)
		if err != nil {
			t.Fatalf("listen %s: %v", b.addr, err)
		}
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b.reqs.Add(1)
				if r.URL.Path == "/big" {
					w.Header().Set("Content-Length", fmt.Sprint(len(bigBody)))
					_, _ = w.Write(bigBody)
					return
				}
				io.WriteString(w, b.name)
			}),
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					b.conns.Add(1)
				}
			},
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		out = append(out, b)
	}
	return out
}

var bigBody = make([]byte, 1<<20)

func addrs(bs []*backend) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.addr)
	}
	return out
}

// env is one proxy under test with its store and real iptables.
type env struct {
	t    testing.TB
	mode Mode
	st   *memory.Store
	nf   *netfilter.Runner

	mu      sync.Mutex
	results []SyncResult
	cond    *sync.Cond

	cancel context.CancelFunc
	done   chan error
}

func newEnv(t testing.TB, mode Mode) *env {
	t.Helper()
	testutil.RequireNetns(t)
	nf, err := netfilter.New()
	if err != nil {
		t.Fatalf("netfilter: %v", err)
	}
	e := &env{t: t, mode: mode, st: memory.New(), nf: nf}
	e.cond = sync.NewCond(&e.mu)
	t.Cleanup(func() {
		e.stop()
		if err := Cleanup(nf); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		ex, err := readExisting(nf)
		if err != nil || len(ex[netfilter.TableNAT])+len(ex[netfilter.TableFilter]) > 0 {
			t.Errorf("after cleanup: chains %v, err %v", ex, err)
		}
	})
	return e
}

// start runs a proxy until stop; it returns once the proxy has started.
func (e *env) start(mut func(*Config)) {
	e.t.Helper()
	cfg := Config{Store: e.st, Mode: e.mode, Netfilter: e.nf, OnSync: e.record}
	if mut != nil {
		mut(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		e.t.Fatalf("new proxy: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- p.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-e.done:
		e.t.Fatalf("proxy ended before starting: %v", err)
	case <-time.After(10 * time.Second):
		e.t.Fatalf("proxy did not start within 10s")
	}
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("proxy run: %v", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Errorf("proxy did not stop within 10s")
	}
	e.cancel = nil
}

func (e *env) record(r SyncResult) {
	e.mu.Lock()
	e.results = append(e.results, r)
	e.mu.Unlock()
	e.cond.Broadcast()
	if r.Err != nil {
		e.t.Logf("sync error: %v", r.Err)
	}
}

// syncs returns how many syncs the proxy has made.
func (e *env) syncs() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.results)
}

// waitSyncs waits until the proxy has made more than n syncs.
func (e *env) waitSyncs(n int, within time.Duration) {
	e.t.Helper()
	testutil.Eventually(e.t, within, func() bool { return e.syncs() > n }, "sync %d", n+1)
}

// waitApplied waits until a successful sync saw resourceVersion rv.
func (e *env) waitApplied(rv uint64, within time.Duration) time.Duration {
	e.t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	timer := time.AfterFunc(within, e.cond.Broadcast)
	defer timer.Stop()
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		for _, r := range e.results {
			if r.Err == nil && r.ResourceVersion >= rv {
				return time.Since(start)
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no successful sync of resourceVersion %d within %s", rv, within)
		}
		e.cond.Wait()
	}
}

func (e *env) putService(s *api.Service) uint64 {
	e.t.Helper()
	if s.Namespace == "" {
		s.Namespace = api.DefaultNamespace
	}
	ctx := context.Background()
	obj, err := e.st.Create(ctx, s)
	if api.IsAlreadyExists(err) {
		s.ResourceVersion = 0
		obj, err = e.st.Update(ctx, s)
	}
	if err != nil {
		e.t.Fatalf("store service: %v", err)
	}
	return obj.Meta().ResourceVersion
}

func (e *env) putEndpoints(id string, eps ...string) uint64 {
	e.t.Helper()
	ep := &api.Endpoints{TypeMeta: api.TypeMeta{ID: id, Namespace: api.DefaultNamespace}, Endpoints: eps}
	ctx := context.Background()
	obj, err := e.st.Create(ctx, ep)
	if api.IsAlreadyExists(err) {
		obj, err = e.st.Update(ctx, ep)
	}
	if err != nil {
		e.t.Fatalf("store endpoints: %v", err)
	}
	return obj.Meta().ResourceVersion
}

// client makes one new connection per request, from src if given.
func client(src string, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
	}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func webService(portal string, affinity string) *api.Service {
	return &api.Service{TypeMeta: api.TypeMeta{ID: "web"}, Port: 80, PortalIP: portal, SessionAffinity: affinity}
}

// TestPortalSpreadsAndFollowsEndpoints: 300 requests reach all three
// backends (each 20%-46%); a removed backend gets no new connection once
// the change is applied, which must take under 1 s.
func TestPortalSpreadsAndFollowsEndpoints(t *testing.T) {
	for _, mode := range bothModes {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, mode)
			bs := startBackends(t, 3, 8080)
			e.putService(webService("10.254.0.10", ""))
			e.start(nil)
			rv := e.putEndpoints("web", addrs(bs)...)
			e.waitApplied(rv, 5*time.Second)

			c := client("", 2*time.Second)
			counts := map[string]int{}
			for i := 0; i < 300; i++ {
				body, err := get(c, "http://10.254.0.10/")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				counts[body]++
			}
			t.Logf("spread over 300 requests: %v", counts)
			for _, b := range bs {
				if n := counts[b.name]; n < 60 || n > 138 {
					t.Errorf("%s got %d of 300 requests, want 60..138 (20%%-46%%)", b.name, n)
				}
			}

			removedAt := time.Now()
			rv = e.putEndpoints("web", bs[0].addr, bs[1].addr)
			took := e.waitApplied(rv, time.Second)
			t.Logf("endpoint removal applied %s after the store update", took)
			if since := time.Since(removedAt); since > time.Second {
				t.Errorf("removal took %s to apply, want < 1s", since)
			}
			before := bs[2].conns.Load()
			for i := 0; i < 100; i++ {
				if body, err := get(c, "http://10.254.0.10/"); err != nil {
					t.Fatalf("request after removal: %v", err)
				} else if body == bs[2].name {
					t.Fatalf("removed backend answered request %d", i)
				}
			}
			if n := bs[2].conns.Load() - before; n != 0 {
				t.Errorf("removed backend got %d new connections", n)
			}
		})
	}
}

// TestFlushHeals: flushing the mode's portal chain breaks the portal until
// the next periodic sync, which must come within 10 s (default period).
func TestFlushHeals(t *testing.T) {
	for _, mode := range bothModes {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, mode)
			bs := startBackends(t, 2, 8081)
			e.putService(webService("10.254.0.11", ""))
			e.putEndpoints("web", addrs(bs)...)
			e.start(nil)
			c := client("", 500*time.Millisecond)
			if _, err := get(c, "http://10.254.0.11/"); err != nil {
				t.Fatalf("portal before flush: %v", err)
			}
			chain := chainServices
			if mode == ModeUserspace {
				chain = chainUserspace
			}
			if err := e.nf.Restore([]byte("*nat\n-F " + string(chain) + "\nCOMMIT\n")); err != nil {
				t.Fatalf("flush %s: %v", chain, err)
			}
			flushed := time.Now()
			if _, err := get(c, "http://10.254.0.11/"); err == nil {
				t.Fatalf("portal still answered right after flushing %s", chain)
			}
			testutil.Eventually(t, 10*time.Second, func() error {
				_, err := get(c, "http://10.254.0.11/")
				return err
			}, "portal healed after flushing %s", chain)
			t.Logf("healed %s after flushing %s (sync period %s)", time.Since(flushed).Round(time.Millisecond), chain, DefaultSyncPeriod)
		})
	}
}

// TestRestartKeepsServing: a load loop runs while the proxy is stopped and
// started again. In iptables mode not one request may fail; in userspace
// mode the portal must answer again once the new proxy started.
func TestRestartKeepsServing(t *testing.T) {
	for _, mode := range bothModes {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, mode)
			bs := startBackends(t, 2, 8082)
			e.putService(webService("10.254.0.12", ""))
			e.putEndpoints("web", addrs(bs)...)
			e.start(nil)

			var ok, failed atomic.Int64
			var firstErr atomic.Value
			stop := make(chan struct{})
			loopDone := make(chan struct{})
			go func() {
				defer close(loopDone)
				c := client("", time.Second)
				for i := 0; i < 20000; i++ { // bounded
					select {
					case <-stop:
						return
					default:
					}
					if _, err := get(c, "http://10.254.0.12/"); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					} else {
						ok.Add(1)
					}
				}
			}()
			waitCount := func(n int64) {
				testutil.Eventually(t, 10*time.Second, func() bool { return ok.Load() >= n }, "%d answers", n)
			}
			waitCount(50)
			portBefore := proxyPorts(t, e.nf)
			e.stop()
			time.Sleep(200 * time.Millisecond) // real time tested: the proxy is down for a while, the client's requests meanwhile fail or wait
			e.start(nil)
			after := ok.Load()
			waitCount(after + 50)
			close(stop)
			<-loopDone
			t.Logf("%s restart: %d requests ok, %d failed (first error: %v)", mode, ok.Load(), failed.Load(), firstErr.Load())
			if ok.Load() < after+50 {
				t.Fatalf("portal did not serve after restart")
			}
			if mode == ModeUserspace {
				if after := proxyPorts(t, e.nf); after != portBefore {
					t.Errorf("proxy port changed across the restart: %q -> %q", portBefore, after)
				}
			}
			if mode == ModeIptables && failed.Load() > 0 {
				t.Errorf("iptables mode: %d requests failed during restart, want 0", failed.Load())
			}
		})
	}
}

// TestSessionAffinity: each client address sticks to one backend across
// many connections and several resyncs.
func TestSessionAffinity(t *testing.T) {
	for _, mode := range bothModes {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, mode)
			bs := startBackends(t, 3, 8083)
			e.putService(webService("10.254.0.13", api.AffinityClientIP))
			e.putEndpoints("web", addrs(bs)...)
			e.start(func(c *Config) { c.SyncPeriod = 100 * time.Millisecond })
			seen := map[string]bool{}
			for _, src := range []string{"10.99.1.5", "10.99.1.6", "10.99.1.7", "10.99.1.8", "10.99.1.9"} {
				c := client(src, 2*time.Second)
				first := ""
				for i := 0; i < 30; i++ {
					body, err := get(c, "http://10.254.0.13/")
					if err != nil {
						t.Fatalf("client %s request %d: %v", src, i, err)
					}
					if first == "" {
						first = body
					} else if body != first {
						t.Fatalf("client %s moved from %s to %s at request %d", src, first, body, i)
					}
					if i%10 == 9 {
						e.waitSyncs(e.syncs(), 10*time.Second) // a resync in between
					}
				}
				seen[first] = true
			}
			t.Logf("5 clients stuck to %d distinct backends", len(seen))
		})
	}
}

// TestNoEndpointsRejects: a service without endpoints refuses at once.
func TestNoEndpointsRejects(t *testing.T) {
	for _, mode := range bothModes {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, mode)
			e.putService(webService("10.254.0.14", ""))
			e.start(nil)
			start := time.Now()
			conn, err := net.DialTimeout("tcp", "10.254.0.14:80", 2*time.Second)
			took := time.Since(start)
			if err == nil {
				conn.Close()
				t.Fatalf("connection to a service without endpoints succeeded")
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial error = %v, want connection refused", err)
			}
			if took > 500*time.Millisecond {
				t.Errorf("refusal took %s, want at once", took)
			}
			t.Logf("refused after %s", took)
		})
	}
}

// TestUDP: a UDP service answers through its portal.
func TestUDP(t *testing.T) {
	for _, mode := range bothModes {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, mode)
			pc, err := net.ListenPacket("udp", "10.99.1.4:5353")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pc.Close() })
			go func() {
				buf := make([]byte, 1500)
				for {
					n, a, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), a)
				}
			}()
			e.putService(&api.Service{TypeMeta: api.TypeMeta{ID: "dns"}, Port: 53, Protocol: "UDP", PortalIP: "10.254.0.53"})
			e.putEndpoints("dns", "10.99.1.4:5353")
			e.start(nil)
			conn, err := net.Dial("udp", "10.254.0.53:53")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			buf := make([]byte, 100)
			for i := 0; i < 3; i++ {
				_ = conn.SetDeadline(time.Now().Add(time.Second))
				if _, err := conn.Write([]byte(fmt.Sprint("ping", i))); err != nil {
					t.Fatal(err)
				}
				n, err := conn.Read(buf)
				if err != nil {
					t.Fatalf("read reply %d: %v", i, err)
				}
				if got, want := string(buf[:n]), fmt.Sprint("echo:ping", i); got != want {
					t.Fatalf("reply %q, want %q", got, want)
				}
			}
		})
	}
}

// TestGoldenOnRealIptables: every golden case's rules are accepted by the
// real iptables-restore, converge, and Cleanup leaves only what was not
// kubelite's.
func TestGoldenOnRealIptables(t *testing.T) {
	testutil.RequireNetns(t)
	nf, err := netfilter.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, gc := range loadGoldenCases(t) {
		t.Run(gc.name, func(t *testing.T) {
			t.Cleanup(func() {
				_ = Cleanup(nf)
				_ = nf.Restore([]byte("*nat\n-F PREROUTING\n-F OUTPUT\n-F POSTROUTING\nCOMMIT\n*filter\n-F INPUT\n-F FORWARD\n-F OUTPUT\nCOMMIT\n"))
				_ = nf.Restore([]byte("*nat\n:DOCKER - [0:0]\n-X DOCKER\nCOMMIT\n"))
			})
			if len(gc.Existing) > 0 {
				if err := nf.Restore([]byte(strings.Join(gc.Existing, "\n") + "\n")); err != nil {
					t.Fatalf("load existing rules: %v", err)
				}
			}
			p, err := New(Config{Mode: gc.Mode, HostIP: gc.HostIP, Netfilter: nf, Store: nopStore{}})
			if err != nil {
				t.Fatal(err)
			}
			p.listen = gc.listen
			for i := 0; i < 2; i++ {
				if _, _, err := p.syncObjects(gc.Services, gc.Endpoints, i == 0); err != nil {
					t.Fatalf("sync %d on real iptables: %v", i+1, err)
				}
			}
			if err := Cleanup(nf); err != nil {
				t.Fatalf("cleanup: %v", err)
			}
			for _, table := range []netfilter.Table{netfilter.TableNAT, netfilter.TableFilter} {
				save, err := nf.Save(table)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range netfilter.Chains(save, table) {
					if ownChain(c) {
						t.Errorf("cleanup left chain %s/%s", table, c)
					}
				}
				if s := string(save); strings.Contains(s, "KUBELITE") || strings.Contains(s, "KUBE-PROXY") {
					t.Errorf("cleanup left a reference in %s:\n%s", table, s)
				}
				if strings.Contains(strings.Join(gc.Existing, "\n"), ":DOCKER") && table == netfilter.TableNAT &&
					!strings.Contains(string(save), "-A DOCKER -i docker0 -j RETURN") {
					t.Errorf("cleanup touched the DOCKER chain:\n%s", save)
				}
			}
		})
	}
}

// TestUserspaceTriesNextEndpoint: a dead endpoint costs no failed request,
// and the tutorial's check works: the rule is in KUBE-PROXY and the proxy
// port answers on the minion's own address.
func TestUserspaceTriesNextEndpoint(t *testing.T) {
	e := newEnv(t, ModeUserspace)
	bs := startBackends(t, 2, 8084)
	e.putService(webService("10.254.0.15", ""))
	e.putEndpoints("web", "10.99.1.8:8084", bs[0].addr, bs[1].addr) // nothing listens on 10.99.1.8
	e.start(nil)
	c := client("", 3*time.Second)
	for i := 0; i < 60; i++ {
		if _, err := get(c, "http://10.254.0.15/"); err != nil {
			t.Fatalf("request %d with a dead endpoint: %v", i, err)
		}
	}
	save, err := e.nf.Save(netfilter.TableNAT)
	if err != nil {
		t.Fatal(err)
	}
	rules := netfilter.Rules(save, netfilter.TableNAT, chainUserspace)
	if len(rules) != 1 {
		t.Fatalf("KUBE-PROXY rules = %q, want one", rules)
	}
	w, _ := netfilter.Split(rules[0])
	port := ""
	for i := range w {
		if w[i] == "--to-ports" && i+1 < len(w) {
			port = w[i+1]
		}
	}
	for _, want := range []string{"default/web", "10.254.0.15/32", "REDIRECT", "--dport"} {
		if !strings.Contains(rules[0], want) {
			t.Errorf("KUBE-PROXY rule %q lacks %q", rules[0], want)
		}
	}
	if port == "" {
		t.Fatalf("no --to-ports in %q", rules[0])
	}
	if body, err := get(c, "http://10.99.0.1:"+port+"/"); err != nil || !strings.HasPrefix(body, "backend-") {
		t.Fatalf("proxy port %s on the minion address: %q, %v", port, body, err)
	}
	t.Logf("tutorial rule: -A KUBE-PROXY %s", rules[0])
}

// TestPublicIPOnHostAddress: a service whose publicIPs hold the minion's own
// address (HostIP) answers there too; a public IP that is not the minion's
// gets no rule.
func TestPublicIPOnHostAddress(t *testing.T) {
	for _, mode := range bothModes {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, mode)
			bs := startBackends(t, 2, 8085)
			s := webService("10.254.0.16", "")
			s.Port = 8765
			s.PublicIPs = []string{"10.99.0.1", "192.0.2.1"}
			e.putService(s)
			e.putEndpoints("web", addrs(bs)...)
			e.start(func(c *Config) { c.HostIP = "10.99.0.1" })
			c := client("", 2*time.Second)
			for _, url := range []string{"http://10.99.0.1:8765/", "http://10.254.0.16:8765/"} {
				if body, err := get(c, url); err != nil || !strings.HasPrefix(body, "backend-") {
					t.Fatalf("GET %s: %q, %v", url, body, err)
				}
			}
			save, err := e.nf.Save(netfilter.TableNAT)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(save), "192.0.2.1") {
				t.Errorf("rule written for a public IP that is not the minion's:\n%s", save)
			}
		})
	}
}

// proxyPorts returns the --to-ports words of KUBE-PROXY, joined.
func proxyPorts(t *testing.T, nf netfilter.Interface) string {
	t.Helper()
	save, err := nf.Save(netfilter.TableNAT)
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, r := range netfilter.Rules(save, netfilter.TableNAT, chainUserspace) {
		w, _ := netfilter.Split(r)
		for i := range w {
			if w[i] == "--to-ports" && i+1 < len(w) {
				ports = append(ports, w[i+1])
			}
		}
	}
	return strings.Join(ports, ",")
}

// TestUserspaceDeletedServiceStopsAnswering: deleting a service closes its
// listener and removes its rule at once (an incremental sync).
func TestUserspaceDeletedServiceStopsAnswering(t *testing.T) {
	e := newEnv(t, ModeUserspace)
	bs := startBackends(t, 1, 8086)
	e.putService(webService("10.254.0.17", ""))
	e.putEndpoints("web", addrs(bs)...)
	e.start(func(c *Config) { c.SyncPeriod = time.Hour })
	port := proxyPorts(t, e.nf)
	c := client("", time.Second)
	if _, err := get(c, "http://10.99.0.1:"+port+"/"); err != nil {
		t.Fatalf("proxy port before delete: %v", err)
	}
	if _, err := e.st.Delete(context.Background(), api.Services, api.DefaultNamespace, "web"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		conn, err := net.Dial("tcp", "10.99.0.1:"+port)
		if err == nil {
			conn.Close()
			return fmt.Errorf("proxy port %s still open", port)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return err
		}
		if rules := proxyPorts(t, e.nf); rules != "" {
			return fmt.Errorf("rules still there: %s", rules)
		}
		return nil
	}, "proxy port and rule gone after the service was deleted")
}
