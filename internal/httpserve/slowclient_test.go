package httpserve

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"kubelite/internal/testutil"
)

// TestSlowClientsDoNotSlowOthers is the measurement issue 11 (item 9) and
// issue 17 (item 4) ask for: a normal client's request latency with 2,000
// idle connections and 200 slowloris clients held open, against the same
// client with no attacker, in the same run. The port is the API's shape
// (TLS with AllowPlain, default limits); the normal client opens a new
// TLS connection per request, so its latency includes the accept loop, the
// sniff and the handshake. Idle attackers wait in the sniff, slowloris ones
// (plain HTTP, one header byte every 100 ms each) in the header read.
func TestSlowClientsDoNotSlowOthers(t *testing.T) {
	const (
		idle     = 2000
		slow     = 200
		requests = 200
		dribble  = 100 * time.Millisecond // per slowloris connection
	)
	limit, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if need := uint64(2*(idle+slow) + 500); limit < need {
		t.Fatalf("file limit %d, need %d for this test (raise the hard limit: ulimit -Hn)", limit, need)
	}
	ca := newTestCA(t)
	s := serve(t, Config{
		Handler:    okHandler,
		TLS:        ServerTLS(ca.issue(t, "server", true), nil),
		AllowPlain: true,
		// Long enough that no attacker is cut during the measurement (the
		// default 10 s would cut and let them reconnect: the same load).
		ReadHeaderTimeout: time.Minute,
	}, nil)
	c := client(t, &tls.Config{RootCAs: ca.pool})
	url := "https://" + s.Addr() + "/"

	measure := func(requests int) []time.Duration {
		lats := make([]time.Duration, 0, requests)
		for i := 0; i < requests; i++ {
			start := time.Now()
			resp, err := c.Get(url)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("request %d: %s", i, resp.Status)
			}
			lats = append(lats, time.Since(start))
		}
		slices.Sort(lats)
		return lats
	}
	measure(requests / 4) // warm up: certificates parsed, code paths paged in
	base := measure(requests)

	// Attack.
	var conns []net.Conn
	defer func() {
		for _, a := range conns {
			a.Close()
		}
	}()
	dial := func() net.Conn {
		a, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatalf("attacker %d: %v", len(conns), err)
		}
		conns = append(conns, a)
		return a
	}
	for i := 0; i < idle; i++ {
		dial()
	}
	slowConns := make([]net.Conn, 0, slow)
	for i := 0; i < slow; i++ {
		a := dial()
		if _, err := io.WriteString(a, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		slowConns = append(slowConns, a)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one goroutine dribbles for all: a byte to each every dribble
		defer wg.Done()
		tick := time.NewTicker(dribble / 10)
		defer tick.Stop()
		hdr := "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
		for round := 0; round < 6000; round++ { // bounded: 60 s
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			b := hdr[round/10%len(hdr)]
			for i := round % 10; i < len(slowConns); i += 10 {
				_ = slowConns[i].SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				_, _ = slowConns[i].Write([]byte{b})
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	// Wait (bounded) until the server holds every attacker.
	testutil.Eventually(t, 30*time.Second, func() error {
		if n := s.Stats().Conns; n < idle+slow {
			return fmt.Errorf("server holds %d connections", n)
		}
		return nil
	}, "the server holds all %d attackers", idle+slow)
	attacked := measure(requests)
	held := s.Stats().Conns

	p := func(l []time.Duration, q float64) time.Duration { return l[int(q*float64(len(l)-1))] }
	t.Logf("normal client, %d TLS requests each on a new connection:", requests)
	t.Logf("  no attackers:                 p50 %v  p90 %v  p99 %v", p(base, .5).Round(time.Microsecond), p(base, .9).Round(time.Microsecond), p(base, .99).Round(time.Microsecond))
	t.Logf("  %d idle + %d slowloris held: p50 %v  p90 %v  p99 %v  (server held %d connections)", idle, slow,
		p(attacked, .5).Round(time.Microsecond), p(attacked, .9).Round(time.Microsecond), p(attacked, .99).Round(time.Microsecond), held)
	// p90, not p99: of 200 requests the p99 is the second slowest, which on a
	// machine whose cores other work keeps busy (make test, a CPU hog) is a
	// scheduling hiccup, not the server; so is a 2x swing of p90 there. A
	// server that let attackers hold it up would be off by the dribble's
	// 100 ms per request and more.
	if limit := 3*p(base, .9) + 20*time.Millisecond; p(attacked, .9) > limit {
		t.Errorf("p90 under attack %v > 3 x idle p90 + 20 ms = %v", p(attacked, .9), limit)
	}
	if held < idle+slow {
		t.Errorf("attackers were cut during the measurement (%d held): it measured less than the attack", held)
	}
}
