package apiserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/apiserver"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/httpserve"
	"kubelite/internal/store"
	storeetcd "kubelite/internal/store/etcd"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// Issue 17 item 4: thousands of stalled request bodies and watches from an
// attacker must not stop the master answering a normal client, and must
// not take the file descriptors etcd needs.
//
// The attacker is this test binary run again (attackerEnv set): a process
// of its own, as a real one would be, so its sockets do not count against
// the master's file limit. It opens the connections, prints one READY line
// with what it got, holds them until its stdin closes (or attackHold
// passes) and exits.

const (
	attackerEnv = "KUBELITE_HOSTILE_ATTACK" // host:port of the API to attack
	attackHold  = 90 * time.Second
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(attackerEnv); addr != "" {
		os.Exit(attack(addr))
	}
	os.Exit(m.Run())
}

// attack opens stalled bodies and watches against addr; see the comment
// above. Its flags come from the environment: STALLED, WATCHES, WATCH_IPS.
func attack(addr string) int {
	if _, err := httpserve.RaiseFileLimit(); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	stalled, _ := strconv.Atoi(os.Getenv("STALLED"))
	watches, _ := strconv.Atoi(os.Getenv("WATCHES"))
	watchIPs, _ := strconv.Atoi(os.Getenv("WATCH_IPS"))
	var mu sync.Mutex
	var conns []net.Conn
	var dialErrs, watchOK, watch429, watchOther atomic.Int32
	dial := func(src string) net.Conn {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			dialErrs.Add(1)
			return nil
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		return c
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if i < stalled {
					// A write whose body never comes: 1000 bytes announced, 1 sent.
					c := dial(fmt.Sprintf("127.0.0.%d", 2+i%8))
					if c != nil {
						_, _ = fmt.Fprintf(c, "POST /api/v1beta1/pods HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr)
					}
					continue
				}
				j := i - stalled
				c := dial(fmt.Sprintf("127.0.1.%d", 1+j%watchIPs))
				if c == nil {
					continue
				}
				_, _ = fmt.Fprintf(c, "GET /api/v1beta1/watch/pods HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				_ = c.SetReadDeadline(time.Time{})
				switch {
				case err == nil && strings.Contains(line, " 200 "):
					watchOK.Add(1)
				case err == nil && strings.Contains(line, " 429 "):
					watch429.Add(1)
				default:
					watchOther.Add(1)
				}
			}
		}()
	}
	for i := 0; i < stalled+watches; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	fmt.Printf("READY stalled=%d watches200=%d watches429=%d watchesOther=%d dialErrors=%d\n",
		stalled, watchOK.Load(), watch429.Load(), watchOther.Load(), dialErrs.Load())
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(attackHold):
	}
	for _, c := range conns {
		_ = c.Close()
	}
	return 0
}

// attacker runs attack in a child process and returns its READY line; the
// child ends when stop is called (also at cleanup).
func startAttacker(t *testing.T, addr string, stalled, watches, watchIPs int) (ready string, stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), attackerEnv+"="+addr, "STALLED="+strconv.Itoa(stalled),
		"WATCHES="+strconv.Itoa(watches), "WATCH_IPS="+strconv.Itoa(watchIPs))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("attacker: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") || strings.HasPrefix(sc.Text(), "ERROR") {
				lines <- sc.Text()
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-lines:
		if strings.HasPrefix(l, "ERROR") {
			t.Fatalf("attacker: %s", l)
		}
		return l, stop
	case <-time.After(120 * time.Second):
		stop()
		t.Fatal("attacker not ready within 120s")
	}
	return "", stop
}

// normalClient is a keep-alive client from its own loopback address.
func normalClient(src string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2}}
}

