package swarmbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/lab"
)

// Service traffic: with no IPVS there is no Swarm VIP, so Swarm's side is
// DNS round robin (--endpoint-mode dnsrr on an attachable overlay network;
// the client asks Docker's embedded DNS for the service's name before every
// connection and picks one of the answers at random, as a DNS client
// without a cache would; a second load caches the answer and picks from it,
// as a caching client would), kubelite's is its service portal IP (the
// iptables proxy). Each client is a pause container on minion1 (on the overlay for
// Swarm, on kubelite's pod network for kubelite); the load runs from its
// network namespace: trafficWorkers connections at a time, a new
// connection per request, for trafficFor.
const (
	overlayNet     = "benchnet"
	kubePodNetwork = "kubelite-pods" // the kubelet's default pod network
	trafficWorkers = 8
	trafficFor     = 5 * time.Second
)

// trafficSetup makes the overlay network, the two clients and kubelite's
// service, once.
type trafficSetup struct {
	swarmClient, kubeClient *prober
	portal                  string // kubelite's portal IP:port
}

func (w *world) setupTraffic(ctx context.Context) (*trafficSetup, error) {
	m1 := w.m1()
	if _, err := w.l.Docker(ctx, m1, "network", "create", "--driver", "overlay", "--attachable", overlayNet); err != nil {
		return nil, err
	}
	ts := &trafficSetup{}
	var err error
	if ts.swarmClient, err = w.startClient(ctx, m1, "swarm-client", overlayNet); err != nil {
		return nil, err
	}
	if ts.kubeClient, err = w.startClient(ctx, m1, "kubelite-client", kubePodNetwork); err != nil {
		return nil, err
	}
	svc := fmt.Sprintf(`{"kind":"Service","apiVersion":"v1beta1","id":%q,"port":80,"containerPort":80,"selector":{"name":%q}}`, workload, workload)
	if err := w.kube.kubectl(ctx, strings.NewReader(svc), "create", "-f", "-"); err != nil {
		return nil, err
	}
	obj, err := w.kube.st.Get(ctx, api.Services, api.DefaultNamespace, workload)
	if err != nil {
		return nil, err
	}
	ip := obj.(*api.Service).PortalIP
	if ip == "" {
		return nil, fmt.Errorf("service %s has no portal IP", workload)
	}
	ts.portal = net.JoinHostPort(ip, "80")
	return ts, nil
}

// startClient runs a pause container named name on network on h and returns
// a prober inside its network namespace.
func (w *world) startClient(ctx context.Context, h *lab.Host, name, network string) (*prober, error) {
	if _, err := w.l.Docker(ctx, h, "run", "-d", "--name", name, "--network", network, images.Pause); err != nil {
		return nil, err
	}
	out, err := w.l.Docker(ctx, h, "inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		return nil, err
	}
	pid := strings.TrimSpace(string(out))
	p, err := newProber("/proc/"+pid+"/ns/net", trafficWorkers)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", name, err)
	}
	w.probers[name] = p // closed at teardown
	return p, nil
}

