package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
	"kubelite/internal/memlimit"
	"kubelite/internal/securetest"
	"kubelite/internal/store"
	"kubelite/internal/store/remote"
)

// Full size of the scale scenario; --scale multiplies both.
const (
	scaleMinions = 5000
	scalePods    = 150000
)

// scaleNamespaces spreads the pods over namespaces scale-0..scale-9, as a
// cluster of 150,000 pods holds them: the registry admits at most
// registry.DefaultMaxObjectsPerNamespace (50,000) objects of a kind in one
// namespace, and within 10% of that counts the namespace in etcd on every
// create. 15,000 a namespace at full size stays clear of both.
const scaleNamespaces = 10

// fleetGOGC is this process's GOGC while the scale scenario's hollow fleet
// runs in it.
const fleetGOGC = 400

// scaleSizes returns the scale scenario's minions and pods: the full size
// times o.Scale (default 1, or 0.01 with --quick), at least 1 of each.
func scaleSizes(o Options) (minions, pods int) {
	s := o.Scale
	if s <= 0 {
		s = pick(o, 0.01, 1.0)
	}
	return max(1, int(scaleMinions*s)), max(1, int(scalePods*s))
}

// childMaster is `kubelite master --etcd-embed` in a process of its own,
// secure as users run it, so that its RSS is the master's alone.
type childMaster struct {
	p          *proc
	url        string // https://127.0.0.1:port (plain HTTP serves only reads from this host)
	dir        string // its --data-dir
	log        string
	kubeconfig string
	tmp        string // removed by stop, when the master made it
}

