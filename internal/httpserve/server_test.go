package httpserve

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/clock"
	"kubelite/internal/testutil"
)

func TestTLSVersions(t *testing.T) {
	ca := newTestCA(t)
	for _, allowPlain := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowPlain=%v", allowPlain), func(t *testing.T) {
			s := serve(t, Config{Handler: okHandler, TLS: ServerTLS(ca.issue(t, "server", true), nil), AllowPlain: allowPlain}, nil)
			for _, v := range []struct {
				name string
				ver  uint16
				ok   bool
			}{
				{"TLS 1.0", tls.VersionTLS10, false},
				{"TLS 1.1", tls.VersionTLS11, false},
				{"TLS 1.2", tls.VersionTLS12, true},
				{"TLS 1.3", tls.VersionTLS13, true},
			} {
				c := client(t, &tls.Config{RootCAs: ca.pool, MinVersion: v.ver, MaxVersion: v.ver})
				resp, err := c.Get("https://" + s.Addr() + "/")
				if !v.ok {
					if err == nil {
						resp.Body.Close()
						t.Errorf("%s: accepted", v.name)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", v.name, err)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != "ok tls" || resp.TLS.Version != v.ver || resp.Proto != "HTTP/1.1" {
					t.Errorf("%s: got %q version %x proto %s", v.name, b, resp.TLS.Version, resp.Proto)
				}
			}
			// Plain HTTP on the TLS port.
			resp, body := get(t, client(t, nil), "http://"+s.Addr()+"/")
			if allowPlain && (resp.StatusCode != 200 || body != "ok plain") {
				t.Errorf("plain with AllowPlain: %d %q", resp.StatusCode, body)
			}
			if !allowPlain && (resp.StatusCode != 400 || !strings.Contains(body, "HTTPS")) {
				t.Errorf("plain without AllowPlain: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestCallerTLSConfigIsHardened(t *testing.T) {
	ca := newTestCA(t)
	weak := &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "server", true)}, MinVersion: tls.VersionTLS10, NextProtos: []string{"h2", "http/1.1"}}
	s := serve(t, Config{Handler: okHandler, TLS: weak}, nil)
	if _, err := client(t, &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}).Get("https://" + s.Addr() + "/"); err == nil {
		t.Error("TLS 1.1 accepted with a caller's MinVersion of 1.0")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + s.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("proto %s, want HTTP/1.1", resp.Proto)
	}
	if weak.MinVersion != tls.VersionTLS10 {
		t.Error("the caller's config was modified")
	}
}

func TestClientCertificates(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
			return
		}
		_, _ = io.WriteString(w, "anonymous")
	})
	s := serve(t, Config{Handler: h, TLS: ServerTLS(ca.issue(t, "server", true), ca.pool)}, nil)
	url := "https://" + s.Addr() + "/"
	if _, body := get(t, client(t, &tls.Config{RootCAs: ca.pool}), url); body != "anonymous" {
		t.Errorf("no client certificate: %q", body)
	}
	good := ca.issue(t, "minion:a", false)
	if _, body := get(t, client(t, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{good}}), url); body != "minion:a" {
		t.Errorf("good client certificate: %q", body)
	}
	bad := other.issue(t, "minion:b", false)
	if resp, err := client(t, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{bad}}).Get(url); err == nil {
		resp.Body.Close()
		t.Error("certificate from another CA accepted")
	}
}

func TestPortInUse(t *testing.T) {
	s := serve(t, Config{Handler: okHandler}, nil)
	_, port, _ := net.SplitHostPort(s.Addr())
	_, err := Listen(Config{Handler: okHandler, Addr: s.Addr(), Log: quietLog()})
	if err == nil || !strings.Contains(err.Error(), "port "+port+" is already in use") {
		t.Fatalf("got %v, want an error naming port %s", err, port)
	}
}

