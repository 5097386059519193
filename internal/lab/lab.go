package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
)

// Host is one machine of the lab: a network namespace with one address on the
// lab's bridge. Minions also have an Engine.
type Host struct {
	Index  int    // position in Hosts(): the masters first (one master: 0, minion i: i)
	Minion int    // i for minion i, 0 for a master
	Name   string // "master" (or "master1", ... with several), "minion1", ...
	Addr   netip.Addr
	NetNS  string // the namespace's name (ip netns)
	NSPath string // /run/netns/<NetNS>
	Veth   string // the host-side end of the host's link into the bridge
	// Hostname, when set (labs of several masters), is the host name the
	// processes the lab runs on this host see (a UTS namespace of their own).
	Hostname string
	Engine   *Engine
}

// nsenter is the command prefix running argv on h: in its network
// namespace, and with its own host name when it has one (unshare --uts, then
// hostname; every step execs, so the pid is the command's own).
func (h *Host) nsenter(argv []string) []string {
	pre := []string{"nsenter", "--net=" + h.NSPath, "--"}
	if h.Hostname != "" {
		pre = append(pre, "unshare", "--uts", "--", "sh", "-c", `hostname "$0" && exec "$@"`, h.Hostname)
	}
	return append(pre, argv...)
}

// Engine is a minion's own Docker Engine.
type Engine struct {
	DataRoot, ExecRoot, Socket, PidFile, Config, Log string
	Bridge                                           netip.Prefix // docker0's address (--bip)
	CgroupParent                                     string
	proc                                             *Process
}

// DockerHost is the value for DOCKER_HOST or docker -H reaching this engine.
func (e *Engine) DockerHost() string { return "unix://" + e.Socket }

// Lab is a running (or to be started) set of hosts. Its methods are safe for
// concurrent use.
type Lab struct {
	p   *plan
	run Runner
	log *logrus.Entry

	mu     sync.Mutex
	procs  []*Process
	unlock func() // releases the lab's lock; nil while not held
}

// New checks cfg and plans the lab; nothing is created until Up.
func New(cfg Config) (*Lab, error) {
	p, err := newPlan(cfg)
	if err != nil {
		return nil, err
	}
	return &Lab{p: p, run: ExecRunner{}, log: logrus.WithFields(logrus.Fields{"component": "lab", "lab": p.cfg.Name})}, nil
}

// Config returns the lab's configuration with its defaults filled in.
func (l *Lab) Config() Config { return l.p.cfg }

// Master is the master host (the first one, master1, of several).
func (l *Lab) Master() *Host { return l.p.hosts[0] }

// Masters are the master hosts, master1 first.
func (l *Lab) Masters() []*Host { return l.p.hosts[:l.p.cfg.Masters] }

// MasterN returns master i (1-based), or nil.
func (l *Lab) MasterN(i int) *Host {
	if i < 1 || i > l.p.cfg.Masters {
		return nil
	}
	return l.p.hosts[i-1]
}

// Minions are the minion hosts, minion1 first.
func (l *Lab) Minions() []*Host { return l.p.hosts[l.p.cfg.Masters:] }

// Minion returns minion i (1-based), or nil.
func (l *Lab) Minion(i int) *Host {
	if i < 1 || i > l.p.cfg.Minions {
		return nil
	}
	return l.p.hosts[l.p.cfg.Masters-1+i]
}

// Hosts are all hosts, the masters first.
func (l *Lab) Hosts() []*Host { return l.p.hosts }

// Gateway is the host machine's address on the lab bridge.
func (l *Lab) Gateway() netip.Addr { return l.p.gateway.Addr() }

