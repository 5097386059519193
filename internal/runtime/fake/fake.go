package fake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kubelite/internal/clock"
	"kubelite/internal/runtime"
)

// Options configure a fake runtime.
type Options struct {
	// Clock stamps container times; default the wall clock.
	Clock clock.Clock
	// Images present from the start.
	Images []string
	// Record keeps a log of mutating calls for Calls().
	Record bool
	// PullFails makes every pull fail as Docker does without a registry.
	// By default a pull succeeds (the image appears) unless FailPull says
	// otherwise, which is what hollow minions want.
	PullFails bool
}

// Runtime is the in-memory runtime. The zero value is not usable; call New.
type Runtime struct {
	clk    clock.Clock
	record bool

	mu         sync.Mutex
	images     map[string]bool
	failPull   map[string]string
	pullFails  bool
	containers map[string]*ctr
	byPod      map[string]map[string]*ctr // podIndexKeys -> id -> container
	names      map[string]string          // name -> id
	calls      []string
	exec       func(c runtime.Container, cmd []string) runtime.ExecResult
	pulls      int
	subs       map[chan runtime.Event]struct{}
	networks   map[string]*network
}

type ctr struct {
	c     runtime.Container
	spec  runtime.ContainerSpec
	logs  bytes.Buffer
	exitC chan struct{} // closed when the container stops running
}

var _ runtime.Runtime = (*Runtime)(nil)

var (
	nextID atomic.Uint64
	nextIP atomic.Uint32
)

// fakeIP returns a process-unique address in 127.128.0.0/9: loopback, so
// anything that dials a hollow pod (a liveness probe, a proxy following
// endpoints) stays on this machine.
func fakeIP() string {
	n := nextIP.Add(1)
	base := uint32(127)<<24 | uint32(128)<<16
	v := base + n%(1<<23)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// New returns an empty fake runtime.
func New(opts Options) *Runtime {
	r := &Runtime{
		clk:        opts.Clock,
		record:     opts.Record,
		images:     map[string]bool{},
		failPull:   map[string]string{},
		pullFails:  opts.PullFails,
		containers: map[string]*ctr{},
		byPod:      map[string]map[string]*ctr{},
		names:      map[string]string{},
	}
	if r.clk == nil {
		r.clk = clock.Real{}
	}
	for _, im := range opts.Images {
		r.images[normalize(im)] = true
	}
	return r
}

// normalize adds the default tag, as Docker does.
func normalize(image string) string {
	if i := strings.LastIndex(image, ":"); i < 0 || strings.Contains(image[i:], "/") {
		return image + ":latest"
	}
	return image
}

func (r *Runtime) rec(format string, args ...any) {
	if r.record {
		r.calls = append(r.calls, fmt.Sprintf(format, args...))
	}
}

// Calls returns the mutating calls made so far (Options.Record) and forgets them.
func (r *Runtime) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// AddImage makes image present.
func (r *Runtime) AddImage(image string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.images[normalize(image)] = true
}

// FailPull makes pulls of image fail with msg ("" clears).
func (r *Runtime) FailPull(image, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if msg == "" {
		delete(r.failPull, normalize(image))
		return
	}
	r.failPull[normalize(image)] = msg
}

// Pulls returns how many pulls were attempted.
func (r *Runtime) Pulls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulls
}

// SetExec scripts Exec; the default answers exit code 0 with no output.
func (r *Runtime) SetExec(f func(c runtime.Container, cmd []string) runtime.ExecResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exec = f
}

// Exit makes a running container exit with code, as a crash or docker kill would.
func (r *Runtime) Exit(id string, code int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("exit %s: %w", id, runtime.ErrNotFound)
	}
	r.stopLocked(c, code)
	return nil
}

// AppendLog adds text to a container's output.
func (r *Runtime) AppendLog(id, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("log %s: %w", id, runtime.ErrNotFound)
	}
	c.logs.WriteString(text)
	return nil
}

func (r *Runtime) stopLocked(c *ctr, code int) {
	if c.c.State != runtime.StateRunning {
		return
	}
	r.releaseLocked(c)
	c.c.State = runtime.StateExited
	c.c.ExitCode = code
	c.c.FinishedAt = r.clk.Now().UTC()
	close(c.exitC)
	for ch := range r.subs {
		select {
		case ch <- runtime.Event{ContainerID: c.c.ID, Labels: maps.Clone(c.c.Labels)}:
		default: // a slow subscriber loses events; its resync covers them
		}
	}
}

// Events implements runtime.Runtime.
func (r *Runtime) Events(ctx context.Context) (<-chan runtime.Event, error) {
	ch := make(chan runtime.Event, 256)
	r.mu.Lock()
	if r.subs == nil {
		r.subs = map[chan runtime.Event]struct{}{}
	}
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		delete(r.subs, ch)
		close(ch)
		r.mu.Unlock()
	}()
	return ch, nil
}

