package swarmbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/lab"
	"kubelite/internal/securetest"
	"kubelite/internal/store"
	"kubelite/internal/store/remote"
)

const (
	registryPort = 5000
	apiPort      = 8080
	// webRepo is the web server's repository in the lab's registry.
	webRepo = "kubelite/webserver:v1"
)

// world is the lab with a registry, a Swarm and a kubelite cluster on it.
type world struct {
	o       Options
	l       *lab.Lab
	log     *logrus.Entry
	image   string // <registry>/kubelite/webserver:v1
	engines map[string]*engineAPI
	probers map[string]*prober
	kube    *kubeCluster
	swarmOn bool
}

func (w *world) progress(format string, args ...any) {
	if w.o.Progress != nil {
		fmt.Fprintf(w.o.Progress, "  swarm: "+format+"\n", args...)
	}
}

func (w *world) registryAddr() string {
	return netip.AddrPortFrom(w.l.Master().Addr, registryPort).String()
}

func (w *world) m1() *lab.Host { return w.l.Minion(1) }
func (w *world) m2() *lab.Host { return w.l.Minion(2) }

// setup brings up everything Run measures, in order. teardown undoes it,
// whatever setup reached.
func (w *world) setup(ctx context.Context) error {
	start := time.Now()
	if err := w.l.Up(ctx); err != nil {
		return err
	}
	w.engines = map[string]*engineAPI{}
	w.probers = map[string]*prober{}
	for _, h := range w.l.Minions() {
		w.engines[h.Name] = newEngineAPI(h.Engine.Socket)
		p, err := newProber(h.NSPath, 8)
		if err != nil {
			return err
		}
		w.probers[h.Name] = p
	}
	w.progress("lab up in %s", time.Since(start).Round(100*time.Millisecond))
	if err := w.startRegistry(ctx); err != nil {
		return err
	}
	for _, h := range w.l.Minions() {
		if err := w.trustRegistry(ctx, h); err != nil {
			return err
		}
	}
	if err := w.loadImage(ctx); err != nil {
		return err
	}
	w.progress("registry, image %s on both engines: %s", w.image, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// teardown leaves the Swarm on every lab engine and takes the lab down
// (registry, kubelite, engines, namespaces, directories).
func (w *world) teardown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	for _, h := range w.l.Minions() {
		if h.Engine == nil {
			continue
		}
		// -H is always a lab engine's socket: never the machine's engine.
		out, err := w.l.Docker(ctx, h, "swarm", "leave", "--force")
		if err != nil && w.swarmOn && !strings.Contains(string(out), "not part of a swarm") &&
			!strings.Contains(err.Error(), "connect") {
			errs = append(errs, fmt.Errorf("swarm leave on %s: %w", h.Name, err))
		}
	}
	for _, p := range w.probers {
		p.close()
	}
	for _, e := range w.engines {
		e.close()
	}
	if err := w.l.Down(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startRegistry runs docker-registry in the master host's namespace and
// waits until /v2/ answers.
func (w *world) startRegistry(ctx context.Context) error {
	dir := filepath.Join(w.l.Config().Root, "registry")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), w.registryAddr())
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return fmt.Errorf("registry: %w (apt-get install docker-registry)", err)
	}
	p, err := w.l.Start(w.l.Master(), "registry", bin, "serve", path)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	return poll(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, string) {
		if done, err := p.Exited(); done {
			return false, fmt.Sprintf("registry exited (%v): %s", err, strings.Join(p.Tail(5), " | "))
		}
		resp, err := hc.Get("http://" + w.registryAddr() + "/v2/")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, "registry /v2/: " + resp.Status
	})
}

// trustRegistry makes h's engine take the lab registry as insecure (plain
// HTTP): the lab writes an empty daemon.json for the engine, so this writes
// insecure-registries into it and sends dockerd SIGHUP, which reloads that
// option, then waits until the engine's info lists it.
func (w *world) trustRegistry(ctx context.Context, h *lab.Host) error {
	reg := w.registryAddr()
	b, _ := json.Marshal(map[string][]string{"insecure-registries": {reg}})
	if err := os.WriteFile(h.Engine.Config, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("trust registry on %s: %w", h.Name, err)
	}
	pid, err := enginePid(h)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("trust registry on %s: reload dockerd %d: %w", h.Name, pid, err)
	}
	return poll(ctx, 20*time.Second, 100*time.Millisecond, func() (bool, string) {
		out, err := w.l.Docker(ctx, h, "info", "--format", "{{json .RegistryConfig.IndexConfigs}}")
		if err != nil {
			return false, err.Error()
		}
		var idx map[string]struct{ Secure bool }
		if err := json.Unmarshal(out, &idx); err != nil {
			return false, fmt.Sprintf("docker info: %v: %s", err, out)
		}
		c, ok := idx[reg]
		return ok && !c.Secure, fmt.Sprintf("%s not an insecure registry of %s yet: %s", reg, h.Name, strings.TrimSpace(string(out)))
	})
}

