package kubelet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

// prober runs one liveness-probe goroutine per probed running container.
// It owns its workers: each runs under the prober's own context and is
// joined by close, which the kubelet's Run defers (so no probe outlives
// Run). After close the prober is empty and may be used again.
type prober struct {
	k       *Kubelet
	mu      sync.Mutex
	ctx     context.Context // the prober's own, cancelled by close
	cancel  context.CancelFunc
	wg      sync.WaitGroup          // the workers
	workers map[string]*probeWorker // container id
	seq     uint64                  // of the last worker started
}

// probeWorker is one container's probe goroutine. seq orders it against a
// container list (see mark): housekeeping lists containers, and a worker
// started after that list is of a container the list may not hold.
type probeWorker struct {
	key    string
	seq    uint64
	cancel context.CancelFunc
}

// probeFailure is a failed liveness probe of a container, by the worker
// numbered seq.
type probeFailure struct {
	msg string
	seq uint64
}

func newProber(k *Kubelet) *prober {
	p := &prober{k: k, workers: map[string]*probeWorker{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// close stops every worker and waits for them to return.
func (p *prober) close() {
	p.mu.Lock()
	p.cancel()
	clear(p.workers)
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mu.Unlock()
}

// ensure starts probe workers for the pod's running, probed containers.
func (p *prober) ensure(key string, pod *api.Pod, cs []runtime.Container) {
	podIP := PodIP(pod, cs)
	for i := range pod.DesiredState.Manifest.Containers {
		spec := &pod.DesiredState.Manifest.Containers[i]
		if spec.LivenessProbe == nil {
			continue
		}
		for _, c := range cs {
			if c.State != runtime.StateRunning || c.Labels[runtime.LabelPodUID] != pod.UID || c.Labels[runtime.LabelContainerName] != spec.Name {
				continue
			}
			p.mu.Lock()
			if _, ok := p.workers[c.ID]; !ok && p.ctx.Err() == nil {
				ctx, cancel := context.WithCancel(p.ctx)
				p.seq++
				seq := p.seq
				p.workers[c.ID] = &probeWorker{key: key, seq: seq, cancel: cancel}
				p.wg.Add(1)
				podCopy, specCopy := api.Copy(pod), *spec
				go func() {
					defer p.wg.Done()
					p.work(ctx, key, seq, podCopy, specCopy, c, podIP)
				}()
			}
			p.mu.Unlock()
		}
	}
}

// mark numbers the workers started so far; take it before listing the
// containers whose IDs go to prune.
func (p *prober) mark() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq
}

// prune stops workers of containers that no longer exist: those not in
// live, a list taken after mark returned before. A worker started after
// that is left alone (its container may have started after the list).
func (p *prober) prune(live map[string]bool, before uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, w := range p.workers {
		if !live[id] && w.seq <= before {
			w.cancel()
			delete(p.workers, id)
		}
	}
}

// forgetPod stops every worker of a pod.
func (p *prober) forgetPod(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, w := range p.workers {
		if w.key == key {
			w.cancel()
			delete(p.workers, id)
		}
	}
}

func (p *prober) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.workers)
}

func (p *prober) work(ctx context.Context, key string, seq uint64, pod *api.Pod, spec api.Container, c runtime.Container, podIP string) {
	defer func() {
		p.mu.Lock()
		if w, ok := p.workers[c.ID]; ok && w.key == key && ctx.Err() == nil {
			delete(p.workers, c.ID)
		}
		p.mu.Unlock()
	}()
	clk := p.k.cfg.Clock
	probe := spec.LivenessProbe
	first := c.StartedAt.Add(time.Duration(probe.InitialDelaySeconds) * time.Second)
	wait := first.Sub(clk.Now())
	if wait < 0 {
		wait = 0
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-clk.After(wait):
		}
		wait = p.k.cfg.ProbePeriod
		timeout := time.Duration(probe.TimeoutSeconds) * time.Second
		if timeout <= 0 {
			timeout = time.Second
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := RunProbe(pctx, p.k.cfg.Runtime, c.ID, podIP, &spec)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.k.markUnhealthy(ctx, key, pod, spec.Name, c.ID, probeFailure{msg: err.Error(), seq: seq})
			return
		}
	}
}

// RunProbe runs c's liveness probe once against container id of a pod
// whose IP is podIP; nil means healthy.
func RunProbe(ctx context.Context, rt runtime.Runtime, id, podIP string, c *api.Container) error {
	pr := c.LivenessProbe
	switch {
	case pr.Exec != nil:
		res, err := rt.Exec(ctx, id, pr.Exec.Command)
		if err != nil {
			return fmt.Errorf("exec %q: %w", pr.Exec.Command, err)
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("exec %q exited %d: %s", pr.Exec.Command, res.ExitCode, strings.TrimSpace(string(res.Output)))
		}
		return nil
	case pr.HTTPGet != nil:
		host := pr.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		port, err := probePort(pr.HTTPGet.Port, c)
		if err != nil {
			return err
		}
		path := pr.HTTPGet.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		url := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("http probe %s: %w", url, err)
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return fmt.Errorf("http probe: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("http probe %s: status %d", url, resp.StatusCode)
		}
		return nil
	case pr.TCPSocket != nil:
		port, err := probePort(pr.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(podIP, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("tcp probe: %w", err)
		}
		conn.Close()
		return nil
	}
	return fmt.Errorf("liveness probe of %q has no action", c.Name)
}

// probeClient never follows redirects (a 3xx is healthy) and keeps no
// connections between probes.
var probeClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableKeepAlives: true},
}

// probePort resolves a numeric or named port of c.
func probePort(p api.IntOrString, c *api.Container) (int, error) {
	if p.Kind == api.IntstrInt {
		if p.IntVal < 1 || p.IntVal > 65535 {
			return 0, fmt.Errorf("probe port %d out of range", p.IntVal)
		}
		return p.IntVal, nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return probePort(api.NewIntOrStringFromInt(n), c)
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("probe port %q: no such named port in container %q", p.StrVal, c.Name)
}