// startTempMaster is startChildMaster in a new temporary directory named
// after scenario; stop removes the directory with the master's data.
func startTempMaster(ctx context.Context, bin, scenario string, extra ...string) (*childMaster, error) {
	dir, err := os.MkdirTemp("", "kubelite-bench-"+scenario+"-")
	if err != nil {
		return nil, err
	}
	m, err := startChildMaster(ctx, bin, dir, extra...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	m.tmp = dir
	return m, nil
}

// startChildMaster starts a master under dir with extra flags and waits
// until it is healthy.
func startChildMaster(ctx context.Context, bin, dir string, extra ...string) (*childMaster, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("master dir: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	port, etcdPort, peerPort := ports[0], ports[1], ports[2]
	args := append([]string{"master", "--etcd-embed", "--address=127.0.0.1",
		"--port=" + strconv.Itoa(port), "--data-dir=" + dir + "/master", "--config-dir=" + dir + "/none",
		"--etcd-addr=127.0.0.1:" + strconv.Itoa(etcdPort), "--etcd-peer-addr=127.0.0.1:" + strconv.Itoa(peerPort)}, extra...)
	m := &childMaster{dir: dir + "/master", log: dir + "/master.log", kubeconfig: dir + "/master/admin.kubeconfig",
		url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p, err := startQuiet(exec.CommandContext(ctx, bin, args...), m.log)
	if err != nil {
		return nil, err
	}
	m.p = p
	if err := waitHTTP(ctx, m.url+"/healthz", 60*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("master: %w (log %s)", err, tail(m.log))
	}
	return m, nil
}

func (m *childMaster) pid() int { return m.p.cmd.Process.Pid }

// stop stops the master and removes its temporary directory, if any.
func (m *childMaster) stop() {
	m.p.stop()
	if m.tmp != "" {
		os.RemoveAll(m.tmp)
	}
}

// client returns a store speaking to the master's API with the admin
// kubeconfig (TLS and the admin token, unless the master is --insecure).
func (m *childMaster) client() (store.Store, error) { return m.clientIdle(0) }

// clientIdle is client keeping up to idle connections open between
// requests (0: the transport's usual 32). The hollow fleet
// shares one store where real minions each hold their own kept-alive
// connection; with a transport's usual 32 idle connections, the fleet's
// concurrent status writes and heartbeats opened, and TLS-handshook on both
// sides, a new connection for most requests (14% of the master's CPU in a
// 7,500-pod run).
func (m *childMaster) clientIdle(idle int) (store.Store, error) {
	ep, err := endpoint.Plain(m.url) // --insecure: no kubeconfig, plain HTTP
	if _, serr := os.Stat(m.kubeconfig); serr == nil {
		ep, err = securetest.FromKubeconfig(m.kubeconfig)
	}
	if err != nil {
		return nil, err
	}
	if idle <= 0 {
		return remote.NewEndpoint(ep), nil
	}
	tr := ep.NewTransport()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = idle, idle
	return remote.NewWithTransport(ep, ep.Wrap(tr)), nil
}

// scale: the 150,000 pods on 5,000 hollow minions (times --scale):
// a master in a process of its own (scheduler and controllers included),
// the hollow minions in this one through the API, as remote minions are.
// From the first create to every pod Running; pods/s; and the master's RSS
// per pod: its RSS holding them less its RSS before the first pod.
func scaleScenario(ctx context.Context, env Env, o Options) ([]Figure, error) {
	minions, pods := scaleSizes(o)
	m, err := startTempMaster(ctx, env.Binary(), "scale", o.masterArgs("scale")...)
	if err != nil {
		return nil, err
	}
	defer m.stop()
	// Idle connections for the 32 writers, every minion's heartbeat and
	// some status writes per minion at once.
	st, err := m.clientIdle(32 + 4*minions)
	if err != nil {
		return nil, err
	}
	// The hollow fleet shares this process: 5,000 kubelets' caches on one
	// heap, where each real minion's kubelet collects a small heap of its
	// own. With GOGC's 100 the fleet's collector took a fifth of this
	// process's CPU, on the core the master needs too; a simulation's
	// artefact, not a minion's cost, so this process collects less often
	// while the scenario runs (the master keeps its own settings).
	defer debug.SetGCPercent(debug.SetGCPercent(fleetGOGC))
	fleet, err := env.HollowOn(ctx, st, "scale", minions)
	if err != nil {
		return nil, fmt.Errorf("%d hollow minions: %w (master log %s)", minions, err, tail(m.log))
	}
	defer fleet.Close()
	time.Sleep(2 * time.Second) // the minions' registration settled: the master's RSS before any pod
	before, err := rssMB(m.pid())
	if err != nil {
		return nil, err
	}
	// The counter watches only Running pods: one event a pod reaches it
	// instead of three (create, bind, status), all decoded in this process,
	// which the hollow minions share.
	onlyRunning, err := api.ParseSelector(api.FieldStatusPhase + "=" + string(api.PodPhaseRunning))
	if err != nil {
		return nil, err
	}
	c := newCounter(st, store.ListOptions{Fields: onlyRunning}, running)
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	list := make([]*api.Pod, pods)
	for i := range list {
		list[i] = benchPod(fmt.Sprintf("sc%06d", i), map[string]string{"bench": "scale", "group": fmt.Sprint(i % 10)})
		list[i].Namespace = fmt.Sprintf("scale-%d", i%scaleNamespaces)
	}
	progress(o, "  scale: %d pods onto %d hollow minions", pods, minions)
	// CPU per pod, the master's and this process's (the hollow fleet, the
	// writers, the counter), from the first create to the last pod Running:
	// what the row's time is made of on a machine whose disk stalls vary
	// it from run to run.
	mCPU0, err := cpuTime(m.pid())
	if err != nil {
		return nil, err
	}
	fCPU0 := processCPU()
	t0 := time.Now()
	if err := createMany(ctx, st, list, 32); err != nil {
		return nil, fmt.Errorf("%w (master log %s)", err, tail(m.log))
	}
	progress(o, "  scale: created in %s", time.Since(t0).Round(time.Second))
	within := max(5*time.Minute, time.Duration(pods)*10*time.Millisecond)
	if err := c.waitFor(ctx, within, "all pods Running", func(n int) bool { return n >= pods }); err != nil {
		return nil, fmt.Errorf("%w (master log %s)", err, tail(m.log))
	}
	took := time.Since(t0)
	mCPU, err := cpuTime(m.pid())
	if err != nil {
		return nil, err
	}
	mCPU -= mCPU0
	fCPU := processCPU() - fCPU0
	if counts, err := m.requestCounts(ctx); err == nil {
		o.addNote(requestNote(counts, pods))
	} else {
		o.addNote(err.Error())
	}
	// Holding, as the footprint row measures it: once the burst's garbage
	// has been returned (internal/memlimit), with the minions still
	// heartbeating.
	after, err := settledRSS(ctx, m.pid(), memlimit.QuietWindow+8*time.Second, memlimit.QuietWindow+40*time.Second)
	if err != nil {
		return nil, err
	}
	// What of it is etcd's database mapped (file pages the kernel may take
	// back): the pods and the last CompactionRetention revisions of their
	// history (internal/etcd compacts as the row writes).
	file, err := statusMB(m.pid(), "RssFile:")
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s pods on %s hollow minions", thousands(pods), thousands(minions))
	tf := NewFigure("", name+": create to all Running", "s", Sample{took.Seconds()})
	rf := NewFigure("", name+": pods/s, create to Running", "pods/s", Sample{float64(pods) / took.Seconds()})
	mf := NewFigure("", name+": master RSS holding them (settled)", "MB", Sample{after})
	pf := NewFigure("", name+": master RSS per pod (growth from none)", "KB", Sample{(after - before) * 1024 / float64(pods)})
	perPod := func(d time.Duration) Sample { return Sample{float64(d.Microseconds()) / float64(pods)} }
	figs := []Figure{tf, rf, mf, pf,
		NewFigure("", name+": of the master's RSS holding them, file-backed (etcd's mapped database, the binary)", "MB", Sample{file}),
		NewFigure("", name+": master CPU per pod (user+system, create to Running)", "us", perPod(mCPU)),
		NewFigure("", name+": hollow fleet's CPU per pod (this process: kubelets, writers)", "us", perPod(fCPU)),
	}
	if pods == scalePods {
		figs[0] = tf.WithTarget("< 180 s", took < 3*time.Minute)
		figs[3] = pf.WithTarget("<= 10 KB", (after-before)*1024/float64(pods) <= 10)
	}
	return figs, nil
}

// progress writes a line to the run's progress writer, if any.
func progress(o Options, format string, args ...any) {
	if o.progress != nil {
		fmt.Fprintf(o.progress, format+"\n", args...)
	}
}

// thousands renders n with comma separators (150000 -> "150,000").
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