func (r *Runtime) copyOf(c *ctr) runtime.Container {
	out := c.c
	out.Labels = maps.Clone(c.c.Labels)
	return out
}

// podIndexKeys are the index keys of a container with labels: its pod's
// uid and its pod's namespace/name, when it carries them.
func podIndexKeys(labels map[string]string) []string {
	var keys []string
	if uid := labels[runtime.LabelPodUID]; uid != "" {
		keys = append(keys, "uid\x00"+uid)
	}
	if ns, name := labels[runtime.LabelPodNamespace], labels[runtime.LabelPodName]; name != "" {
		keys = append(keys, "name\x00"+ns+"/"+name)
	}
	return keys
}

// indexLocked adds c to (or removes it from) the per-pod index.
func (r *Runtime) indexLocked(c *ctr, add bool) {
	for _, k := range podIndexKeys(c.c.Labels) {
		m := r.byPod[k]
		if add {
			if m == nil {
				m = map[string]*ctr{}
				r.byPod[k] = m
			}
			m[c.c.ID] = c
			continue
		}
		delete(m, c.c.ID)
		if len(m) == 0 {
			delete(r.byPod, k)
		}
	}
}

// candidatesLocked narrows a List to one pod's containers through the index
// when opts name a pod (a kubelet's per-pod lists: O(the pod's containers),
// not O(every container on the minion)).
func (r *Runtime) candidatesLocked(opts runtime.ListOptions) map[string]*ctr {
	if opts.PodUID != "" {
		return r.byPod["uid\x00"+opts.PodUID]
	}
	if name := opts.Labels[runtime.LabelPodName]; name != "" {
		if ns, ok := opts.Labels[runtime.LabelPodNamespace]; ok {
			return r.byPod["name\x00"+ns+"/"+name]
		}
	}
	return r.containers
}

// List implements runtime.Runtime.
func (r *Runtime) List(ctx context.Context, opts runtime.ListOptions) ([]runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cands := r.candidatesLocked(opts)
	out := make([]runtime.Container, 0, len(cands))
	for _, c := range cands {
		if opts.PodUID != "" && c.c.Labels[runtime.LabelPodUID] != opts.PodUID {
			continue
		}
		if opts.Running && c.c.State != runtime.StateRunning {
			continue
		}
		if !hasLabels(c.c.Labels, opts.Labels) {
			continue
		}
		out = append(out, r.copyOf(c))
	}
	slices.SortFunc(out, func(a, b runtime.Container) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) == 0 {
		return nil, nil // nothing matched: nil, as before
	}
	return out, nil
}

// Inspect implements runtime.Runtime.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return runtime.Container{}, fmt.Errorf("inspect %s: %w", id, runtime.ErrNotFound)
	}
	return r.copyOf(c), nil
}

// HasImage implements runtime.Runtime.
func (r *Runtime) HasImage(ctx context.Context, image string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.images[normalize(image)], nil
}

// PullImage implements runtime.Runtime.
func (r *Runtime) PullImage(ctx context.Context, image string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pulls++
	r.rec("pull %s", image)
	n := normalize(image)
	if msg, ok := r.failPull[n]; ok {
		return fmt.Errorf("pull %s: %s", image, msg)
	}
	if r.pullFails {
		return fmt.Errorf("pull %s: pull access denied for %s, repository does not exist or may require 'docker login'", image, strings.Split(image, ":")[0])
	}
	r.images[n] = true
	return nil
}

// Create implements runtime.Runtime.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(spec.Name) < 2 {
		return "", fmt.Errorf("create %q: container names need at least two characters", spec.Name)
	}
	if _, taken := r.names[spec.Name]; taken {
		return "", fmt.Errorf("create %s: name already in use", spec.Name)
	}
	if !r.images[normalize(spec.Image)] {
		return "", fmt.Errorf("create %s: %s: %w", spec.Name, spec.Image, runtime.ErrImageNotPresent)
	}
	for _, m := range spec.Mounts {
		if err := m.Validate(); err != nil {
			return "", fmt.Errorf("create %s: %w", spec.Name, err)
		}
	}
	if target, ok := strings.CutPrefix(spec.NetworkMode, "container:"); ok {
		if _, ok := r.containers[target]; !ok {
			return "", fmt.Errorf("create %s: no such container: %s", spec.Name, target)
		}
	} else if spec.NetworkMode != "" {
		if _, ok := r.networks[spec.NetworkMode]; !ok {
			return "", fmt.Errorf("create %s: network %s not found", spec.Name, spec.NetworkMode)
		}
	}
	id := fmt.Sprintf("%064x", nextID.Add(1))
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelManaged] = "true"
	c := &ctr{
		c: runtime.Container{
			ID: id, Name: spec.Name, Image: spec.Image, Labels: labels,
			State: runtime.StateCreated, CreatedAt: r.clk.Now().UTC(),
		},
		spec:  spec,
		exitC: make(chan struct{}),
	}
	r.containers[id] = c
	r.indexLocked(c, true)
	r.names[spec.Name] = id
	return id, nil
}