// measure runs n reads, then n/5 writes (a create and a delete, through
// to the store), and returns their latencies; every answer must be a
// success. Reads and writes are apart: a write is fanned out to every
// open watch, the attacker's too, and that work would land on the reads
// that follow it.
func measure(t *testing.T, cl *http.Client, base string, n int) (reads, writes []time.Duration) {
	t.Helper()
	for i := 0; i < n; i++ {
		start := time.Now()
		expect(t, cl, http.MethodGet, base+"/api/v1beta1/pods", "", http.StatusOK)
		reads = append(reads, time.Since(start))
	}
	for i := 0; i < n/5; i++ {
		start := time.Now()
		id := fmt.Sprintf("probe-%d-%d", time.Now().UnixNano(), i)
		expect(t, cl, http.MethodPost, base+"/api/v1beta1/pods",
			`{"id":"`+id+`","desiredState":{"manifest":{"version":"v1beta1","id":"`+id+`","containers":[{"name":"c","image":"i"}]}}}`, http.StatusCreated)
		expect(t, cl, http.MethodDelete, base+"/api/v1beta1/pods/"+id, "", http.StatusOK)
		writes = append(writes, time.Since(start))
	}
	return reads, writes
}

// phase is what batches measured of one phase (idle or under attack).
type phase struct {
	reads, writes []time.Duration // every sample of the three batches
	p90s, p99s    []time.Duration // reads, per batch
}

// p50 is the median of all reads; p90 and p99 the median batch's, so that
// one stall of a machine shared with other work does not decide them.
func (p phase) p50() time.Duration { return percentile(p.reads, .5) }
func (p phase) p90() time.Duration { return median(p.p90s) }
func (p phase) p99() time.Duration { return median(p.p99s) }

// batches runs measure three times.
func batches(t *testing.T, cl *http.Client, base string, n int) phase {
	t.Helper()
	var ph phase
	for b := 0; b < 3; b++ {
		r, w := measure(t, cl, base, n)
		ph.reads, ph.writes = append(ph.reads, r...), append(ph.writes, w...)
		ph.p90s, ph.p99s = append(ph.p90s, percentile(r, .9)), append(ph.p99s, percentile(r, .99))
	}
	return ph
}

// judgeLatency says what is wrong with the normal client's reads under
// attack against idle ("" if nothing). The two phases run one after the
// other on a machine whose other work comes and goes, so a figure that a
// scheduler hiccup decides is no evidence: a batch's p99 (its second
// slowest of 200 reads) swung from 0.04x to 55x idle between runs of this
// test at load 20 on 2 cores, and failed a 2x bound at 2.69x with eight
// test binaries running. What an attack that got through would do shows
// elsewhere: work per held connection or watch on every request moves the
// median read; reads queued behind the attackers (the accept loop, a lock
// held while a write fans out to 2,000 watches) fill the tail by tens of
// milliseconds and end in a timeout. So: the median within 2x idle plus
// 250 us, p90 within 3x idle plus 5 ms, and p99 under an absolute 250 ms.
func judgeLatency(idle, busy phase) []string {
	var bad []string
	if b, i := busy.p50(), idle.p50(); b > 2*i+250*time.Microsecond {
		bad = append(bad, fmt.Sprintf("read p50 under attack %v, more than 2x idle %v + 250us", b, i))
	}
	if b, i := busy.p90(), idle.p90(); b > 3*i+5*time.Millisecond {
		bad = append(bad, fmt.Sprintf("read p90 under attack %v, more than 3x idle %v + 5ms", b, i))
	}
	if b := busy.p99(); b > 250*time.Millisecond {
		bad = append(bad, fmt.Sprintf("read p99 under attack %v, over 250ms", b))
	}
	if w := percentile(busy.writes, .99); w > time.Second {
		bad = append(bad, fmt.Sprintf("write p99 under attack %v, over 1s", w))
	}
	return bad
}

func median(d []time.Duration) time.Duration { return percentile(d, .5) }

func expect(t *testing.T, cl *http.Client, method, url, body string, code int) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != code {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, code, b)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// acceptQueue returns how many connections wait in the kernel's accept
// queue of the listening TCP socket on addr (an IPv4 host:port): for a
// listening socket, /proc/net/tcp's rx_queue is that count.
func acceptQueue(addr string) (int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return 0, fmt.Errorf("accept queue of %q: want an IPv4 address and port", addr)
	}
	a := ap.Addr().As4()
	// The address as the kernel prints it: the 32-bit value in host (little-endian) order.
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], ap.Port())
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// sl local_address rem_address st tx_queue:rx_queue ...; st 0A is LISTEN
		if len(f) < 5 || f[1] != local || f[3] != "0A" {
			continue
		}
		_, rx, ok := strings.Cut(f[4], ":")
		n, err := strconv.ParseUint(rx, 16, 32)
		if !ok || err != nil {
			return 0, fmt.Errorf("accept queue of %s: queues %q", addr, f[4])
		}
		return int(n), nil
	}
	return 0, fmt.Errorf("accept queue of %s: no listening socket in /proc/net/tcp", addr)
}

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// fdHook records log lines that say the process ran out of descriptors.
type fdHook struct {
	mu    sync.Mutex
	lines []string
}