// enginePid reads h's dockerd pid from its pid file.
func enginePid(h *lab.Host) (int, error) {
	b, err := os.ReadFile(h.Engine.PidFile)
	if err != nil {
		return 0, fmt.Errorf("dockerd of %s: %w", h.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("dockerd of %s: pid file: %w", h.Name, err)
	}
	return pid, nil
}

// loadImage builds the pod infra and web server images into both engines
// (`kubelite images`), pushes the web server from minion1's engine to the
// registry and pulls it on both, so both start warm from the same reference.
func (w *world) loadImage(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(w.l.Minions()))
	for i, h := range w.l.Minions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.CommandContext(ctx, w.o.Bin, "images", "--docker-endpoint", h.Engine.DockerHost(),
				images.Pause, images.WebserverV1).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("kubelite images on %s: %w: %s", h.Name, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	w.image = w.registryAddr() + "/" + webRepo
	if _, err := w.l.Docker(ctx, w.m1(), "tag", images.WebserverV1, w.image); err != nil {
		return err
	}
	if _, err := w.l.Docker(ctx, w.m1(), "push", w.image); err != nil {
		return fmt.Errorf("push to the lab registry: %w", err)
	}
	for _, h := range w.l.Minions() {
		if _, err := w.l.Docker(ctx, h, "pull", "-q", w.image); err != nil {
			return fmt.Errorf("pull from the lab registry: %w", err)
		}
	}
	return nil
}

// formSwarm makes minion1's engine a Swarm manager and minion2's a worker.
func (w *world) formSwarm(ctx context.Context) error {
	m1, m2 := w.m1(), w.m2()
	w.swarmOn = true
	if _, err := w.l.Docker(ctx, m1, "swarm", "init", "--advertise-addr", m1.Addr.String(),
		"--listen-addr", m1.Addr.String()+":2377"); err != nil {
		return err
	}
	tok, err := w.l.Docker(ctx, m1, "swarm", "join-token", "-q", "worker")
	if err != nil {
		return err
	}
	if _, err := w.l.Docker(ctx, m2, "swarm", "join", "--token", strings.TrimSpace(string(tok)),
		"--advertise-addr", m2.Addr.String(), m1.Addr.String()+":2377"); err != nil {
		return err
	}
	return w.waitSwarmNodes(ctx, 2, time.Minute)
}

// waitSwarmNodes waits until n nodes are Ready in the manager's view.
func (w *world) waitSwarmNodes(ctx context.Context, n int, within time.Duration) error {
	return poll(ctx, within, 200*time.Millisecond, func() (bool, string) {
		out, err := w.l.Docker(ctx, w.m1(), "node", "ls", "--format", "{{.Status}}")
		if err != nil {
			return false, err.Error()
		}
		ready := strings.Count(string(out), "Ready")
		return ready >= n, fmt.Sprintf("swarm nodes: %q", strings.Fields(string(out)))
	})
}

// kubeCluster is kubelite on the lab: master on the master host, a minion
// on each minion host, secure.
type kubeCluster struct {
	w          *world
	dir        string // <lab root>/kubelite
	kubeconfig string
	master     *lab.Process
	minions    map[string]*lab.Process
	st         *remote.Store
	// grace and eviction are the master's node timers; 0 leaves kubelite's defaults.
	grace, eviction time.Duration
}

func (k *kubeCluster) dataDir() string               { return filepath.Join(k.dir, "master") }
func (k *kubeCluster) tokenFile(h *lab.Host) string  { return filepath.Join(k.dir, h.Name+".token") }
func (k *kubeCluster) minionRoot(h *lab.Host) string { return filepath.Join(k.dir, h.Name) }

func (k *kubeCluster) masterArgv() []string {
	argv := []string{k.w.o.Bin, "master", "--config-dir=", "--etcd-embed", "--data-dir=" + k.dataDir(),
		"--address=0.0.0.0", "--port=" + strconv.Itoa(apiPort)}
	if k.grace > 0 {
		argv = append(argv, "--node_monitor_grace_period="+k.grace.String(), "--pod_eviction_timeout="+k.eviction.String())
	}
	return argv
}

func (k *kubeCluster) minionArgv(h *lab.Host) []string {
	return []string{k.w.o.Bin, "minion", "--config-dir=",
		fmt.Sprintf("--master=%s:%d", k.w.l.Master().Addr, apiPort),
		"--token-file=" + k.tokenFile(h),
		"--hostname_override=" + h.Addr.String(), "--host-ip=" + h.Addr.String(),
		"--docker-endpoint=" + h.Engine.DockerHost(),
		"--root-dir=" + k.minionRoot(h)}
}

// startKubelite starts the master, writes the join token and the admin
// kubeconfig, starts the minions and waits until both are Ready.
func (w *world) startKubelite(ctx context.Context) error {
	k := &kubeCluster{w: w, dir: filepath.Join(w.l.Config().Root, "kubelite"), minions: map[string]*lab.Process{}}
	w.kube = k
	if err := os.MkdirAll(k.dir, 0o755); err != nil {
		return err
	}
	k.kubeconfig = filepath.Join(k.dir, "admin.kubeconfig")
	if err := k.startMaster(ctx); err != nil {
		return err
	}
	var tok string
	err := poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, string) {
		if done, err := k.master.Exited(); done {
			return false, fmt.Sprintf("master exited (%v): %s", err, strings.Join(k.master.Tail(5), " | "))
		}
		var err error
		tok, err = securetest.Token(ctx, w.o.Bin, k.dataDir())
		return err == nil, fmt.Sprint(err)
	})
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	server := fmt.Sprintf("https://%s:%d", w.l.Master().Addr, apiPort)
	kc, err := securetest.Kubeconfig(ctx, w.o.Bin, k.dataDir(), server)
	if err != nil {
		return err
	}
	if err := os.WriteFile(k.kubeconfig, kc, 0o600); err != nil {
		return err
	}
	ep, err := securetest.FromKubeconfig(k.kubeconfig)
	if err != nil {
		return err
	}
	k.st = remote.NewEndpoint(ep)
	if err := k.waitAPI(ctx); err != nil {
		return err
	}
	for _, h := range w.l.Minions() {
		if err := os.WriteFile(k.tokenFile(h), []byte(tok+"\n"), 0o600); err != nil {
			return err
		}
		if err := k.startMinion(h); err != nil {
			return err
		}
	}
	return k.waitMinions(ctx, 2, 2*time.Minute)
}

