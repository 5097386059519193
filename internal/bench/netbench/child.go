package netbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/bench"
	"kubelite/internal/netfilter"
	"kubelite/internal/proxy"
	"kubelite/internal/store/memory"
)

// The namespace's network: backends on lo, the portal range routed into a
// sink veth (MTU 65535 like lo, so portal and direct traffic use the same
// segment size) with a source address.
const (
	backendAddr = "10.99.1.1:8090"
	portalIP    = "10.254.0.200"
	portalRange = api.DefaultPortalNet
	linkName    = "nb0"
	linkAddr    = "10.99.0.1/24"
)

// bigBodySize is the size of the backend's /big answer. The body itself is
// made by the backend: a package variable would be a MiB of heap in every
// kubelite process (this package is linked into the one binary).
const bigBodySize = 1 << 20

// Child runs spec (JSON) inside the private network namespace and writes
// the JSON Result to out.
func Child(ctx context.Context, specJSON string, out io.Writer) error {
	var spec Spec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("netns child spec: %w", err)
	}
	if err := checkOwnNetns(); err != nil {
		return err
	}
	if err := setupNetwork(); err != nil {
		return err
	}
	var r Result
	switch spec.Kind {
	case "proxy":
		pr, err := measureProxy(ctx, spec.Mode, spec.Duration, spec.Rounds)
		if err != nil {
			return err
		}
		r.Proxy = &pr
	case "rules-sync":
		ds, err := measureSync(ctx, spec.Services, spec.Endpoints, spec.Runs)
		if err != nil {
			return err
		}
		r.Syncs = ds
	default:
		return fmt.Errorf("netns child: unknown kind %q", spec.Kind)
	}
	return json.NewEncoder(out).Encode(r)
}

// checkOwnNetns refuses to run in the parent's (the host's) namespace.
func checkOwnNetns() error {
	parent := os.Getenv(parentEnv)
	id, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("read network namespace: %w", err)
	}
	if parent == "" || id == parent {
		return errors.New("netns child: not in a network namespace of its own (started by hand?)")
	}
	return nil
}

func setupNetwork() error {
	src, _, _ := strings.Cut(linkAddr, "/")
	host, _, _ := net.SplitHostPort(backendAddr)
	cmds := [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", host + "/32", "dev", "lo"},
		{"link", "add", linkName, "type", "veth", "peer", "name", linkName + "p"},
		{"link", "set", linkName, "mtu", "65535"},
		{"link", "set", linkName + "p", "mtu", "65535"},
		{"link", "set", linkName, "up"},
		{"link", "set", linkName + "p", "up"},
		{"addr", "add", linkAddr, "dev", linkName},
		{"route", "add", portalRange, "dev", linkName, "src", src},
	}
	for _, c := range cmds {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// startBackend serves "backend" on / and 1 MiB on /big.
func startBackend() (func(), error) {
	ln, err := net.Listen("tcp", backendAddr)
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	bigBody := make([]byte, bigBodySize)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Length", fmt.Sprint(len(bigBody)))
			_, _ = w.Write(bigBody)
			return
		}
		_, _ = io.WriteString(w, "backend")
	})}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// runningProxy is a proxy over an in-memory store in this namespace.
type runningProxy struct {
	st     *memory.Store
	cancel context.CancelFunc
	done   chan error

	mu    sync.Mutex
	syncs []proxy.SyncResult
}

func startProxy(ctx context.Context, nf netfilter.Interface, mode proxy.Mode, st *memory.Store) (*runningProxy, error) {
	rp := &runningProxy{st: st, done: make(chan error, 1)}
	p, err := proxy.New(proxy.Config{Store: st, Mode: mode, Netfilter: nf, SyncPeriod: time.Hour,
		OnSync: func(r proxy.SyncResult) { rp.mu.Lock(); rp.syncs = append(rp.syncs, r); rp.mu.Unlock() }})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	rp.cancel = cancel
	started := make(chan struct{})
	go func() { rp.done <- p.Run(pctx, func() { close(started) }) }()
	select {
	case <-started:
		return rp, nil
	case err := <-rp.done:
		cancel()
		return nil, fmt.Errorf("proxy stopped while starting: %v", err)
	case <-time.After(time.Minute):
		rp.stop()
		return nil, errors.New("proxy did not start within a minute")
	}
}

