package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
	"kubelite/internal/memlimit"
	"kubelite/internal/securetest"
	"kubelite/internal/store/remote"
)

// proxyScenario: requests/s and MB/s through a portal IP in each mode, next
// to direct traffic to the backend in the same run: rounds of d each,
// portal and direct alternating in one namespace (ProxyResult); the ratio
// is the median of the rounds' ratios (WithPairedPeer), each comparing
// measurements seconds apart rather than runs a minute apart on a machine
// whose speed drifts.
func proxyScenario(ctx context.Context, env Env, o Options) ([]Figure, error) {
	var figs []Figure
	d, rounds := pick(o, 250*time.Millisecond, 2*time.Second), pick(o, 4, 8)
	for _, mode := range []struct {
		name   string
		target float64
	}{{"iptables", 0.95}, {"userspace", 0.5}} {
		r, err := env.ProxyThroughput(ctx, mode.name, d, rounds)
		if err != nil {
			return figs, fmt.Errorf("%s mode: %w", mode.name, err)
		}
		rf := NewFigure("", mode.name+": requests/s via portal IP", "1/s", r.PortalReqPerSec).
			WithPairedPeer("direct", r.PortalReqPerSec, r.DirectReqPerSec)
		mf := NewFigure("", mode.name+": MB/s via portal IP", "MB/s", r.PortalMBPerSec).
			WithPairedPeer("direct", r.PortalMBPerSec, r.DirectMBPerSec)
		t := fmt.Sprintf(">= %.0f%% of direct", mode.target*100)
		figs = append(figs, rf.WithTarget(t, rf.Ratio >= mode.target), mf.WithTarget(t, mf.Ratio >= mode.target))
	}
	return figs, nil
}

// rulesSync: 1,000 services x 3 endpoints programmed in one sync.
func rulesSync(ctx context.Context, env Env, o Options) ([]Figure, error) {
	ds, err := env.RulesSync(ctx, 1000, 3, pick(o, 3, 5))
	if err != nil {
		return nil, err
	}
	f := NewFigure("", "1,000 services x 3 endpoints: full sync", "ms", Durations(ds))
	return []Figure{f.WithTarget("< 1000 ms", f.Median < 1000)}, nil
}

