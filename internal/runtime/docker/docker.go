package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

// DefaultEndpoint is the local engine's socket.
const DefaultEndpoint = api.DefaultDockerEndpoint

// Runtime drives a Docker Engine.
type Runtime struct {
	cli   *client.Client
	cache *inspectCache // List's inspects (see inspectCache)

	// Pod networks (podattach.go).
	podAttach string // PodAttachKubelet or PodAttachDocker
	attacher  attacher
	nets      *netCache
	pool      *ipPool
	pendMu    sync.Mutex
	pending   map[string]attachment // created, attached when started
}

var _ runtime.Runtime = (*Runtime)(nil)

// CheckEndpoint refuses endpoints kubelite will not use: anything but unix://
// and tcp:// with TLS configured in the environment.
func CheckEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("docker endpoint %q: %w", endpoint, err)
	}
	switch u.Scheme {
	case "unix":
		return nil
	case "tcp", "https":
		if os.Getenv("DOCKER_CERT_PATH") == "" || os.Getenv("DOCKER_TLS_VERIFY") == "" {
			return fmt.Errorf("docker endpoint %s refused: a Docker API on plain TCP without TLS gives root on this host to anyone who can reach the port; use %s or set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH", endpoint, DefaultEndpoint)
		}
		return nil
	default:
		return fmt.Errorf("docker endpoint %q: scheme must be unix:// or tcp:// (with TLS)", endpoint)
	}
}

// New connects to the engine at endpoint ("" = DefaultEndpoint).
func New(endpoint string, opts ...Option) (*Runtime, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if err := CheckEndpoint(endpoint); err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(endpoint), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", endpoint, err)
	}
	r := newRuntime(cli, nlAttacher{})
	for _, o := range opts {
		o(r)
	}
	if err := CheckPodAttach(r.podAttach); err != nil {
		cli.Close()
		return nil, err
	}
	return r, nil
}

func newRuntime(cli *client.Client, a attacher) *Runtime {
	return &Runtime{
		cli: cli, cache: newInspectCache(),
		podAttach: PodAttachKubelet, attacher: a, nets: newNetCache(), pool: newIPPool(), pending: map[string]attachment{},
	}
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }

// Ping checks that the engine answers.
func (r *Runtime) Ping(ctx context.Context) error {
	if _, err := r.cli.Ping(ctx); err != nil {
		return fmt.Errorf("ping docker: %w", err)
	}
	return nil
}

// Info returns the engine's CPU count and memory, for minion capacity.
func (r *Runtime) Info(ctx context.Context) (cpus int, memory int64, err error) {
	info, err := r.cli.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("docker info: %w", err)
	}
	return info.NCPU, info.MemTotal, nil
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

func convert(in container.InspectResponse) runtime.Container {
	c := runtime.Container{ID: in.ID, Name: strings.TrimPrefix(in.Name, "/")}
	if in.Config != nil {
		c.Image = in.Config.Image
		c.Labels = in.Config.Labels
	}
	if in.ContainerJSONBase != nil {
		c.CreatedAt = parseTime(in.Created)
		if s := in.State; s != nil {
			switch s.Status {
			case "created":
				c.State = runtime.StateCreated
			case "running", "paused", "restarting":
				c.State = runtime.StateRunning
			default:
				c.State = runtime.StateExited
			}
			c.ExitCode = s.ExitCode
			c.OOMKilled = s.OOMKilled
			c.Error = s.Error
			c.StartedAt = parseTime(s.StartedAt)
			c.FinishedAt = parseTime(s.FinishedAt)
		}
	}
	if ns := in.NetworkSettings; ns != nil {
		names := make([]string, 0, len(ns.Networks))
		for n := range ns.Networks {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if e := ns.Networks[n]; e != nil && e.IPAddress != "" {
				c.IP = e.IPAddress
				break
			}
		}
	}
	return c
}

func managed(labels map[string]string) bool { return labels[runtime.LabelManaged] == "true" }

// listInspects bounds the concurrent inspects of one List.
const listInspects = 8