func (rp *runningProxy) stop() {
	rp.cancel()
	<-rp.done
}

func (rp *runningProxy) results() []proxy.SyncResult {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]proxy.SyncResult(nil), rp.syncs...)
}

func putService(ctx context.Context, st *memory.Store, id, ip string, eps []string) error {
	svc := &api.Service{TypeMeta: api.TypeMeta{ID: id, Namespace: api.DefaultNamespace}, Port: 80, PortalIP: ip}
	if _, err := st.Create(ctx, svc); err != nil {
		return fmt.Errorf("create service %s: %w", id, err)
	}
	e := &api.Endpoints{TypeMeta: api.TypeMeta{ID: id, Namespace: api.DefaultNamespace}, Endpoints: eps}
	if _, err := st.Create(ctx, e); err != nil {
		return fmt.Errorf("create endpoints %s: %w", id, err)
	}
	return nil
}

func measureProxy(ctx context.Context, modeName string, d time.Duration, rounds int) (bench.ProxyResult, error) {
	mode, err := proxy.ParseMode(modeName)
	if err != nil || mode == proxy.ModeNone {
		return bench.ProxyResult{}, fmt.Errorf("proxy mode %q: want iptables or userspace", modeName)
	}
	if err := checkProxySize(d, rounds); err != nil {
		return bench.ProxyResult{}, err
	}
	if err := roomForConnections(); err != nil {
		return bench.ProxyResult{}, err
	}
	stopBackend, err := startBackend()
	if err != nil {
		return bench.ProxyResult{}, err
	}
	defer stopBackend()
	nf, err := netfilter.New()
	if err != nil {
		return bench.ProxyResult{}, err
	}
	st := memory.New()
	if err := putService(ctx, st, "bench", portalIP, []string{backendAddr}); err != nil {
		return bench.ProxyResult{}, err
	}
	rp, err := startProxy(ctx, nf, mode, st)
	if err != nil {
		return bench.ProxyResult{}, err
	}
	defer func() { rp.stop(); _ = proxy.Cleanup(nf) }()
	if rs := rp.results(); len(rs) == 0 || rs[0].Err != nil {
		return bench.ProxyResult{}, fmt.Errorf("first proxy sync failed: %v", rs)
	}
	direct, portal := "http://"+backendAddr, "http://"+net.JoinHostPort(portalIP, "80")
	// The portal must reach the backend before anything is measured.
	if err := checkServes(portal); err != nil {
		return bench.ProxyResult{}, err
	}
	var r bench.ProxyResult
	r.PortalReqPerSec, r.DirectReqPerSec, err = alternate(rounds, portal, direct, func(url string) (float64, error) {
		return reqPerSec(ctx, url, d)
	})
	if err != nil {
		return r, fmt.Errorf("requests/s: %w", err)
	}
	r.PortalMBPerSec, r.DirectMBPerSec, err = alternate(rounds, portal, direct, func(url string) (float64, error) {
		return mbPerSec(ctx, url, d)
	})
	if err != nil {
		return r, fmt.Errorf("MB/s: %w", err)
	}
	return r, nil
}

// alternate measures the portal's URL and the direct one rounds times
// each, the portal first in even rounds and second in odd ones (ABBA: a
// drift in the machine's speed during the run weighs on both alike), and
// returns the values in round order.
func alternate(rounds int, portal, direct string, measure func(url string) (float64, error)) (portalVals, directVals []float64, err error) {
	for i := 0; i < rounds; i++ {
		first, second := portal, direct
		if i%2 == 1 {
			first, second = direct, portal
		}
		for _, url := range []string{first, second} {
			v, err := measure(url)
			if err != nil {
				return nil, nil, fmt.Errorf("round %d, %s: %w", i+1, url, err)
			}
			if url == portal {
				portalVals = append(portalVals, v)
			} else {
				directVals = append(directVals, v)
			}
		}
	}
	return portalVals, directVals, nil
}