// trafficTrial runs n replicas of sys, waits until the client reaches all
// of them through the service, then loads it.
func (w *world) trafficTrial(ctx context.Context, res *Result, ts *trafficSetup, sys system, n int) error {
	client, target := ts.kubeClient, func(context.Context) (string, error) { return ts.portal, nil }
	if sys.name() == "swarm" {
		client = ts.swarmClient
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return client.dial(network, "127.0.0.11:53", time.Second) // Docker's embedded DNS
		}}
		target = func(ctx context.Context) (string, error) {
			addrs, err := r.LookupHost(ctx, workload+".")
			if err != nil {
				return "", err
			}
			return net.JoinHostPort(addrs[rand.IntN(len(addrs))], "80"), nil
		}
	}
	if err := sys.create(ctx, n); err != nil {
		return err
	}
	if _, err := w.waitAnsweringVia(ctx, sys, n, w.l.Minions(), client, 5*timeoutUnit); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	// The service reaches every replica (endpoints and rules, or DNS records, caught up).
	seen := map[string]bool{}
	err := poll(ctx, timeoutUnit, pollEvery, func() (bool, string) {
		for i := 0; i < 4*n && len(seen) < n; i++ {
			addr, err := target(ctx)
			if err != nil {
				return false, err.Error()
			}
			pod, _, err := request(client, addr)
			if err != nil {
				return false, err.Error()
			}
			seen[pod] = true
		}
		return len(seen) >= n, fmt.Sprintf("%d of %d replicas reached through the service", len(seen), n)
	})
	if err != nil {
		return fmt.Errorf("%s service: %w", sys.name(), err)
	}
	st, err := load(ctx, client, target)
	if err != nil {
		return fmt.Errorf("%s service load: %w", sys.name(), err)
	}
	w.progress("%-8s traffic to %d replicas: %.0f requests/s, p50 %.2f ms, %d replicas answered, %d errors",
		sys.name(), n, st.perSec, st.p50, st.backends, st.errors)
	// A client that caches the DNS answer pays no lookup per connection:
	// Swarm is loaded a second time that way; kubelite's portal has no
	// lookup to cache, so its one load stands in both rows.
	cached := st
	if sys.name() == "swarm" {
		addrs, err := cachedAnswer(ctx, target, n)
		if err != nil {
			return err
		}
		cached, err = load(ctx, client, func(context.Context) (string, error) { return addrs[rand.IntN(len(addrs))], nil })
		if err != nil {
			return fmt.Errorf("swarm load, DNS answer cached: %w", err)
		}
		w.progress("%-8s traffic to %d replicas, DNS answer cached: %.0f requests/s, p50 %.2f ms, %d replicas answered",
			sys.name(), n, cached.perSec, cached.p50, cached.backends)
	}
	res.addDir(fmt.Sprintf("service traffic, %d replicas: requests/s, new connection each", n), "1/s", sys.name(), st.perSec, true)
	res.add(fmt.Sprintf("service traffic, %d replicas: request p50", n), "ms", sys.name(), st.p50)
	res.addDir(fmt.Sprintf("service traffic, %d replicas: requests/s, Swarm's DNS answer cached", n), "1/s", sys.name(), cached.perSec, true)
	return w.clear(ctx, sys)
}

// cachedAnswer collects the n addresses a DNS round robin target hands
// out, as a client caching the answer would hold them.
func cachedAnswer(ctx context.Context, target func(context.Context) (string, error), n int) ([]string, error) {
	seen := map[string]bool{}
	for i := 0; i < 20*n && len(seen) < n; i++ {
		a, err := target(ctx)
		if err != nil {
			return nil, err
		}
		seen[a] = true
	}
	if len(seen) < n {
		return nil, fmt.Errorf("DNS gave %d addresses, want %d", len(seen), n)
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}

type loadStats struct {
	perSec, p50      float64
	backends, errors int
}

// load sends requests from trafficWorkers goroutines for trafficFor; more
// than 1% of them failing fails it.
func load(ctx context.Context, client *prober, target func(context.Context) (string, error)) (loadStats, error) {
	deadline := time.Now().Add(trafficFor)
	var mu sync.Mutex
	var lats []time.Duration
	pods := map[string]bool{}
	fails := 0
	var lastErr error
	var wg sync.WaitGroup
	for i := 0; i < trafficWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				addr, err := target(ctx)
				var pod string
				if err == nil {
					pod, _, err = request(client, addr)
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					fails++
					lastErr = err
				} else {
					lats = append(lats, d)
					pods[pod] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st := loadStats{backends: len(pods), errors: fails}
	if len(lats) == 0 {
		return st, fmt.Errorf("no request answered: %v", lastErr)
	}
	if fails*100 > len(lats)+fails {
		return st, fmt.Errorf("%d of %d requests failed, last: %v", fails, len(lats)+fails, lastErr)
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	st.perSec = float64(len(lats)) / trafficFor.Seconds()
	st.p50 = float64(lats[(len(lats)-1)/2]) / float64(time.Millisecond)
	return st, nil
}

// request GETs / from addr over a connection made in the client's
// namespace and returns the answering pod's name (the web server's "pod:"
// line) and the status line.
func request(client *prober, addr string) (pod, status string, err error) {
	c, err := client.dial("tcp", addr, time.Second)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: bench\r\n\r\n"); err != nil {
		return "", "", err
	}
	return parseAnswer(bufio.NewReader(c))
}

// parseAnswer reads an HTTP/1.0 answer of the test web server: its status
// must be 200 and its body must name the pod ("pod: NAME").
func parseAnswer(r *bufio.Reader) (pod, status string, err error) {
	status, err = r.ReadString('\n')
	if err != nil {
		return "", "", fmt.Errorf("read status: %w", err)
	}
	status = strings.TrimSpace(status)
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		return "", status, fmt.Errorf("answer %q", status)
	}
	for {
		line, err := r.ReadString('\n')
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "pod: "); ok {
			return v, status, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", status, fmt.Errorf("answer without a pod line")
			}
			return "", status, err
		}
	}
}
