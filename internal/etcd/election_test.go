package etcd_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/component"
	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/leader"
)

// controllers records which masters run their leader-only components, and
// every moment two ran at once.
type controllers struct {
	mu      sync.Mutex
	running map[string]time.Time
	overlap int
	changed chan struct{}
}

func (c *controllers) build(id string) func() ([]component.Component, error) {
	return func() ([]component.Component, error) {
		return []component.Component{component.Loop("scheduler", func(ctx context.Context) error {
			c.mu.Lock()
			if len(c.running) > 0 {
				c.overlap++
			}
			c.running[id] = time.Now()
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
			<-ctx.Done()
			c.mu.Lock()
			delete(c.running, id)
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
			return nil
		})}, nil
	}
}

// waitFor waits until id runs its components and returns when it started.
func (c *controllers) waitFor(t *testing.T, id string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		at, ok := c.running[id]
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s did not lead within %s", id, timeout)
		}
	}
}

func runGate(t *testing.T, cli *clientv3.Client, id string, ttl time.Duration, c *controllers) (*etcd.Election, func()) {
	t.Helper()
	el, err := etcd.NewElection(cli, etcd.ElectionConfig{Identity: id, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	g, err := leader.New(leader.Config{Elector: el, Identity: id, Build: c.build(id), RetryDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := g.Run(ctx, func() {}); err != nil {
			t.Errorf("gate %s: %v", id, err)
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return el, stop
}

func newClient(t *testing.T, s *etcdtest.Server) *clientv3.Client {
	t.Helper()
	cli, err := etcd.NewClient(s.Endpoints(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// TestElectionTakeover: two masters on one etcd; the leader's process dies
// (its client goes away without resigning); the other leads within the
// lease time plus 2 s, and the two never run the controllers at once.
func TestElectionTakeover(t *testing.T) {
	s := etcdtest.Start(t, "")
	const ttl = 2 * time.Second
	c := &controllers{running: map[string]time.Time{}, changed: make(chan struct{})}
	cli1, cli2 := newClient(t, s), newClient(t, s)
	t.Cleanup(func() { cli2.Close() })

	el1, stop1 := runGate(t, cli1, "m1", ttl, c)
	c.waitFor(t, "m1", 10*time.Second)
	_, stop2 := runGate(t, cli2, "m2", ttl, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if id, err := el1.Leader(ctx); err != nil || id != "m1" {
		t.Fatalf("leader %q %v, want m1", id, err)
	}

	// kill -9 of m1: its client stops renewing, nothing is revoked.
	killed := time.Now()
	cli1.Close()
	started := c.waitFor(t, "m2", ttl+2*time.Second)
	t.Logf("takeover after the leader died: %s (lease %s)", started.Sub(killed).Round(time.Millisecond), ttl)
	stop1()
	c.mu.Lock()
	overlap := c.overlap
	c.mu.Unlock()
	if overlap != 0 {
		t.Fatalf("both masters ran the controllers at once %d times", overlap)
	}

	// A clean shutdown resigns: a third master takes over at once.
	cli3 := newClient(t, s)
	t.Cleanup(func() { cli3.Close() })
	el3, _ := runGate(t, cli3, "m3", ttl, c)
	resigned := time.Now()
	stop2()
	started = c.waitFor(t, "m3", time.Second)
	t.Logf("takeover after a resign: %s", started.Sub(resigned).Round(time.Millisecond))
	if id, err := el3.Leader(ctx); err != nil || id != "m3" {
		t.Fatalf("leader %q %v, want m3", id, err)
	}
}

// TestElectionReclaimsOwnKey: a master killed while leading and restarted
// at once leads again without waiting for its old lease.
func TestElectionReclaimsOwnKey(t *testing.T) {
	t.Parallel()
	s := etcdtest.Start(t, "")
	cli := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	old, err := etcd.NewElection(cli, etcd.ElectionConfig{Identity: "m1", TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	// The old run's term is never resigned (the process was killed).
	restarted, err := etcd.NewElection(cli, etcd.ElectionConfig{Identity: "m1", TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	term, err := restarted.Campaign(cctx)
	if err != nil {
		t.Fatalf("restarted master did not lead at once: %v", err)
	}
	if err := term.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if id, err := restarted.Leader(ctx); err != nil || id != "" {
		t.Fatalf("leader %q %v after resign, want none", id, err)
	}
}

func TestElectionTTL(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{0, 5 * time.Second}, {time.Second, 2 * time.Second}, {5 * time.Second, 5 * time.Second}, {5200 * time.Millisecond, 6 * time.Second},
	} {
		el, err := etcd.NewElection(nil, etcd.ElectionConfig{Identity: "x", TTL: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		if el.TTL() != tc.want {
			t.Errorf("TTL(%s) = %s, want %s", tc.in, el.TTL(), tc.want)
		}
	}
	if _, err := etcd.NewElection(nil, etcd.ElectionConfig{}); err == nil {
		t.Error("an election without an identity was accepted")
	}
}

// freezer is a TCP proxy to etcd that can stop passing bytes, as a network
// partition would, while every connection stays open.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, thaw: make(chan struct{})}
	close(f.thaw)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *freezer) addr() string { return f.ln.Addr().String() }

func (f *freezer) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, c, u)
		f.mu.Unlock()
		go f.pipe(c, u)
		go f.pipe(u, c)
	}
}

// pipe copies src to dst, holding each chunk while frozen.
func (f *freezer) pipe(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.mu.Lock()
			thaw := f.thaw
			f.mu.Unlock()
			<-thaw
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (f *freezer) freeze(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on && !f.frozen {
		f.thaw = make(chan struct{})
	} else if !on && f.frozen {
		close(f.thaw)
	}
	f.frozen = on
}

func (f *freezer) close() {
	f.freeze(false)
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

// TestElectionPartitionedLeader: the leader is cut off from etcd but keeps
// running (a partition, not a crash). It stops its controllers a margin
// before its lease expires on the server; the other master leads only after
// that: never both at once. When the partition heals, the old leader waits
// in line.
func TestElectionPartitionedLeader(t *testing.T) {
	s := etcdtest.Start(t, "")
	const ttl = 2 * time.Second
	c := &controllers{running: map[string]time.Time{}, changed: make(chan struct{})}
	target := strings.TrimPrefix(s.Endpoints()[0], "http://")
	proxy := newFreezer(t, target)
	cli1, err := etcd.NewClient([]string{"http://" + proxy.addr()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli1.Close() })
	cli2 := newClient(t, s)
	t.Cleanup(func() { cli2.Close() })

	_, stop1 := runGate(t, cli1, "m1", ttl, c)
	c.waitFor(t, "m1", 10*time.Second)
	el2, stop2 := runGate(t, cli2, "m2", ttl, c)

	cut := time.Now()
	proxy.freeze(true)
	started := c.waitFor(t, "m2", ttl+2*time.Second)
	t.Logf("takeover from a partitioned leader: %s (lease %s)", started.Sub(cut).Round(time.Millisecond), ttl)
	c.mu.Lock()
	overlap := c.overlap
	c.mu.Unlock()
	if overlap != 0 {
		t.Fatalf("the partitioned leader still ran its controllers when m2 started (%d overlaps)", overlap)
	}
	proxy.freeze(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if id, err := el2.Leader(ctx); err != nil || id != "m2" {
		t.Fatalf("leader %q %v after the partition healed, want m2", id, err)
	}
	stop2()
	c.waitFor(t, "m1", 10*time.Second) // m1 campaigned again and leads now
	stop1()
}

// stopWithin stops a gate and fails unless it returns within d; closing
// cli then releases it.
func stopWithin(t *testing.T, id string, stop func(), d time.Duration, cli *clientv3.Client) {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
		t.Logf("gate %s stopped in %s", id, time.Since(start).Round(time.Millisecond))
	case <-time.After(d):
		t.Errorf("gate %s still running %s after it was stopped", id, d)
		cli.Close()
		<-done
	}
}

// TestGateStopsWithEtcdUnreachable: a master waiting in line is cut off
// from etcd, then etcd stops under the leader; each gate returns within
// seconds of being stopped (every etcd call of a campaign is bounded by its
// context, a resign and a revoke by a timeout). concurrency.Election's
// Campaign, cancelled in line, resigned with the client's context, never
// done until the client was closed: with etcd unreachable, the master's
// shutdown hung on it.
func TestGateStopsWithEtcdUnreachable(t *testing.T) {
	t.Parallel()
	s := etcdtest.Start(t, "")
	const ttl = 2 * time.Second
	c := &controllers{running: map[string]time.Time{}, changed: make(chan struct{})}
	proxy := newFreezer(t, strings.TrimPrefix(s.Endpoints()[0], "http://"))
	cli1 := s.Client(t)
	cli2, err := etcd.NewClient([]string{"http://" + proxy.addr()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli2.Close() })
	_, stop1 := runGate(t, cli1, "m1", ttl, c)
	c.waitFor(t, "m1", 10*time.Second)
	_, stop2 := runGate(t, cli2, "m2", ttl, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		resp, err := cli1.Get(ctx, etcd.DefaultElectionPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // m2 watches m1's key: it waits in line
	proxy.freeze(true)
	stopWithin(t, "m2", stop2, 5*time.Second, cli2)
	s.Stop()
	stopWithin(t, "m1", stop1, 5*time.Second, cli1)
}