// footprint: RSS of an idle master and minion as separate processes, of a
// master holding many pods, and the binary's size.
func footprint(ctx context.Context, env Env, o Options) ([]Figure, error) {
	bin := env.Binary()
	st, err := os.Stat(bin)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	m, err := startTempMaster(ctx, bin, "footprint", o.masterArgs("footprint")...)
	if err != nil {
		return nil, err
	}
	defer m.stop()
	dir, url := m.tmp, m.url
	kp, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	kubeletPort := kp[0]
	// The cluster runs as users run it: secure, the minion joined with the
	// master's token, the client with the admin kubeconfig.
	token, err := securetest.Token(ctx, bin, m.dir)
	if err != nil {
		return nil, err
	}
	minion := exec.CommandContext(ctx, bin, "minion", "--master="+strings.TrimPrefix(url, "http://"), "--token="+token,
		"--runtime=fake", "--proxy-mode=none",
		"--network=none", "--hostname_override=bench-minion", "--address=127.0.0.1", "--port="+strconv.Itoa(kubeletPort),
		"--root-dir="+dir+"/kubelet", "--config-dir="+dir+"/none")
	minionStart := time.Now()
	np, err := startQuiet(minion, dir+"/minion.log")
	if err != nil {
		return nil, err
	}
	defer np.stop()
	if err := waitHTTP(ctx, fmt.Sprintf("https://127.0.0.1:%d/healthz", kubeletPort), 30*time.Second); err != nil {
		return nil, fmt.Errorf("minion: %w (log %s)", err, tail(dir+"/minion.log"))
	}
	time.Sleep(3 * time.Second) // idle means idle for a while: let start-up garbage be collected
	mIdle, err := rssMB(m.pid())
	if err != nil {
		return nil, err
	}
	ep, err := securetest.FromKubeconfig(m.kubeconfig)
	if err != nil {
		return nil, err
	}
	cl := remote.NewEndpoint(ep)
	pods := pick(o, 3000, 150000) // the size: its target is 10 KB a pod holding 150,000
	list := make([]*api.Pod, pods)
	for i := range list {
		list[i] = benchPod(fmt.Sprintf("fp%06d", i), map[string]string{"bench": "footprint"})
		list[i].NodeSelector = map[string]string{"bench": "nowhere"}       // stay unbound: measure the master, not the minion
		list[i].Namespace = fmt.Sprintf("footprint-%d", i%scaleNamespaces) // as the scale row, under the per-namespace limit
	}
	if err := createMany(ctx, cl, list, 16); err != nil {
		return nil, err
	}
	mBurst, err := rssMB(m.pid())
	if err != nil {
		return nil, err
	}
	// Holding, not taking: the master's memory limit lets the heap grow while
	// a burst of creates makes collections costly and returns the burst's
	// garbage once its allocations have stopped for memlimit.QuietWindow, so
	// the figure is the RSS once it has stopped falling after that.
	mFull, err := settledRSS(ctx, m.pid(), memlimit.QuietWindow+8*time.Second, memlimit.QuietWindow+40*time.Second)
	if err != nil {
		return nil, err
	}
	mFile, err := statusMB(m.pid(), "RssFile:")
	if err != nil {
		return nil, err
	}
	// The minion, idle all along (its pods stay unbound), is read last: a
	// role lets go of the binary's start-up pages once it has started
	// (internal/exepages), and what its periodic work maps again comes
	// back over its first minutes, so a reading soon after its start
	// would be too low.
	nIdle, err := rssMB(minion.Process.Pid)
	if err != nil {
		return nil, err
	}
	nAge := time.Since(minionStart).Seconds()
	mi := NewFigure("", "idle master RSS (embedded etcd)", "MB", Sample{mIdle})
	ni := NewFigure("", "idle minion RSS (fake runtime, no proxy)", "MB", Sample{nIdle})
	bs := float64(st.Size()) / 1e6
	bf := NewFigure("", "binary size", "MB", Sample{bs})
	perPod := NewFigure("", "master RSS per pod held (RSS / pods)", "KB", Sample{mFull * 1024 / float64(pods)})
	return []Figure{
		mi.WithTarget("< 80 MB", mIdle < 80),
		ni.WithTarget("< 30 MB", nIdle < 30),
		NewFigure("", "idle minion: its RSS read this long after its start", "s", Sample{nAge}),
		NewFigure("", fmt.Sprintf("master RSS as the last of %d pods is created", pods), "MB", Sample{mBurst}),
		NewFigure("", fmt.Sprintf("master RSS holding %d pods (settled)", pods), "MB", Sample{mFull}),
		perPod.WithTarget("<= 10 KB", perPod.Median <= 10),
		NewFigure("", "master RSS growth per pod (from idle)", "KB", Sample{(mFull - mIdle) * 1024 / float64(pods)}),
		NewFigure("", fmt.Sprintf("of the master's RSS holding %d pods, file-backed (etcd's mapped database, the binary)", pods), "MB", Sample{mFile}),
		bf.WithTarget("< 40 MB", bs < 40),
	}, nil
}

// FreeAddrs returns n loopback host:ports nobody listens on right now, all
// different: each is held until all are chosen (one closed at once may be
// handed out again by the next call: a bench master once got its etcd
// client and peer ports equal and failed to listen).
func FreeAddrs(n int) ([]string, error) {
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, n)
	for i, p := range ports {
		addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return addrs, nil
}

// freePorts is FreeAddrs's ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startQuiet(cmd *exec.Cmd, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// stop interrupts the process (a clean shutdown) and kills it after 15 s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	// A health probe sends no credential: the server's certificate is not
	// what it checks.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: endpoint.Endpoint{TLS: &tls.Config{InsecureSkipVerify: true}}.NewTransport()}
	for {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy within %s", url, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func rssMB(pid int) (float64, error) { return statusMB(pid, "VmRSS:") }

// settledRSS samples pid's RSS once a second until, after at least min,
// four samples in a row are within 1% of each other, or until max; it
// returns the last sample.
func settledRSS(ctx context.Context, pid int, min, max time.Duration) (float64, error) {
	var last []float64
	start := time.Now()
	for {
		v, err := rssMB(pid)
		if err != nil {
			return 0, err
		}
		last = append(last, v)
		if n := len(last); n >= 4 && time.Since(start) >= min {
			lo, hi := slices.Min(last[n-4:]), slices.Max(last[n-4:])
			if hi-lo <= hi/100 {
				return v, nil
			}
		}
		if time.Since(start) >= max {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// statusMB reads a kB field of /proc/PID/status (VmRSS:, RssFile:...) in MB.
func statusMB(pid int, field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss of %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