// TestSlowClientsAreCut: a client that sends nothing, half a header, or a
// header dribbled byte by byte is cut after ReadHeaderTimeout, and a normal
// client is served meanwhile; on a plain port and on a TLS port that sniffs.
func TestSlowClientsAreCut(t *testing.T) {
	const rht = 300 * time.Millisecond
	ca := newTestCA(t)
	ports := map[string]Config{
		"plain":     {Handler: okHandler, ReadHeaderTimeout: rht},
		"tls+plain": {Handler: okHandler, ReadHeaderTimeout: rht, TLS: ServerTLS(ca.issue(t, "server", true), nil), AllowPlain: true},
	}
	attacks := map[string]func(net.Conn, <-chan struct{}){
		"silent": func(net.Conn, <-chan struct{}) {},
		"half header": func(c net.Conn, _ <-chan struct{}) {
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Half: ")
		},
		"dribble": func(c net.Conn, stop <-chan struct{}) {
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\n")
			tick := time.NewTicker(rht / 10)
			defer tick.Stop()
			for i := 0; i < 100; i++ { // bounded: 10 x the timeout
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := io.WriteString(c, "X"); err != nil {
					return
				}
			}
		},
		"half TLS handshake": func(c net.Conn, _ <-chan struct{}) {
			_, _ = c.Write([]byte{tlsRecordHandshake, 3, 1, 0, 200})
		},
	}
	for pname, cfg := range ports {
		for aname, attack := range attacks {
			if aname == "half TLS handshake" && cfg.TLS == nil {
				continue
			}
			t.Run(pname+"/"+aname, func(t *testing.T) {
				s := serve(t, cfg, nil)
				c, err := net.Dial("tcp", s.Addr())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				stop := make(chan struct{})
				attacked := make(chan struct{})
				go func() { defer close(attacked); attack(c, stop) }()
				defer func() { close(stop); <-attacked }()

				start := time.Now()
				n, err := net.Dial("tcp", s.Addr())
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				resp, _, err := rawRequest(n, "/")
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("normal client while attacked: %v %v", resp, err)
				}
				if el := time.Since(start); el >= rht {
					t.Errorf("normal client waited %v, as long as the attacker's timeout", el)
				}
				cut := expectCut(t, c, 10*rht)
				t.Logf("attacker cut after %v", cut.Round(time.Millisecond))
			})
		}
	}
}

// TestStalledBodyIsCut: a body that stops arriving, short or long, is cut
// after BodyTimeout (the connection is closed) and the handler never takes
// it for a whole body.
func TestStalledBodyIsCut(t *testing.T) {
	const bt = 300 * time.Millisecond
	for _, tt := range []struct {
		name    string
		length  int  // Content-Length announced
		sent    int  // bytes sent before stalling
		handler bool // the handler surely reads it (a short body may be refused before)
	}{
		{"short", 100, 3, false},
		{"long", 1 << 20, 64 << 10, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan error, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				got <- err
			})
			s := serve(t, Config{Handler: h, BodyTimeout: bt}, nil)
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", tt.length, strings.Repeat("a", tt.sent))
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			// A normal client is served meanwhile.
			if resp, err := client(t, nil).Post("http://"+s.Addr()+"/", "application/json", strings.NewReader("{}")); err != nil || resp.StatusCode != 200 {
				t.Fatalf("normal client while a body stalls: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			if err := <-got; err != nil {
				t.Fatalf("normal client's body: %v", err)
			}
			expectCut(t, c, 10*bt)
			el := time.Since(start)
			if el < bt*9/10 {
				t.Errorf("cut after %v, before the %v body timeout", el, bt)
			}
			t.Logf("stalled body cut after %v", el.Round(time.Millisecond))
			var wait <-chan time.Time // nil: do not wait
			if tt.handler {
				wait = time.After(10 * time.Second)
			}
			select {
			case <-wait:
				t.Fatal("the handler's read of the stalled body did not fail")
			case err := <-got:
				if err == nil {
					t.Fatal("the handler read a stalled body as whole")
				}
				if !strings.Contains(err.Error(), "request body not received within") {
					t.Errorf("handler's read error does not say why: %v", err)
				}
			default:
				if tt.handler {
					select {
					case <-wait:
						t.Fatal("the handler's read of the stalled body did not fail")
					case err := <-got:
						if err == nil || !strings.Contains(err.Error(), "request body not received within") {
							t.Errorf("handler's read: %v", err)
						}
					}
				}
			}
		})
	}
}

