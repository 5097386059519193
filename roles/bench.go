package roles

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/bench"
	"kubelite/internal/bench/netbench"
	"kubelite/internal/component"
	"kubelite/internal/controller/endpoints"
	"kubelite/internal/controller/node"
	"kubelite/internal/controller/replication"
	"kubelite/internal/etcd"
	"kubelite/internal/images"
	"kubelite/internal/kubelet"
	"kubelite/internal/logging"
	"kubelite/internal/registry"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/scheduler"
	"kubelite/internal/store"
	storeetcd "kubelite/internal/store/etcd"
)

// BenchEnv implements bench.Env: each StartMaster wires a fresh master (the
// master role's components over an embedded etcd in a temporary directory,
// the API on a free loopback port), hollow fleets run the kubelet code on
// fake runtimes inside this process, and the network scenarios run in a
// network namespace of their own (internal/bench/netbench).
type BenchEnv struct {
	// Bin is the static kubelite executable: footprint runs it, pod-startup
	// builds images and the pod infra container from it, netbench re-executes
	// it in a private network namespace.
	Bin string
	// DockerEndpoint is the engine DockerKubelet uses (default DOCKER_HOST or
	// the local socket).
	DockerEndpoint string
	// TempDir holds the masters' data directories (default os.TempDir()).
	TempDir string
}

var _ bench.Env = (*BenchEnv)(nil)

// Binary implements bench.Env.
func (e *BenchEnv) Binary() string { return e.Bin }

// ProxyThroughput implements bench.Env.
func (e *BenchEnv) ProxyThroughput(ctx context.Context, mode string, d time.Duration, rounds int) (bench.ProxyResult, error) {
	return netbench.ProxyThroughput(ctx, e.Bin, mode, d, rounds)
}

// RulesSync implements bench.Env.
func (e *BenchEnv) RulesSync(ctx context.Context, services, endpoints, runs int) ([]time.Duration, error) {
	return netbench.RulesSync(ctx, e.Bin, services, endpoints, runs)
}