// Start implements runtime.Runtime.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("start %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State != runtime.StateCreated {
		return fmt.Errorf("start %s: container is %s", c.c.Name, c.c.State)
	}
	fail := func(err error) error {
		delete(r.containers, id)
		r.indexLocked(c, false)
		delete(r.names, c.c.Name)
		return err
	}
	spec := c.spec
	ip := ""
	if !strings.HasPrefix(spec.NetworkMode, "container:") {
		// Host ports must be free among running containers.
		for _, p := range spec.Ports {
			if p.HostPort == 0 {
				continue
			}
			for _, o := range r.containers {
				if o.c.State != runtime.StateRunning {
					continue
				}
				for _, q := range o.spec.Ports {
					if q.HostPort == p.HostPort && proto(q.Protocol) == proto(p.Protocol) && (q.HostIP == p.HostIP || q.HostIP == "" || p.HostIP == "" || q.HostIP == "0.0.0.0" || p.HostIP == "0.0.0.0") {
						return fail(fmt.Errorf("start %s: bind for %s:%d failed: port is already allocated", spec.Name, p.HostIP, p.HostPort))
					}
				}
			}
		}
		if spec.NetworkMode == "" {
			ip = fakeIP()
		} else {
			a, err := r.allocLocked(spec.NetworkMode, id)
			if err != nil {
				return fail(fmt.Errorf("start %s: %w", spec.Name, err))
			}
			ip = a
		}
	} else {
		target := strings.TrimPrefix(spec.NetworkMode, "container:")
		t, ok := r.containers[target]
		if !ok || t.c.State != runtime.StateRunning {
			return fail(fmt.Errorf("start %s: cannot join network of a non running container: %s", spec.Name, target))
		}
	}
	now := r.clk.Now().UTC()
	c.c.State, c.c.StartedAt, c.c.IP = runtime.StateRunning, now, ip
	fmt.Fprintf(&c.logs, "fake: started %s\n", spec.Image)
	r.rec("start %s", spec.Name)
	return nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func proto(p string) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(p)
}

// Spec returns the spec a container was created with (for tests).
func (r *Runtime) Spec(id string) (runtime.ContainerSpec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return runtime.ContainerSpec{}, false
	}
	return c.spec, true
}

// Stop implements runtime.Runtime.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("stop %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State == runtime.StateRunning {
		r.rec("stop %s", c.c.Name)
	}
	r.stopLocked(c, 0)
	return nil
}

// Remove implements runtime.Runtime.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("remove %s: %w", id, runtime.ErrNotFound)
	}
	r.stopLocked(c, 137)
	delete(r.containers, id)
	r.indexLocked(c, false)
	delete(r.names, c.c.Name)
	r.rec("remove %s", c.c.Name)
	return nil
}

// Logs implements runtime.Runtime.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("logs %s: %w", id, runtime.ErrNotFound)
	}
	text := c.logs.String()
	exitC := c.exitC
	r.mu.Unlock()
	if opts.Tail > 0 {
		lines := strings.SplitAfter(text, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) > opts.Tail {
			lines = lines[len(lines)-opts.Tail:]
		}
		text = strings.Join(lines, "")
	}
	if _, err := io.WriteString(w, text); err != nil {
		return fmt.Errorf("logs %s: %w", id, err)
	}
	if !opts.Follow {
		return nil
	}
	select {
	case <-exitC:
	case <-ctx.Done():
	}
	return nil
}

// Exec implements runtime.Runtime.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string) (runtime.ExecResult, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	if !ok {
		r.mu.Unlock()
		return runtime.ExecResult{}, fmt.Errorf("exec in %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State != runtime.StateRunning {
		r.mu.Unlock()
		return runtime.ExecResult{}, fmt.Errorf("exec in %s: container is not running", id)
	}
	cc := r.copyOf(c)
	f := r.exec
	r.mu.Unlock()
	if f == nil {
		return runtime.ExecResult{}, nil
	}
	return f(cc, cmd), nil
}

// Stats implements runtime.Runtime.
func (r *Runtime) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return runtime.Stats{}, fmt.Errorf("stats %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State != runtime.StateRunning {
		return runtime.Stats{}, fmt.Errorf("stats %s: container is not running", id)
	}
	return runtime.Stats{Time: r.clk.Now().UTC(), MemoryLimit: uint64(c.spec.Memory)}, nil
}

// BuildImage implements runtime.Runtime: the image appears.
func (r *Runtime) BuildImage(ctx context.Context, b runtime.ImageBuild) error {
	if b.Tag == "" || b.Dockerfile == "" {
		return fmt.Errorf("build image: tag and Dockerfile are required")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.images[normalize(b.Tag)] = true
	r.rec("build %s", b.Tag)
	return nil
}