// List implements runtime.Runtime.
func (r *Runtime) List(ctx context.Context, opts runtime.ListOptions) ([]runtime.Container, error) {
	f := filters.NewArgs(filters.Arg("label", runtime.LabelManaged+"=true"))
	if opts.PodUID != "" {
		f.Add("label", runtime.LabelPodUID+"="+opts.PodUID)
	}
	for k, v := range opts.Labels {
		f.Add("label", k+"="+v)
	}
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: !opts.Running, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	// A container inspected before in the State the list shows now is
	// taken from the cache (see inspectCache). The other inspects are
	// independent round trips: run up to listInspects at once (a pod's
	// re-list after its start is two of them).
	r.cache.sweep()
	got := make([]runtime.Container, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, listInspects)
	var wg sync.WaitGroup
	for i, s := range list {
		c, token, ok := r.cache.get(s.ID, s.State)
		if ok {
			got[i] = c
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got[i], errs[i] = r.Inspect(ctx, s.ID)
			if errs[i] == nil {
				r.cache.put(s.ID, s.State, got[i], token)
			}
		}()
	}
	wg.Wait()
	out := make([]runtime.Container, 0, len(list))
	for i, c := range got {
		if errors.Is(errs[i], runtime.ErrNotFound) {
			continue // removed meanwhile
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Inspect implements runtime.Runtime.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	in, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		if client.IsErrNotFound(err) {
			return runtime.Container{}, fmt.Errorf("inspect %s: %w", id, runtime.ErrNotFound)
		}
		return runtime.Container{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	c := convert(in)
	if !managed(c.Labels) {
		return runtime.Container{}, fmt.Errorf("inspect %s: not created by kubelite: %w", id, runtime.ErrNotFound)
	}
	r.podIP(ctx, &c)
	return c, nil
}

// HasImage implements runtime.Runtime.
func (r *Runtime) HasImage(ctx context.Context, img string) (bool, error) {
	_, err := r.cli.ImageInspect(ctx, img)
	if err == nil {
		return true, nil
	}
	if client.IsErrNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("inspect image %s: %w", img, err)
}

// PullImage implements runtime.Runtime.
func (r *Runtime) PullImage(ctx context.Context, img string) error {
	rc, err := r.cli.ImagePull(ctx, img, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("pull %s: %w", img, err)
	}
	defer rc.Close()
	if err := readStream(rc); err != nil {
		return fmt.Errorf("pull %s: %w", img, err)
	}
	return nil
}

// readStream drains a JSON message stream (pull, build) and returns the
// first error it reports.
func readStream(rd io.Reader) error {
	dec := json.NewDecoder(bufio.NewReader(rd))
	var firstErr error
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if err == io.EOF {
				return firstErr
			}
			return fmt.Errorf("read engine stream: %w", err)
		}
		if firstErr == nil {
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				firstErr = errors.New(m.ErrorDetail.Message)
			} else if m.Error != "" {
				firstErr = errors.New(m.Error)
			}
		}
	}
}

// Create implements runtime.Runtime.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	labels := make(map[string]string, len(spec.Labels)+1)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[runtime.LabelManaged] = "true"
	cfg := &container.Config{
		Image:      spec.Image,
		Env:        spec.Env,
		WorkingDir: spec.WorkingDir,
		Labels:     labels,
	}
	if spec.Command != nil {
		cfg.Cmd = spec.Command
	}
	bs, err := binds(spec.Mounts)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", spec.Name, err)
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(spec.NetworkMode),
		Binds:       bs,
		Privileged:  spec.Privileged,
		Resources: container.Resources{
			CPUShares: spec.CPUShares,
			CPUQuota:  spec.CPUQuota,
			CPUPeriod: spec.CPUPeriod,
			Memory:    spec.Memory,
		},
	}
	if !strings.HasPrefix(spec.NetworkMode, "container:") {
		// Own network namespace, on the default bridge or a pod network.
		cfg.Hostname = spec.Hostname // joined containers share the owner's UTS namespace
		if len(spec.Ports) > 0 {
			cfg.ExposedPorts = nat.PortSet{}
			hc.PortBindings = nat.PortMap{}
		}
		for _, p := range spec.Ports {
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			port, err := nat.NewPort(proto, strconv.Itoa(p.ContainerPort))
			if err != nil {
				return "", fmt.Errorf("create %s: port %d/%s: %w", spec.Name, p.ContainerPort, proto, err)
			}
			cfg.ExposedPorts[port] = struct{}{}
			if p.HostPort != 0 {
				hc.PortBindings[port] = append(hc.PortBindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: strconv.Itoa(p.HostPort)})
			}
		}
	}
	pn, onPodNet, err := r.podNetworkOf(ctx, spec.NetworkMode)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", spec.Name, err)
	}
	var netCfg *network.NetworkingConfig
	var plan podPlan
	if onPodNet {
		addr, err := r.pool.reserve(ctx, pn, spec.Labels[runtime.LabelPodUID], poolEngine{load: r.listIPHolders, endpoints: r.engineEndpoints, running: r.running})
		if err != nil {
			return "", fmt.Errorf("create %s: %w", spec.Name, err)
		}
		plan = podPlan{net: pn, addr: addr, veth: !hasHostPorts(spec)}
		netCfg = applyPodPlan(plan, spec, cfg, hc)
	}
	created, err := r.cli.ContainerCreate(ctx, cfg, hc, netCfg, nil, spec.Name)
	if onPodNet {
		r.pool.bind(pn.id, plan.addr, created.ID, spec.Labels[runtime.LabelPodUID]) // "" when the create failed: the reservation goes
	}
	if err == nil && plan.veth {
		r.pendMu.Lock()
		r.pending[created.ID] = attachment{Bridge: pn.bridge, Addr: netip.PrefixFrom(plan.addr, pn.subnet.Bits()), Gateway: pn.gateway}
		r.pendMu.Unlock()
	}
	if err != nil {
		if client.IsErrNotFound(err) {
			return "", fmt.Errorf("create %s: %s: %w (%v)", spec.Name, spec.Image, runtime.ErrImageNotPresent, err)
		}
		return "", fmt.Errorf("create %s: %w", spec.Name, err)
	}
	return created.ID, nil
}