// StartMaster implements bench.Env. It returns once every component has
// started (etcd serving, the API listening, the loops' caches loaded).
func (e *BenchEnv) StartMaster(ctx context.Context, o bench.MasterOptions) (bench.Master, error) {
	dir, err := os.MkdirTemp(e.TempDir, "kubelite-bench-")
	if err != nil {
		return nil, fmt.Errorf("master data dir: %w", err)
	}
	m := &benchMaster{dir: dir, env: e, done: make(chan error, 1)}
	if err := m.start(ctx, o); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// benchMaster is one running master of a bench scenario.
type benchMaster struct {
	env *BenchEnv
	dir string
	url string
	// put writes straight to etcd; closeClient closes the etcd client.
	put         func(ctx context.Context, key, val string) error
	closeClient func() error
	reg         *registry.Registry
	cancel      context.CancelFunc
	done        chan error
	grace       time.Duration // node grace period: hollow heartbeats come often enough

	mu        sync.Mutex
	closers   []func() // fleets and kubelets, stopped before the master
	closeOnce sync.Once
	closeErr  error
}

func (m *benchMaster) start(ctx context.Context, o bench.MasterOptions) error {
	addrs, err := bench.FreeAddrs(3)
	if err != nil {
		return err
	}
	log := func(component string) *logrus.Entry {
		return logging.FromContext(ctx).WithField("component", component)
	}
	embedded := etcd.NewEmbedded(etcd.Config{Log: log("etcd"), DataDir: m.dir, ClientAddr: addrs[0], PeerAddr: addrs[1]})
	cli, err := etcd.NewClientWithLog(embedded.Endpoints(), nil, log("etcd-client"))
	if err != nil {
		return err
	}
	// The raw-put peer is a network client of the embedded etcd (the raw
	// etcd a user's client sees); the master's store calls it in process,
	// as roles.Master wires it.
	m.put = func(ctx context.Context, key, val string) error { _, err := cli.Put(ctx, key, val); return err }
	storeCli := embedded.LocalClient(cli)
	m.closeClient = func() error {
		_ = storeCli.Close() // context.Canceled, always
		return cli.Close()
	}
	m.grace = o.NodeGrace
	leaseTTL := o.NodeGrace
	if leaseTTL <= 0 {
		leaseTTL = node.DefaultGracePeriod
	}
	leases := storeetcd.NewMinionLeases(storeCli, leaseTTL, log("minion-leases"))                                 // the registry renews, the node controller watches
	reg, err := registry.New(storeetcd.New(storeCli).WithLog(log("store")), registry.Config{Log: log("registry"), // the default portal net
		Heartbeats: leases})
	if err != nil {
		return fmt.Errorf("bench master: %w", err)
	}
	m.reg = reg
	host, portS, _ := net.SplitHostPort(addrs[2])
	port, _ := strconv.Atoi(portS)
	srv, err := apiserver.New(apiserver.Config{
		Log:     log("apiserver"),
		Address: host, Port: port, Store: reg, Version: serverVersion(),
		HealthChecks: map[string]apiserver.HealthCheck{
			"etcd-0": func(ctx context.Context) error { return etcd.Health(ctx, cli) },
		},
	})
	if err != nil {
		return fmt.Errorf("bench master: %w", err)
	}
	m.url = "http://" + addrs[2]
	// The client closes before etcd stops: etcd's graceful stop waits
	// seconds for open client connections.
	client := component.Func{N: "etcd-client", F: func(ctx context.Context, started func()) error {
		started()
		<-ctx.Done()
		return m.closeClient()
	}}
	comps := []component.Component{embedded, client, reg, srv}
	if o.Scheduler {
		comps = append(comps, scheduler.New(scheduler.Config{Log: log("scheduler"), Store: reg}))
	}
	if o.Controllers {
		nc, err := node.New(node.Config{Log: log("node-controller"), Store: reg, GracePeriod: o.NodeGrace, EvictionTimeout: o.PodEviction,
			Leases: leases})
		if err != nil {
			return fmt.Errorf("bench master: %w", err)
		}
		comps = append(comps, replication.New(replication.Config{Log: log("replication-manager"), Store: reg}),
			endpoints.New(endpoints.Config{Log: log("endpoints-controller"), Store: reg}), nc)
	}
	return m.run(ctx, comps)
}

// run starts comps with the roles' runner in the background and waits until
// all have started or one failed.
func (m *benchMaster) run(ctx context.Context, comps []component.Component) error {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	started := make(chan struct{})
	n := 0
	r := component.Runner{StopTimeout: 20 * time.Second, OnStarted: func(string) {
		if n++; n == len(comps) {
			close(started)
		}
	}}
	go func() { m.done <- r.Run(rctx, comps...) }()
	select {
	case <-started:
		return nil
	case err := <-m.done:
		m.done <- err // Close reads it again
		if err == nil {
			err = errors.New("stopped while starting")
		}
		return fmt.Errorf("start bench master: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *benchMaster) URL() string        { return m.url }
func (m *benchMaster) Store() store.Store { return m.reg }
func (m *benchMaster) onClose(f func()) {
	m.mu.Lock()
	m.closers = append(m.closers, f)
	m.mu.Unlock()
}

// RawPut writes straight to etcd.
func (m *benchMaster) RawPut(ctx context.Context, key string, val []byte) error {
	if err := m.put(ctx, key, string(val)); err != nil {
		return fmt.Errorf("raw put %s: %w", key, err)
	}
	return nil
}

// Close stops fleets and kubelets, then the master, and removes its data.
func (m *benchMaster) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		closers := m.closers
		m.closers = nil
		m.mu.Unlock()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		if m.cancel != nil {
			m.cancel()
			if err := <-m.done; err != nil {
				m.closeErr = fmt.Errorf("stop bench master: %w", err)
			}
		}
		if m.closeClient != nil {
			// Usually closed already by the etcd-client component; not when
			// the master failed before it started. A second close is harmless.
			_ = m.closeClient()
		}
		if err := os.RemoveAll(m.dir); err != nil && m.closeErr == nil {
			m.closeErr = err
		}
	})
	return m.closeErr
}

// hollowFleet is a kubelet.Fleet running in the background.
type hollowFleet struct {
	f      *kubelet.Fleet
	log    *logrus.Entry
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func (h *hollowFleet) Stop(names ...string) { h.f.Stop(names...) }

func (h *hollowFleet) Close() {
	h.once.Do(func() {
		h.cancel()
		if err := <-h.done; err != nil {
			h.log.WithError(err).Warn("hollow fleet stopped with an error")
		}
	})
}

// hollowHeartbeat is how often hollow minions post heartbeats: the
// kubelet's default (as real minions do, for the master's default grace
// period), or often enough for a shorter one.
func hollowHeartbeat(grace time.Duration) time.Duration {
	hb := kubelet.DefaultHeartbeatInterval
	if grace > 0 && grace/4 < hb {
		hb = max(grace/4, 100*time.Millisecond)
	}
	return hb
}

// Hollow starts n hollow minions on the master's in-process store and
// returns once all are registered.
func (m *benchMaster) Hollow(ctx context.Context, prefix string, n int) (bench.Fleet, error) {
	h, err := startFleet(ctx, m.reg, prefix, n, hollowHeartbeat(m.grace))
	if err != nil {
		return nil, err
	}
	m.onClose(h.Close)
	return h, nil
}

// HollowOn implements bench.Env: n hollow minions on st (a master in
// another process, through its API), closed by the caller.
func (e *BenchEnv) HollowOn(ctx context.Context, st store.Store, prefix string, n int) (bench.Fleet, error) {
	return startFleet(ctx, st, prefix, n, hollowHeartbeat(0))
}

// startFleet starts n hollow minions on st and returns once all are
// registered (within 2 minutes, or 50 ms per minion if longer: a loaded machine registers slowly).
func startFleet(ctx context.Context, st store.Store, prefix string, n int, heartbeat time.Duration) (*hollowFleet, error) {
	log := logging.FromContext(ctx).WithField("component", "hollow-fleet")
	f, err := kubelet.NewFleet(kubelet.FleetConfig{Log: log, Store: st, Count: n, Prefix: prefix + "-",
		HeartbeatInterval: heartbeat, SyncFrequency: time.Minute})
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &hollowFleet{f: f, log: log, cancel: cancel, done: make(chan error, 1)}
	started := make(chan struct{})
	go func() { h.done <- f.Run(fctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-h.done:
		h.done <- err
		h.Close()
		return nil, fmt.Errorf("hollow fleet: %w", err)
	case <-ctx.Done():
		h.Close()
		return nil, ctx.Err()
	}
	if err := waitMinions(ctx, st, prefix+"-", n, max(2*time.Minute, time.Duration(n)*50*time.Millisecond)); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// busy reports an API too loaded to answer now (429, 503, 504): thousands
// of hollow minions registering at once fill its in-flight cap.
func busy(err error) bool {
	var se *api.StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Status.Code {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// waitMinions waits until n minions named prefix* are registered in st; a
// busy API is asked again until then.
func waitMinions(ctx context.Context, st store.Store, prefix string, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		ms, _, err := st.List(ctx, api.Minions, store.ListOptions{})
		if err != nil && !busy(err) {
			return fmt.Errorf("list minions: %w", err)
		}
		got := 0
		for _, o := range ms {
			if len(o.Meta().ID) >= len(prefix) && o.Meta().ID[:len(prefix)] == prefix {
				got++
			}
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("list minions: %w", err)
			}
			return fmt.Errorf("%d of %d minions %s* registered within %s", got, n, prefix, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Names and subnet of the pod network of a bench's kubelet on Docker
// (bench.PodNetwork): its own, beside a minion's kubelite-pods. Fixed, so
// that a run killed before its clean-up leaves one network the next run
// reuses.
const (
	benchPodNetwork = "kubelite-bench-pods"
	benchPodBridge  = "kl-bench"
	benchPodCIDR    = "10.254.254.0/24"
)

// DockerKubelet starts one real kubelet on the local engine, with the
// images pods use built from the kubelite binary, its pods on nw. For
// bench.PodNetwork it assigns the minion benchPodCIDR once it registered,
// as a master's node controller assigns a podCIDR. stop stops it and
// removes every container it made, and the pod network.
func (m *benchMaster) DockerKubelet(ctx context.Context, name string, nw bench.DockerNetwork) (func() error, error) {
	endpoint := m.env.DockerEndpoint
	if endpoint == "" {
		endpoint = os.Getenv("DOCKER_HOST")
	}
	if endpoint == "" {
		endpoint = config.DefaultDockerEndpoint
	}
	rt, err := docker.New(endpoint)
	if err != nil {
		return nil, err
	}
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	cpus, mem, err := rt.Info(pctx)
	pcancel()
	if err != nil {
		_ = rt.Close()
		return nil, fmt.Errorf("docker at %s: %w", endpoint, err)
	}
	bctx, bcancel := context.WithTimeout(ctx, 2*time.Minute)
	err = images.Build(bctx, rt, m.env.Bin, images.Pause, images.WebserverV1)
	bcancel()
	if err != nil {
		_ = rt.Close()
		return nil, err
	}
	root := filepath.Join(m.dir, "kubelet-"+name)
	cfg := kubelet.Config{Log: logging.FromContext(ctx).WithField("component", "kubelet"), NodeName: name, HostIP: "127.0.0.1", Store: m.reg, Runtime: rt,
		RootDir: root, InfraBinary: m.env.Bin, Capacity: api.Capacity{CPU: int64(cpus) * 1000, Memory: mem},
		HeartbeatInterval: time.Second}
	if nw == bench.PodNetwork {
		cfg.Network, cfg.PodNetwork, cfg.PodBridge = kubelet.NetworkBridge, benchPodNetwork, benchPodBridge
	}
	kl, err := kubelet.New(cfg)
	if err != nil {
		_ = rt.Close()
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- kl.Run(kctx, func() { close(started) }) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				stopErr = fmt.Errorf("kubelet %s: %w", name, err)
			}
			if err := removeMinionContainers(rt, name); err != nil && stopErr == nil {
				stopErr = err
			}
			if nw == bench.PodNetwork {
				rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
				if err := rt.RemoveNetwork(rctx, benchPodNetwork); err != nil && stopErr == nil {
					stopErr = fmt.Errorf("remove network %s: %w", benchPodNetwork, err)
				}
				rcancel()
			}
			_ = rt.Close()
		})
		return stopErr
	}
	select {
	case <-started:
	case err := <-done:
		done <- err
		_ = stop()
		return nil, fmt.Errorf("kubelet %s: %w", name, err)
	case <-ctx.Done():
		_ = stop()
		return nil, ctx.Err()
	}
	m.onClose(func() { _ = stop() })
	if err := waitMinions(ctx, m.reg, name, 1, 30*time.Second); err != nil {
		_ = stop()
		return nil, err
	}
	if nw == bench.PodNetwork {
		if err := assignPodCIDR(ctx, m.reg, name, benchPodCIDR); err != nil {
			_ = stop()
			return nil, err
		}
	}
	return stop, nil
}

// assignPodCIDR sets minion name's podCIDR, again on a conflict with the
// kubelet's own writes of the minion.
func assignPodCIDR(ctx context.Context, st store.Store, name, cidr string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		o, err := st.Get(ctx, api.Minions, "", name)
		if err != nil {
			return fmt.Errorf("assign podCIDR to %s: %w", name, err)
		}
		mi, ok := o.(*api.Minion)
		if !ok {
			return fmt.Errorf("assign podCIDR to %s: got %T", name, o)
		}
		mi = api.Copy(mi)
		mi.PodCIDR = cidr
		_, err = st.Update(ctx, mi)
		if err == nil {
			return nil
		}
		if !api.IsConflict(err) {
			return fmt.Errorf("assign podCIDR to %s: %w", name, err)
		}
	}
}

// removeMinionContainers removes every container a kubelet named minion made.
func removeMinionContainers(rt runtime.Runtime, minion string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := rt.List(ctx, runtime.ListOptions{Labels: map[string]string{runtime.LabelMinion: minion}})
	if err != nil {
		return fmt.Errorf("list containers of %s: %w", minion, err)
	}
	// A minute for each removal, four at once: a loaded engine takes a
	// second or more per removal, and 100 in a row outlast one minute.
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, c := range cs {
		if c.Labels[runtime.LabelMinion] != minion {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
			defer rcancel()
			if err := rt.Remove(rctx, c.ID); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", c.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