func (h *fdHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h *fdHook) Fire(e *logrus.Entry) error {
	s, _ := e.String()
	if strings.Contains(s, "too many open files") {
		h.mu.Lock()
		h.lines = append(h.lines, s)
		h.mu.Unlock()
	}
	return nil
}

// runExhaustion measures a normal client before and while an attacker
// holds stalled bodies and watches (from watchIPs addresses) open.
func runExhaustion(t *testing.T, st store.Store, stalled, watches int) {
	const watchIPs, rounds = 2, 200
	hook := &fdHook{}
	log := logrus.New()
	log.AddHook(hook)
	log.SetLevel(logrus.WarnLevel) // refusals are throttled warnings; the rest is noise here

	srv := newServer(t, st, apiserver.Config{Address: "127.0.0.1", Port: 0, Log: log.WithField("component", "apiserver")})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Error("API did not stop within 30s")
		}
	})
	<-ready
	base := "http://" + srv.Addr()
	cl := normalClient("127.0.0.200")
	measure(t, cl, base, 20) // warm up
	idle := batches(t, cl, base, rounds)
	fdIdle := openFDs(t)

	line, stop := startAttacker(t, srv.Addr(), stalled, watches, watchIPs)
	// The attacker's dials complete in the kernel's accept queue; measure
	// once the master has accepted (or refused) them all: the queue of its
	// listening socket is empty.
	testutil.Eventually(t, 20*time.Second, func() error {
		n, err := acceptQueue(srv.Addr())
		if err == nil && n > 0 {
			err = fmt.Errorf("%d connections not accepted yet", n)
		}
		return err
	}, "the master accepts the attacker's connections")
	fdAttack := openFDs(t)
	busy := batches(t, cl, base, rounds)
	// A watch of the normal client is still served (the attacker hit its
	// per-client cap, not the total).
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, _ := http.NewRequestWithContext(wctx, http.MethodGet, base+"/api/v1beta1/watch/pods", nil)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("watch under attack: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("watch under attack: %d %s", resp.StatusCode, b)
	}
	resp.Body.Close()
	wcancel()
	stop()

	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	limit := rl.Cur
	t.Logf("attacker: %s", line)
	for _, ph := range []struct {
		name string
		ph   phase
	}{{"idle", idle}, {"under attack", busy}} {
		t.Logf("normal client reads %s: p50 %v, p90 %v (batches %v), p99 %v (batches %v)",
			ph.name, ph.ph.p50(), ph.ph.p90(), ph.ph.p90s, ph.ph.p99(), ph.ph.p99s)
	}
	t.Logf("normal client writes (create+delete, fanned out to every watch): idle p50 %v p99 %v; under attack p50 %v p99 %v",
		percentile(idle.writes, .5), percentile(idle.writes, .99), percentile(busy.writes, .5), percentile(busy.writes, .99))
	t.Logf("master's open files: idle %d, under attack %d (file limit %d, connection cap %d)", fdIdle, fdAttack, limit, limit*2/5)
	if limit > 0 && uint64(fdAttack) > limit*2/5+200 {
		t.Errorf("the master holds %d files, over its connection cap %d", fdAttack, limit*2/5)
	}
	if want := min(watches, watchIPs*httpserve.DefaultMaxWatchesPerClient); !strings.Contains(line, fmt.Sprintf("watches200=%d ", want)) {
		t.Errorf("per-client watch cap not applied: %s", line)
	}
	// Latency is judged without the race detector, which slows encoding
	// tenfold and makes a 2-core machine's noise the figure.
	if !raceEnabled {
		for _, bad := range judgeLatency(idle, busy) {
			t.Error(bad)
		}
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.lines) > 0 {
		t.Errorf("ran out of file descriptors: %v", hook.lines)
	}
}