func (k *kubeCluster) startMaster(ctx context.Context) error {
	p, err := k.w.l.Start(k.w.l.Master(), "kubelite", k.masterArgv()...)
	if err != nil {
		return err
	}
	k.master = p
	return nil
}

func (k *kubeCluster) startMinion(h *lab.Host) error {
	p, err := k.w.l.Start(h, "kubelite", k.minionArgv(h)...)
	if err != nil {
		return err
	}
	k.minions[h.Name] = p
	return nil
}

// restartMaster stops the master and starts it again on the same data with
// the node timers grace and eviction (0: defaults), then waits for both
// minions to be Ready.
func (k *kubeCluster) restartMaster(ctx context.Context, grace, eviction time.Duration) error {
	if err := k.master.Stop(30 * time.Second); err != nil {
		return fmt.Errorf("stop master: %w", err)
	}
	k.grace, k.eviction = grace, eviction
	if err := k.startMaster(ctx); err != nil {
		return err
	}
	if err := k.waitAPI(ctx); err != nil {
		return err
	}
	return k.waitMinions(ctx, 2, 2*time.Minute)
}

func (k *kubeCluster) waitAPI(ctx context.Context) error {
	return poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, string) {
		if done, err := k.master.Exited(); done {
			return false, fmt.Sprintf("master exited (%v): %s", err, strings.Join(k.master.Tail(5), " | "))
		}
		_, _, err := k.st.List(ctx, api.Minions, store.ListOptions{})
		return err == nil, fmt.Sprint(err)
	})
}

// waitMinions waits until n minions are Ready.
func (k *kubeCluster) waitMinions(ctx context.Context, n int, within time.Duration) error {
	return poll(ctx, within, 200*time.Millisecond, func() (bool, string) {
		objs, _, err := k.st.List(ctx, api.Minions, store.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var states []string
		ready := 0
		for _, o := range objs {
			m := o.(*api.Minion)
			states = append(states, m.ID+"="+string(m.Status.Condition))
			if m.Status.Condition == api.MinionReady {
				ready++
			}
		}
		return ready >= n, fmt.Sprintf("kubelite minions: %v", states)
	})
}

// kubectl runs `kubelite kubectl --kubeconfig ADMIN args...`.
func (k *kubeCluster) kubectl(ctx context.Context, stdin io.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, k.w.o.Bin, append([]string{"kubectl", "--kubeconfig", k.kubeconfig}, args...)...)
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// poll calls cond every interval until it holds, ctx ends or within passes;
// the error then carries cond's last word.
func poll(ctx context.Context, within, interval time.Duration, cond func() (bool, string)) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%s)", ctx.Err(), why)
		case <-deadline.C:
			return fmt.Errorf("not within %s: %s", within, why)
		case <-tick.C:
		}
	}
}