// roomForConnections lets this namespace's client open the tens of
// thousands of connections of a requests/s measurement (a new one a
// request, thousands a second, for rounds of both targets) without running
// out of ports to connections in TIME_WAIT: the widest local port range
// and reuse of TIME_WAIT ports for new connections. Both are settings of
// this network namespace alone (it disappears with the child), and apply
// to portal and direct traffic alike.
func roomForConnections() error {
	for path, v := range map[string]string{
		"/proc/sys/net/ipv4/ip_local_port_range": "1024 65535",
		"/proc/sys/net/ipv4/tcp_tw_reuse":        "1",
	} {
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			return fmt.Errorf("netns child: %w", err)
		}
	}
	return nil
}

func checkServes(url string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(url + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == "backend" {
				return nil
			}
			err = fmt.Errorf("answered %q", b)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("portal %s does not reach the backend: %w", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reqPerSec: one client, a new connection per small request, for d.
func reqPerSec(ctx context.Context, url string, d time.Duration) (float64, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	start := time.Now()
	n := 0
	for time.Since(start) < d && ctx.Err() == nil {
		resp, err := c.Get(url + "/")
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n++
	}
	return float64(n) / time.Since(start).Seconds(), ctx.Err()
}

// mbPerSec: one client, 1 MiB responses over a kept-alive connection, for d.
func mbPerSec(ctx context.Context, url string, d time.Duration) (float64, error) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	start := time.Now()
	var total int64
	for time.Since(start) < d && ctx.Err() == nil {
		resp, err := c.Get(url + "/big")
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != bigBodySize {
			return 0, fmt.Errorf("short body: %d bytes, %v", n, err)
		}
		total += n
	}
	return float64(total) / 1e6 / time.Since(start).Seconds(), ctx.Err()
}

// measureSync: services x endpoints, each run a fresh proxy over empty
// tables; the first (full) sync's duration.
func measureSync(ctx context.Context, services, endpoints, runs int) ([]time.Duration, error) {
	if services <= 0 || services > 60000 || endpoints <= 0 || runs <= 0 {
		return nil, fmt.Errorf("rules sync: bad size %d services x %d endpoints, %d runs", services, endpoints, runs)
	}
	nf, err := netfilter.New()
	if err != nil {
		return nil, err
	}
	st := memory.New()
	for i := 0; i < services; i++ {
		var eps []string
		for j := 0; j < endpoints; j++ {
			k := i*endpoints + j
			eps = append(eps, fmt.Sprintf("10.244.%d.%d:8080", k/250%256, 1+k%250))
		}
		ip := fmt.Sprintf("10.254.%d.%d", 1+i/250, 1+i%250)
		if err := putService(ctx, st, fmt.Sprintf("svc-%05d", i), ip, eps); err != nil {
			return nil, err
		}
	}
	var out []time.Duration
	for run := 0; run < runs; run++ {
		if err := proxy.Cleanup(nf); err != nil {
			return nil, fmt.Errorf("clean tables: %w", err)
		}
		rp, err := startProxy(ctx, nf, proxy.ModeIptables, st)
		if err != nil {
			return nil, err
		}
		rp.stop()
		rs := rp.results()
		if len(rs) == 0 {
			return nil, errors.New("rules sync: no sync reported")
		}
		if rs[0].Err != nil || rs[0].Services != services {
			return nil, fmt.Errorf("rules sync: %d of %d services programmed: %v", rs[0].Services, services, rs[0].Err)
		}
		out = append(out, rs[0].Duration)
	}
	return out, proxy.Cleanup(nf)
}