// stalledBodies is how many stalled bodies the attacker opens (fewer under
// the race detector, which caps live goroutines at 8,128).
func stalledBodies() int {
	if raceEnabled {
		return 3000
	}
	return 5000
}

func TestHostileConnectionExhaustionMemory(t *testing.T) {
	s := memory.New()
	mustCreate(t, s, testPod("web", "default", map[string]string{"app": "web"}))
	runExhaustion(t, s, stalledBodies(), 2000)
}

func TestHostileConnectionExhaustionEtcd(t *testing.T) {
	e := etcdtest.Start(t, "")
	st := startRegistry(t, storeetcd.New(e.Client(t)))
	if _, err := st.Create(context.Background(), testPod("web", "default", map[string]string{"app": "web"})); err != nil {
		t.Fatal(err)
	}
	runExhaustion(t, st, stalledBodies(), 2000)
}

// More stalled bodies than the file limit allows: with the limit lowered
// to 5,000 the connection cap is 2,000; the master refuses the excess at
// accept, keeps its descriptors under the cap, and the embedded etcd in
// the same process never runs out.
func TestHostileConnectionExhaustionOverCap(t *testing.T) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	old := l
	l.Cur = 5000
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Error(err)
		}
	})
	e := etcdtest.Start(t, "")
	st := startRegistry(t, storeetcd.New(e.Client(t)))
	if _, err := st.Create(context.Background(), testPod("web", "default", map[string]string{"app": "web"})); err != nil {
		t.Fatal(err)
	}
	runExhaustion(t, st, 6000, 0)
}

// TestAcceptQueue: the signal runExhaustion waits for counts connections
// dialled but not accepted.
func TestAcceptQueue(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// The server's side of a handshake may complete a moment after the
	// client's (loopback's softirq can run late on a busy machine).
	testutil.Eventually(t, 5*time.Second, func() error {
		n, err := acceptQueue(l.Addr().String())
		if err == nil && n != 3 {
			err = fmt.Errorf("queue %d", n)
		}
		return err
	}, "3 dialled, none accepted: the queue holds 3")
	for i := 0; i < 3; i++ {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	if n, err := acceptQueue(l.Addr().String()); n != 0 || err != nil {
		t.Fatalf("all accepted: queue %d, %v", n, err)
	}
	if _, err := acceptQueue("[::1]:80"); err == nil {
		t.Fatal("an IPv6 address: no error")
	}
}

// TestJudgeLatency pins what fails the exhaustion tests: samples taken
// from runs under load that must pass, and the attacks that must not.
func TestJudgeLatency(t *testing.T) {
	us := func(d ...float64) []time.Duration {
		var out []time.Duration
		for _, x := range d {
			out = append(out, time.Duration(x*float64(time.Microsecond)))
		}
		return out
	}
	reads := func(p50 float64, n int) []time.Duration {
		var out []time.Duration
		for i := 0; i < n; i++ {
			out = append(out, us(p50)...)
		}
		return out
	}
	idle := phase{reads: reads(118, 600), writes: us(355), p90s: us(200, 210, 190), p99s: us(650, 303, 2023)}
	for _, c := range []struct {
		name string
		busy phase
		bad  int
	}{
		{"a hiccup's p99 at 21x idle (seen under load 20)", phase{reads: reads(124, 600), writes: us(4600), p90s: us(300, 250, 400), p99s: us(5268, 13718, 38225)}, 0},
		{"the 2.69x flake", phase{reads: reads(130, 600), writes: us(4600), p90s: us(250, 260, 240), p99s: us(1750, 1750, 1750)}, 0},
		{"every read does work per held connection", phase{reads: reads(700, 600), writes: us(4600), p90s: us(900, 900, 900), p99s: us(1000, 1000, 1000)}, 1},
		{"reads queue behind the attackers", phase{reads: reads(130, 600), writes: us(4600), p90s: us(40e3, 45e3, 50e3), p99s: us(300e3, 400e3, 500e3)}, 2},
		{"writes time out", phase{reads: reads(130, 600), writes: us(2e6), p90s: us(250, 260, 240), p99s: us(1750, 1750, 1750)}, 1},
	} {
		if bad := judgeLatency(idle, c.busy); len(bad) != c.bad {
			t.Errorf("%s: %d complaints %q, want %d", c.name, len(bad), bad, c.bad)
		}
	}
}