// Up takes the lab's lock (see Cleanup), removes the leftovers of any
// earlier lab of the same name, then builds
// the firewall, the bridge, the hosts' namespaces and links, and starts and
// waits for every minion's engine. On failure it tears down what it made.
func (l *Lab) Up(ctx context.Context) (err error) {
	start := time.Now()
	l.mu.Lock()
	if l.unlock == nil {
		unlock, err := lockLab(ctx, l.p.cfg.Name)
		if err != nil {
			l.mu.Unlock()
			return fmt.Errorf("lab %s up: %w", l.p.cfg.Name, err)
		}
		l.unlock = unlock
	}
	l.mu.Unlock()
	if err := l.cleanup(ctx); err != nil {
		return fmt.Errorf("lab %s up: clear leftovers: %w", l.p.cfg.Name, err)
	}
	defer func() {
		if err != nil {
			if derr := l.Down(context.WithoutCancel(ctx)); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	c := l.p.cfg
	for _, d := range []string{c.Root, c.RunDir, c.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("lab %s up: %w", c.Name, err)
		}
	}
	// The namespaces' bridged traffic (a minion's pods on its Docker bridge)
	// must pass their iptables, or service portals fail between pods of one
	// minion: that needs br_netfilter.
	const brnf = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if _, err := os.Stat(brnf); err != nil {
		if _, merr := l.run.Run(ctx, "modprobe", "br_netfilter"); merr != nil {
			return fmt.Errorf("lab %s up: br_netfilter not loaded (%s missing) and cannot be: %w", c.Name, brnf, merr)
		}
	}
	for _, cmd := range append(l.p.firewall(), l.p.network()...) {
		if _, err := l.run.Run(ctx, cmd...); err != nil {
			return fmt.Errorf("lab %s up: %w", c.Name, err)
		}
	}
	errs := make(chan error, len(l.Minions()))
	for _, h := range l.Minions() {
		go func() { errs <- l.startEngine(ctx, h) }()
	}
	var all []error
	for range l.Minions() {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return fmt.Errorf("lab %s up: %w", c.Name, err)
	}
	l.log.WithField("took", time.Since(start).Round(time.Millisecond)).Info("lab up")
	return nil
}

// Down stops every process the lab started and removes everything the lab
// made: containers, engines, mounts, directories, namespaces, links, the
// bridge and the firewall chain. It is Cleanup for this lab's paths; it
// releases the lock Up took.
func (l *Lab) Down(ctx context.Context) error {
	start := time.Now()
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if err := p.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.cleanup(ctx); err != nil {
		errs = append(errs, err)
	}
	l.mu.Lock()
	if l.unlock != nil {
		l.unlock()
		l.unlock = nil
	}
	l.mu.Unlock()
	l.log.WithField("took", time.Since(start).Round(time.Millisecond)).Info("lab down")
	return errors.Join(errs...)
}

func (l *Lab) cleanup(ctx context.Context) error {
	c := l.p.cfg
	return cleanup(ctx, l.run, c.Name, []string{c.Root, c.RunDir, c.LogDir})
}

// startEngine starts h's dockerd and waits until it answers.
func (l *Lab) startEngine(ctx context.Context, h *Host) error {
	e := h.Engine
	for _, d := range []string{filepath.Dir(e.Socket), e.DataRoot, e.ExecRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("start engine on %s: %w", h.Name, err)
		}
	}
	// Its own (empty) daemon.json: the machine's /etc/docker/daemon.json may
	// set data-root or hosts, which conflict with the flags.
	if err := os.WriteFile(e.Config, []byte("{}\n"), 0o644); err != nil {
		return fmt.Errorf("start engine on %s: %w", h.Name, err)
	}
	if e.proc == nil {
		argv := l.p.dockerd(h)[3:] // without the nsenter prefix, which start adds
		e.proc = &Process{Host: h, Name: "dockerd", Argv: argv, LogPath: e.Log}
	}
	if err := e.proc.start(); err != nil {
		return err
	}
	return l.waitEngine(ctx, h, 60*time.Second)
}