// TestBodyDeadlineLifted: once the body is in, a handler that works longer
// than BodyTimeout keeps its context (the deadline would otherwise cancel
// it through the connection's background read).
func TestBodyDeadlineLifted(t *testing.T) {
	const bt = 200 * time.Millisecond
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", 500)
		case <-time.After(3 * bt): // the handler's own work, on the server side
			_, _ = w.Write(b)
		}
	})
	s := serve(t, Config{Handler: h, BodyTimeout: bt}, nil)
	resp, err := client(t, nil).Post("http://"+s.Addr()+"/", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"a":1}` {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
}

// blocker is a handler whose requests wait until released, announcing
// themselves on entered.
type blocker struct {
	entered chan string
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan string, 100), release: make(chan struct{})}
}

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("block") == "" {
		_, _ = io.WriteString(w, "ok")
		return
	}
	b.entered <- r.URL.RequestURI()
	select {
	case <-b.release:
	case <-r.Context().Done():
	}
	_, _ = io.WriteString(w, "done")
}

// hold starts n blocking requests and waits until they are in the handler.
func (b *blocker) hold(t *testing.T, c *http.Client, url string, n int, results chan<- int, hdr ...string) {
	t.Helper()
	for i := 0; i < n; i++ {
		go func() {
			req, _ := http.NewRequest("GET", url, nil)
			for j := 0; j+1 < len(hdr); j += 2 {
				req.Header.Set(hdr[j], hdr[j+1])
			}
			resp, err := c.Do(req)
			if err != nil {
				results <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case <-b.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d requests reached the handler", i, n)
		}
	}
}

func want429(t *testing.T, resp *http.Response, body, retry string) {
	t.Helper()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != retry ||
		!strings.Contains(body, `"reason":"TooManyRequests"`) || !strings.Contains(body, `"code":429`) {
		t.Fatalf("got %d Retry-After %q %s, want 429 Retry-After %s with a Status", resp.StatusCode, resp.Header.Get("Retry-After"), body, retry)
	}
}

func TestMaxInflight(t *testing.T) {
	b := newBlocker()
	s := serve(t, Config{Handler: b, MaxInflight: 2, MaxWatches: 5}, nil)
	c, base := client(t, nil), "http://"+s.Addr()
	results := make(chan int, 10)
	b.hold(t, c, base+"/x?block=1", 2, results)

	resp, body := get(t, c, base+"/x")
	want429(t, resp, body, "1")
	// Watches are counted apart.
	b.hold(t, c, base+"/x?block=1&watch=true", 1, results)
	if st := s.Stats(); st.Inflight != 2 || st.Watches != 1 {
		t.Errorf("stats %+v, want 2 in flight and 1 watch", st)
	}
	close(b.release)
	for i := 0; i < 3; i++ {
		if code := <-results; code != 200 {
			t.Errorf("held request: %d", code)
		}
	}
	if resp, _ := get(t, c, base+"/x"); resp.StatusCode != 200 {
		t.Errorf("after release: %d", resp.StatusCode)
	}
}

// critical is the test servers' Critical: requests to /hb.
func critical(r *http.Request) bool { return r.URL.Path == "/hb" }

// A critical request finds a reserved slot when MaxInflight is full, up to
// ReservedInflight of them; ordinary requests never take those slots.
func TestCriticalTakesReservedSlots(t *testing.T) {
	b := newBlocker()
	s := serve(t, Config{Handler: b, MaxInflight: 2, Critical: critical, ReservedInflight: 1, CriticalWait: -1}, nil)
	c, base := client(t, nil), "http://"+s.Addr()
	results := make(chan int, 10)
	b.hold(t, c, base+"/x?block=1", 2, results)
	resp, body := get(t, c, base+"/x")
	want429(t, resp, body, "1")

	b.hold(t, c, base+"/hb?block=1", 1, results) // the reserved slot
	if st := s.Stats(); st.Inflight != 3 {
		t.Errorf("stats %+v, want 3 in flight (2 + 1 reserved)", st)
	}
	resp, body = get(t, c, base+"/hb") // the reserve is full too
	want429(t, resp, body, "1")
	resp, body = get(t, c, base+"/x")
	want429(t, resp, body, "1")

	close(b.release)
	for i := 0; i < 3; i++ {
		if code := <-results; code != 200 {
			t.Errorf("held request: %d", code)
		}
	}
	if st := s.Stats(); st.Inflight != 0 {
		t.Errorf("stats after release %+v, want nothing in flight", st)
	}
}

// TestCriticalWaitsForReservedSlot: with every slot taken, a critical
// request waits in line for a reserved one and is served when one frees;
// one still waiting after CriticalWait is refused, and an ordinary request
// never waits.
func TestCriticalWaitsForReservedSlot(t *testing.T) {
	b := newBlocker()
	clk := clock.NewFake(time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC))
	var refused atomic.Int32
	s := serve(t, Config{Handler: b, MaxInflight: 1, Critical: critical, ReservedInflight: 1, CriticalWait: 5 * time.Second, Clock: clk,
		CriticalRefused: func(*http.Request) { refused.Add(1) }}, nil)
	c, base := client(t, nil), "http://"+s.Addr()
	results := make(chan int, 10)
	b.hold(t, c, base+"/x?block=1", 1, results) // the one ordinary slot
	// The reserved slot, held by a request this test can end alone.
	holdCtx, endHold := context.WithCancel(context.Background())
	defer endHold()
	go func() {
		req, _ := http.NewRequestWithContext(holdCtx, "GET", base+"/hb?block=1", nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-b.entered
	resp, body := get(t, c, base+"/x") // ordinary: refused at once
	want429(t, resp, body, "1")

	waited := make(chan int, 1)
	go func() {
		resp, _ := get(t, c, base+"/hb")
		waited <- resp.StatusCode
	}()
	testutil.Eventually(t, 10*time.Second, func() bool { return s.waiting.count() == 1 }, "the heartbeat waiting for a slot")
	endHold() // the reserved slot frees: the waiting heartbeat takes it
	select {
	case code := <-waited:
		if code != 200 {
			t.Fatalf("the waiting heartbeat: %d, want 200", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting heartbeat was not served once a slot freed")
	}

	// Every slot taken again; a heartbeat waits out CriticalWait: 429.
	b.hold(t, c, base+"/hb?block=1", 1, results)
	go func() {
		resp, body := get(t, c, base+"/hb")
		if resp.StatusCode != 429 || !strings.Contains(body, "critical") {
			t.Errorf("heartbeat after CriticalWait: %d %s, want a 429 naming critical requests", resp.StatusCode, body)
		}
		waited <- resp.StatusCode
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntil(ctx, 1); err != nil { // its CriticalWait timer
		t.Fatalf("the second heartbeat is not waiting: %v", err)
	}
	clk.Step(5 * time.Second)
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("the heartbeat still waits after CriticalWait")
	}
	close(b.release)
	for range 2 {
		if code := <-results; code != 200 {
			t.Errorf("held request: %d", code)
		}
	}
	if n := refused.Load(); n != 1 {
		t.Errorf("CriticalRefused called %d times, want 1 (the heartbeat refused; not the ordinary request)", n)
	}
}

// The reserve defaults to a tenth of MaxInflight, at least one slot.
func TestReservedInflightDefault(t *testing.T) {
	for _, tt := range []struct{ inflight, want int }{{2, 1}, {0, DefaultMaxInflight / 10}, {55, 5}} {
		if got := (Config{MaxInflight: tt.inflight}).withDefaults(0).ReservedInflight; got != tt.want {
			t.Errorf("MaxInflight %d: ReservedInflight %d, want %d", tt.inflight, got, tt.want)
		}
	}
}

func TestMaxWatches(t *testing.T) {
	b := newBlocker()
	key := func(r *http.Request) string { return r.Header.Get("X-Client") }
	s := serve(t, Config{Handler: b, MaxWatches: 3, MaxWatchesPerClient: 2, MaxInflight: 1, ClientKey: key}, nil)
	c, base := client(t, nil), "http://"+s.Addr()
	results := make(chan int, 10)
	b.hold(t, c, base+"/api/v1beta1/watch/pods?block=1", 2, results, "X-Client", "a")

	resp, body := get(t, c, base+"/api/v1beta1/watch/pods", "X-Client", "a")
	want429(t, resp, body, "1") // a's own cap
	b.hold(t, c, base+"/api/v1beta1/pods?watch=true&block=1", 1, results, "X-Client", "b")
	resp, body = get(t, c, base+"/api/v1beta1/pods?watch=true", "X-Client", "c")
	want429(t, resp, body, "1") // the server's cap
	if resp, _ := get(t, c, base+"/api/v1beta1/pods", "X-Client", "c"); resp.StatusCode != 200 {
		t.Errorf("ordinary request while watches are full: %d", resp.StatusCode)
	}
	close(b.release)
	for i := 0; i < 3; i++ {
		if code := <-results; code != 200 {
			t.Errorf("held watch: %d", code)
		}
	}
}

func TestRatePerClient(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	key := func(r *http.Request) string { return r.Header.Get("X-Client") }
	s := serve(t, Config{Handler: okHandler, RatePerClient: 1, ClientKey: key, Clock: fc, LimitLoopback: true}, nil)
	c, url := client(t, nil), "http://"+s.Addr()+"/"
	expect := func(who string, code int, retry string) {
		t.Helper()
		resp, body := get(t, c, url, "X-Client", who)
		if code == 429 {
			want429(t, resp, body, retry)
		} else if resp.StatusCode != code {
			t.Fatalf("%s: %d, want %d", who, resp.StatusCode, code)
		}
	}
	expect("a", 200, "")
	expect("a", 200, "") // burst 2
	expect("a", 429, "1")
	expect("b", 200, "") // another client is unaffected
	fc.Step(500 * time.Millisecond)
	expect("a", 429, "1")
	fc.Step(500 * time.Millisecond)
	expect("a", 200, "")
	expect("a", 429, "1")

	// Critical requests are not rate limited, nor do they spend a token.
	crit := serve(t, Config{Handler: okHandler, RatePerClient: 1, ClientKey: key, Clock: fc, LimitLoopback: true, Critical: critical}, nil)
	for i := 0; i < 5; i++ {
		if resp, _ := get(t, c, "http://"+crit.Addr()+"/hb", "X-Client", "a"); resp.StatusCode != 200 {
			t.Fatalf("critical request %d: %d, want 200", i, resp.StatusCode)
		}
	}
	if resp, _ := get(t, c, "http://"+crit.Addr()+"/", "X-Client", "a"); resp.StatusCode != 200 {
		t.Fatalf("ordinary request after critical ones: %d, want 200 (its bucket is full)", resp.StatusCode)
	}

	// This host's own clients are not limited unless LimitLoopback.
	local := serve(t, Config{Handler: okHandler, RatePerClient: 1, Clock: fc}, nil)
	for i := 0; i < 10; i++ {
		if resp, _ := get(t, c, "http://"+local.Addr()+"/"); resp.StatusCode != 200 {
			t.Fatalf("loopback request %d: %d, want 200 (exempt)", i, resp.StatusCode)
		}
	}
}

func TestRateRetryAfterRoundsUp(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	s := serve(t, Config{Handler: okHandler, RatePerClient: 0.25, Clock: fc, LimitLoopback: true}, nil)
	c, url := client(t, nil), "http://"+s.Addr()+"/"
	if resp, _ := get(t, c, url); resp.StatusCode != 200 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	resp, body := get(t, c, url)
	want429(t, resp, body, "4")
}

func TestWatchTimeout(t *testing.T) {
	const base = 10 * time.Second
	for _, tt := range []struct {
		r    float64
		want time.Duration
	}{{0, 9 * time.Second}, {0.5, 10 * time.Second}, {0.99, 10*time.Second + 980*time.Millisecond}} {
		t.Run(fmt.Sprint(tt.r), func(t *testing.T) {
			fc := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
			ctxs := make(chan context.Context, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctxs <- r.Context()
				<-r.Context().Done()
			})
			s := serve(t, Config{Handler: h, WatchTimeout: base, Clock: fc}, func(s *Server) {
				s.rand = func() float64 { return tt.r }
			})
			go func() {
				resp, err := client(t, nil).Get("http://" + s.Addr() + "/api/v1beta1/watch/pods")
				if err == nil {
					resp.Body.Close()
				}
			}()
			var ctx context.Context
			select {
			case ctx = <-ctxs:
			case <-time.After(10 * time.Second):
				t.Fatal("watch did not reach the handler")
			}
			bctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := fc.BlockUntil(bctx, 1); err != nil {
				t.Fatal("no watch timer armed")
			}
			fc.Step(tt.want - 20*time.Millisecond)
			if fc.Waiters() != 1 || ctx.Err() != nil {
				t.Fatalf("watch ended before %v", tt.want)
			}
			fc.Step(40 * time.Millisecond)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("watch not ended after %v", tt.want)
			}
		})
	}
}

// TestOrdinaryRequestHasNoWatchTimer: only long-running requests arm one.
func TestOrdinaryRequestHasNoWatchTimer(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	armed := make(chan int, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { armed <- fc.Waiters() })
	s := serve(t, Config{Handler: h, Clock: fc}, nil)
	get(t, client(t, nil), "http://"+s.Addr()+"/api/v1beta1/pods")
	if n := <-armed; n != 0 {
		t.Fatalf("%d timers armed for an ordinary request", n)
	}
}

func TestMaxConns(t *testing.T) {
	closed := make(chan struct{}, 10)
	s := serve(t, Config{Handler: okHandler, MaxConns: 2}, func(s *Server) {
		s.ln.onClosed = func() { closed <- struct{}{} }
	})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c1, c2 := dial(), dial()
	for _, c := range []net.Conn{c1, c2} {
		if resp, _, err := rawRequest(c, "/"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("within the cap: %v %v", resp, err)
		}
	}
	c3 := dial()
	if _, _, err := rawRequest(c3, "/"); err == nil {
		t.Fatal("third connection served with MaxConns 2")
	}
	if resp, _, err := rawRequest(c2, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admitted connection after a refusal: %v %v", resp, err)
	}
	c1.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not see the close")
	}
	if resp, _, err := rawRequest(dial(), "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a close: %v %v", resp, err)
	}
}

func TestMaxConnsPerClient(t *testing.T) {
	from := func(ip string) *net.Dialer {
		return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	}
	dialOK := func(t *testing.T, d *net.Dialer, addr string) net.Conn {
		t.Helper()
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("limited", func(t *testing.T) {
		s := serve(t, Config{Handler: okHandler, MaxConnsPerClient: 2, LimitLoopback: true}, nil)
		a1, a2 := dialOK(t, from("127.0.0.2"), s.Addr()), dialOK(t, from("127.0.0.2"), s.Addr())
		for _, c := range []net.Conn{a1, a2} {
			if resp, _, err := rawRequest(c, "/"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("within the cap: %v %v", resp, err)
			}
		}
		if _, _, err := rawRequest(dialOK(t, from("127.0.0.2"), s.Addr()), "/"); err == nil {
			t.Fatal("third connection from one client served")
		}
		if resp, _, err := rawRequest(dialOK(t, from("127.0.0.3"), s.Addr()), "/"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("another client: %v %v", resp, err)
		}
		if resp, _, err := rawRequest(a1, "/"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("admitted connection: %v %v", resp, err)
		}
	})
	t.Run("loopback exempt by default", func(t *testing.T) {
		s := serve(t, Config{Handler: okHandler, MaxConnsPerClient: 1}, nil)
		for i := 0; i < 3; i++ {
			if resp, _, err := rawRequest(dialOK(t, from("127.0.0.2"), s.Addr()), "/"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("loopback connection %d: %v %v", i, resp, err)
			}
		}
	})
}

// TestShutdown: after ctx ends Serve returns promptly, having ended a
// watch, closed an idle kept-alive connection, a hijacked one and one
// still being sniffed, and leaves no goroutine behind.
func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	ca := newTestCA(t)
	watchEnded := make(chan struct{})
	hijacked := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/watch/":
			w.WriteHeader(200)
			_ = http.NewResponseController(w).Flush()
			<-r.Context().Done()
			close(watchEnded)
		case "/hijack":
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\n\r\n")
			close(hijacked)
			// The handler keeps the connection for ever: only shutdown closes it.
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	s, err := Listen(Config{Handler: h, Addr: "127.0.0.1:0", Log: quietLog(), TLS: ServerTLS(ca.issue(t, "server", true), nil), AllowPlain: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	idle := dial()
	defer idle.Close()
	if resp, _, err := rawRequest(idle, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("idle conn: %v %v", resp, err)
	}
	hj := dial()
	defer hj.Close()
	_, _ = io.WriteString(hj, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
	<-hijacked
	silent := dial()
	defer silent.Close()
	w := dial()
	defer w.Close()
	_, _ = io.WriteString(w, "GET /watch/ HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 12)
	if _, err := io.ReadFull(w, buf); err != nil {
		t.Fatalf("watch: %v", err)
	}
	if st := s.Stats(); st.Conns != 4 || st.Watches != 1 {
		t.Errorf("stats %+v, want 4 connections and 1 watch", st)
	}

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(ShutdownGrace + 5*time.Second):
		t.Fatal("Serve did not return")
	}
	el := time.Since(start)
	if el >= ShutdownGrace {
		t.Errorf("shutdown took %v: it waited for the watch or the hijacked connection", el)
	}
	t.Logf("shutdown took %v", el.Round(time.Millisecond))
	select {
	case <-watchEnded:
	default:
		t.Error("watch handler still running after Serve returned")
	}
	for name, c := range map[string]net.Conn{"idle": idle, "hijacked": hj, "silent": silent, "watch": w} {
		t.Run(name, func(t *testing.T) { expectCut(t, c, 5*time.Second) })
	}
	if st := s.Stats(); st.Conns != 0 {
		t.Errorf("%d connections counted after shutdown", st.Conns)
	}
	if _, err := net.Dial("tcp", s.Addr()); err == nil {
		t.Error("still accepting after shutdown")
	}
	for _, c := range []net.Conn{idle, hj, silent, w} {
		c.Close()
	}
	waitGoroutines(t, before)
}

func TestServeTwice(t *testing.T) {
	s, err := Listen(Config{Handler: okHandler, Addr: "127.0.0.1:0", Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Serve(ctx); err != nil {
		t.Fatalf("Serve with an ended context: %v", err)
	}
	if err := s.Serve(context.Background()); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("second Serve: %v", err)
	}
}

func TestCloseUnserved(t *testing.T) {
	s, err := Listen(Config{Handler: okHandler, Addr: "127.0.0.1:0", Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2, err := Listen(Config{Handler: okHandler, Addr: addr, Log: quietLog()})
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	_ = s2.Close()
}

func TestNoHandler(t *testing.T) {
	if _, err := Listen(Config{Addr: "127.0.0.1:0"}); err == nil {
		t.Fatal("Listen without a handler succeeded")
	}
}