// Start implements runtime.Runtime. The caller created the container, so
// no managed check is needed; a failed start removes it.
//
// A container Create put on a pod network with network mode none is
// attached to it (attacher) before Start returns; if that fails, the
// container is removed as after a failed start.
func (r *Runtime) Start(ctx context.Context, id string) error {
	defer r.cache.drop(id)
	a, attach := r.takePending(id)
	err := r.cli.ContainerStart(ctx, id, container.StartOptions{})
	if err == nil && attach {
		if aerr := r.attach(ctx, id, a); aerr != nil {
			err = fmt.Errorf("attach to pod network (%s on %s): %w", a.Addr, a.Bridge, aerr)
		}
	}
	if err != nil {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = r.cli.ContainerRemove(rmCtx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if attach {
			_ = r.attacher.Detach(rmCtx, vethName(id))
		}
		r.pool.release(id)
		if client.IsErrNotFound(err) {
			return fmt.Errorf("start %s: %w", id, runtime.ErrNotFound)
		}
		return fmt.Errorf("start %s: %w", shortID(id), err)
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Stop implements runtime.Runtime.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	defer r.cache.drop(id)
	if _, err := r.Inspect(ctx, id); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	secs := int((grace + time.Second - 1) / time.Second)
	if grace <= 0 {
		secs = 0
	}
	if err := r.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil {
		if client.IsErrNotFound(err) {
			return fmt.Errorf("stop %s: %w", id, runtime.ErrNotFound)
		}
		return fmt.Errorf("stop %s: %w", id, err)
	}
	return nil
}

// Remove implements runtime.Runtime.
//
// A container this runtime attached to a pod network loses its veth, and
// its address goes back to the pool.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	defer r.cache.drop(id)
	c, err := r.Inspect(ctx, id)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			r.pool.release(id)
		}
		return fmt.Errorf("remove: %w", err)
	}
	r.takePending(id)
	if err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		if client.IsErrNotFound(err) {
			r.pool.release(id)
			return fmt.Errorf("remove %s: %w", id, runtime.ErrNotFound)
		}
		return fmt.Errorf("remove %s: %w", id, err)
	}
	r.pool.release(id)
	if c.Labels[LabelPodVeth] == "true" {
		if err := r.attacher.Detach(ctx, vethName(id)); err != nil {
			return fmt.Errorf("remove %s: %w", shortID(id), err)
		}
	}
	return nil
}

// Logs implements runtime.Runtime.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	c, err := r.cli.ContainerInspect(ctx, id)
	if err != nil || c.Config == nil || !managed(c.Config.Labels) {
		return fmt.Errorf("logs %s: %w", id, runtime.ErrNotFound)
	}
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: opts.Timestamps}
	if opts.Tail > 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	rc, err := r.cli.ContainerLogs(ctx, id, lo)
	if err != nil {
		return fmt.Errorf("logs %s: %w", id, err)
	}
	defer rc.Close()
	if c.Config.Tty {
		_, err = io.Copy(w, rc)
	} else {
		_, err = stdcopy.StdCopy(w, w, rc)
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs %s: %w", id, err)
	}
	return nil
}