// waitEngine polls the engine's /_ping until it answers, its dockerd exits, or
// the timeout passes.
func (l *Lab) waitEngine(ctx context.Context, h *Host, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if pingEngine(ctx, h.Engine.Socket) == nil {
			return nil
		}
		if done, err := h.Engine.proc.Exited(); done {
			return fmt.Errorf("engine on %s exited (%v): %s", h.Name, err, strings.Join(h.Engine.proc.Tail(10), "\n"))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("engine on %s not answering: %w: %s", h.Name, ctx.Err(), strings.Join(h.Engine.proc.Tail(10), "\n"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pingEngine asks the engine behind socket for /_ping.
func pingEngine(ctx context.Context, socket string) error {
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://engine/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping %s: %s", socket, resp.Status)
	}
	return nil
}

// KillEngine stops minion h's dockerd as a shutdown of the engine would
// (SIGTERM, then SIGKILL after 30 s); its containers stop with it.
func (l *Lab) KillEngine(h *Host) error {
	if h.Engine == nil || h.Engine.proc == nil {
		return fmt.Errorf("kill engine on %s: no engine", h.Name)
	}
	return h.Engine.proc.Stop(30 * time.Second)
}

// StartEngine starts minion h's dockerd again after KillEngine and waits for it.
func (l *Lab) StartEngine(ctx context.Context, h *Host) error {
	if h.Engine == nil {
		return fmt.Errorf("start engine on %s: no engine", h.Name)
	}
	if done, _ := h.Engine.proc.Exited(); !done {
		return fmt.Errorf("start engine on %s: still running", h.Name)
	}
	return l.startEngine(ctx, h)
}

// EngineLog returns the last n lines of minion h's dockerd log.
func (l *Lab) EngineLog(h *Host, n int) []string {
	if h.Engine == nil {
		return nil
	}
	return tailFile(h.Engine.Log, n)
}

// Exec runs argv inside host h's network namespace (nsenter --net, the
// machine's own file system; with h's Hostname when it has one) and returns
// its combined output.
func (l *Lab) Exec(ctx context.Context, h *Host, argv ...string) ([]byte, error) {
	return l.run.Run(ctx, h.nsenter(argv)...)
}

// Docker runs the docker CLI against minion h's engine.
func (l *Lab) Docker(ctx context.Context, h *Host, args ...string) ([]byte, error) {
	if h.Engine == nil {
		return nil, fmt.Errorf("docker on %s: no engine", h.Name)
	}
	return l.run.Run(ctx, append([]string{"docker", "-H", h.Engine.DockerHost()}, args...)...)
}

// Start runs argv as a long-running process inside host h's network
// namespace, its output appended to <LogDir>/<host>-<name>.log. On a minion,
// DOCKER_HOST points at the minion's engine. Down kills it.
func (l *Lab) Start(h *Host, name string, argv ...string) (*Process, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("start %s on %s: empty command", name, h.Name)
	}
	p := &Process{Host: h, Name: name, Argv: argv, LogPath: filepath.Join(l.p.cfg.LogDir, h.Name+"-"+name+".log")}
	if h.Engine != nil {
		p.env = []string{"DOCKER_HOST=" + h.Engine.DockerHost()}
	}
	if err := p.start(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p, nil
}

// Processes are the processes started with Start, in order.
func (l *Lab) Processes() []*Process {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Process(nil), l.procs...)
}

// CutOff cuts host h from the master and every other host by taking its link
// into the bridge down: packets to and from it vanish silently, as in a
// network partition. Processes on h keep running.
func (l *Lab) CutOff(ctx context.Context, h *Host) error {
	if _, err := l.run.Run(ctx, "ip", "link", "set", h.Veth, "down"); err != nil {
		return fmt.Errorf("cut off %s: %w", h.Name, err)
	}
	return nil
}

// Heal reconnects a host cut off with CutOff.
func (l *Lab) Heal(ctx context.Context, h *Host) error {
	if _, err := l.run.Run(ctx, "ip", "link", "set", h.Veth, "up"); err != nil {
		return fmt.Errorf("heal %s: %w", h.Name, err)
	}
	return nil
}

// LoadImages copies images from the source engine (Config.SourceDocker) into
// every minion's engine: docker save once, docker load into each in parallel.
func (l *Lab) LoadImages(ctx context.Context, images ...string) error {
	if len(images) == 0 {
		return nil
	}
	src := l.p.cfg.SourceDocker
	if src == "" {
		src = os.Getenv("DOCKER_HOST")
	}
	if src == "" {
		src = api.DefaultDockerEndpoint // /var/run is /run
	}
	tar := filepath.Join(l.p.cfg.Root, "images.tar")
	defer os.Remove(tar)
	if _, err := l.run.Run(ctx, append([]string{"docker", "-H", src, "save", "-o", tar}, images...)...); err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	errs := make(chan error, len(l.Minions()))
	for _, h := range l.Minions() {
		go func() {
			_, err := l.Docker(ctx, h, "load", "-q", "-i", tar)
			errs <- err
		}()
	}
	var all []error
	for range l.Minions() {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	return nil
}

// Dump describes the lab for a failure report: every process with its state
// and the last n lines of its log, and every engine's last n log lines.
func (l *Lab) Dump(n int) string {
	var b strings.Builder
	for _, h := range l.Minions() {
		fmt.Fprintf(&b, "--- %s dockerd (%s), last %d lines of %s:\n", h.Name, h.Engine.DockerHost(), n, h.Engine.Log)
		for _, line := range tailFile(h.Engine.Log, n) {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	for _, p := range l.Processes() {
		state := "running"
		if done, err := p.Exited(); done {
			state = fmt.Sprintf("exited (%v)", err)
		} else if p.Paused() {
			state = "paused"
		}
		fmt.Fprintf(&b, "--- %s %s: %s, last %d lines of %s:\n", p.Host.Name, p.Name, state, n, p.LogPath)
		for _, line := range p.Tail(n) {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	return b.String()
}

// PauseHost stops (SIGSTOP) every process in host h's network namespace (its
// kubelite, its engine's dockerd, containerd and shims), as a hung machine
// would; its containers, in namespaces of their own, keep running.
// ResumeHost continues them.
// It returns once every one of them is stopped.
func (l *Lab) PauseHost(h *Host) error {
	list, err := hostProcs(h)
	if err != nil {
		return fmt.Errorf("pause %s: %w", h.Name, err)
	}
	if err := stopAll(list, stopTimeout); err != nil {
		return fmt.Errorf("pause %s: %w", h.Name, err)
	}
	return nil
}

// ResumeHost continues (SIGCONT) every process in host h's namespace.
func (l *Lab) ResumeHost(h *Host) error {
	list, err := hostProcs(h)
	if err != nil {
		return fmt.Errorf("resume %s: %w", h.Name, err)
	}
	var errs []error
	for _, pid := range list() {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("resume %s pid %d: %w", h.Name, pid, err))
		}
	}
	return errors.Join(errs...)
}

// hostProcs returns a function listing the processes in host h's network
// namespace (but this one).
func hostProcs(h *Host) (func() []int, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(h.NSPath, &st); err != nil {
		return nil, err
	}
	ns := fmt.Sprintf("net:[%d]", st.Ino)
	self := os.Getpid()
	return func() []int {
		var pids []int
		for _, p := range readProcs() {
			if p.netns == ns && p.pid != self {
				pids = append(pids, p.pid)
			}
		}
		return pids
	}, nil
}