// Exec implements runtime.Runtime.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string) (runtime.ExecResult, error) {
	c, err := r.Inspect(ctx, id)
	if err != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec: %w", err)
	}
	if c.State != runtime.StateRunning {
		return runtime.ExecResult{}, fmt.Errorf("exec in %s: container is not running", id)
	}
	ex, err := r.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
	}
	att, err := r.cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec attach in %s: %w", id, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			att.Close()
		case <-done:
		}
	}()
	var out bytes.Buffer
	_, copyErr := stdcopy.StdCopy(&out, &out, att.Reader)
	att.Close()
	if ctx.Err() != nil {
		return runtime.ExecResult{Output: out.Bytes()}, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	}
	if copyErr != nil {
		return runtime.ExecResult{Output: out.Bytes()}, fmt.Errorf("exec in %s: read output: %w", id, copyErr)
	}
	// The exit code is set shortly after the stream closes.
	for i := 0; ; i++ {
		in, err := r.cli.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return runtime.ExecResult{Output: out.Bytes()}, fmt.Errorf("exec inspect in %s: %w", id, err)
		}
		if !in.Running || i >= 100 {
			return runtime.ExecResult{ExitCode: in.ExitCode, Output: out.Bytes()}, nil
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return runtime.ExecResult{Output: out.Bytes()}, fmt.Errorf("exec in %s: %w", id, ctx.Err())
		}
	}
}

// Stats implements runtime.Runtime.
func (r *Runtime) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	if _, err := r.Inspect(ctx, id); err != nil {
		return runtime.Stats{}, fmt.Errorf("stats: %w", err)
	}
	resp, err := r.cli.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return runtime.Stats{}, fmt.Errorf("stats %s: %w", id, err)
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return runtime.Stats{}, fmt.Errorf("stats %s: decode: %w", id, err)
	}
	t := s.Read.UTC()
	if t.Year() <= 1 {
		t = time.Now().UTC()
	}
	return runtime.Stats{
		Time:          t,
		CPUUsageNanos: s.CPUStats.CPUUsage.TotalUsage,
		MemoryBytes:   s.MemoryStats.Usage,
		MemoryLimit:   s.MemoryStats.Limit,
	}, nil
}

// BuildImage implements runtime.Runtime: the context is a tar of the
// Dockerfile and the listed files, streamed to the engine's builder.
func (r *Runtime) BuildImage(ctx context.Context, b runtime.ImageBuild) error {
	if b.Tag == "" || b.Dockerfile == "" {
		return fmt.Errorf("build image: tag and Dockerfile are required")
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, b)) }()
	resp, err := r.cli.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{b.Tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("build %s: %w", b.Tag, err)
	}
	defer resp.Body.Close()
	if err := readStream(resp.Body); err != nil {
		return fmt.Errorf("build %s: %w", b.Tag, err)
	}
	return nil
}

func writeContext(w io.Writer, b runtime.ImageBuild) error {
	tw := tar.NewWriter(w)
	df := []byte(b.Dockerfile)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(df); err != nil {
		return err
	}
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := addFile(tw, n, b.Files[n]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: time.Unix(0, 0)}); err != nil {
		return fmt.Errorf("build context %s: %w", name, err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("build context %s: %w", name, err)
	}
	return nil
}

// Kill sends signal (e.g. "KILL") to a managed container, as `docker kill`
// does. Not part of runtime.Runtime: tests use it to crash containers.
func (r *Runtime) Kill(ctx context.Context, id, signal string) error {
	defer r.cache.drop(id)
	if _, err := r.Inspect(ctx, id); err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	if err := r.cli.ContainerKill(ctx, id, signal); err != nil {
		return fmt.Errorf("kill %s: %w", id, err)
	}
	return nil
}

// Events implements runtime.Runtime with the engine's event stream
// (container die events of managed containers).
func (r *Runtime) Events(ctx context.Context) (<-chan runtime.Event, error) {
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("event", string(events.ActionDie)),
		filters.Arg("label", runtime.LabelManaged+"=true"),
	)
	ctx, cancel := context.WithCancel(ctx)
	msgs, errs := r.cli.Events(ctx, events.ListOptions{Filters: f})
	out := make(chan runtime.Event, 64)
	go func() {
		defer cancel()
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-errs:
				return
			case m := <-msgs:
				// Before the event goes out: a sync it causes lists afresh.
				r.cache.drop(m.Actor.ID)
				ev := runtime.Event{ContainerID: m.Actor.ID, Labels: map[string]string{}}
				for k, v := range m.Actor.Attributes {
					if strings.HasPrefix(k, "io.kubelite.") {
						ev.Labels[k] = v
					}
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
