package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"kubelite/internal/runtime"
)

// Labels the runtime puts on a pod network's infra containers when it
// attaches them itself (PodAttachKubelet).
const (
	// LabelPodIP is the container's address on its pod network, chosen by
	// the runtime (see ipPool).
	LabelPodIP = "io.kubelite.pod.ip"
	// LabelPodNetwork is the ID of that network.
	LabelPodNetwork = "io.kubelite.pod.network"
	// LabelPodVeth is "true" on a container the runtime attached with a
	// veth pair (vethName) instead of the engine: it is created with
	// network mode none.
	LabelPodVeth = "io.kubelite.pod.veth"
)

// How a pod network's infra containers get their address (New's option).
const (
	// PodAttachKubelet: a container without host ports is created with
	// network mode none and attached by the runtime after it starts (a veth
	// into the network's bridge); one with host ports joins the engine's
	// network (the engine forwards its ports) at an address the runtime
	// chose. The engine's embedded DNS resolver, whose set-up in every new
	// container on a user-defined network costs the engine more than the
	// rest of the start, is not set up for the first kind.
	PodAttachKubelet = "kubelet"
	// PodAttachDocker: every container on a pod network joins the engine's
	// network, which picks its address (kubelite before issue 16).
	PodAttachDocker = "docker"
)

// Option configures New.
type Option func(*Runtime)

// WithPodAttach selects how containers join pod networks: PodAttachKubelet
// (the default, also for "") or PodAttachDocker.
func WithPodAttach(mode string) Option {
	return func(r *Runtime) {
		if mode != "" {
			r.podAttach = mode
		}
	}
}

// CheckPodAttach refuses an unknown pod attach mode.
func CheckPodAttach(mode string) error {
	switch mode {
	case PodAttachKubelet, PodAttachDocker:
		return nil
	}
	return fmt.Errorf("pod attach %q: want %s or %s", mode, PodAttachKubelet, PodAttachDocker)
}

// podNetwork is a pod network (made by EnsureNetwork) as the runtime needs
// it to attach containers.
type podNetwork struct {
	id, name, bridge string
	subnet           netip.Prefix
	gateway          netip.Addr
}

// netCache remembers the pod networks by name, and which network IDs still
// exist, so neither Create nor Inspect asks the engine each time.
type netCache struct {
	mu      sync.Mutex
	byName  map[string]podNetwork
	current map[string]bool // network ID: false once removed or replaced
}

func newNetCache() *netCache {
	return &netCache{byName: map[string]podNetwork{}, current: map[string]bool{}}
}

func (nc *netCache) put(pn podNetwork) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	if old, ok := nc.byName[pn.name]; ok && old.id != pn.id {
		nc.current[old.id] = false
	}
	nc.byName[pn.name] = pn
	nc.current[pn.id] = true
}

func (nc *netCache) gone(name, id string) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	if nc.byName[name].id == id {
		delete(nc.byName, name)
	}
	nc.current[id] = false
}

// markGone records that network id no longer exists.
func (nc *netCache) markGone(id string) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	nc.current[id] = false
}

func (nc *netCache) get(name string) (podNetwork, bool) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	pn, ok := nc.byName[name]
	return pn, ok
}

func (nc *netCache) isCurrent(id string) (current, known bool) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	current, known = nc.current[id]
	return current, known
}

// toPodNetwork reads a managed pod network's inspect; ok is false for any
// other network.
func toPodNetwork(in network.Inspect) (podNetwork, bool) {
	if !managed(in.Labels) || in.Driver != "bridge" || len(in.IPAM.Config) != 1 || in.Options[optBridgeName] == "" {
		return podNetwork{}, false
	}
	subnet, err := netip.ParsePrefix(in.IPAM.Config[0].Subnet)
	if err != nil || !subnet.Addr().Is4() {
		return podNetwork{}, false
	}
	gw, err := netip.ParseAddr(in.IPAM.Config[0].Gateway)
	if err != nil {
		return podNetwork{}, false
	}
	return podNetwork{id: in.ID, name: in.Name, bridge: in.Options[optBridgeName], subnet: subnet, gateway: gw}, true
}

// engineNetworkMode reports whether mode names the engine's own modes or
// another container's namespace (not a network of EnsureNetwork).
func engineNetworkMode(mode string) bool {
	switch mode {
	case "", "none", "host", "bridge", "default":
		return true
	}
	return strings.HasPrefix(mode, "container:")
}

// podNetworkOf returns the pod network a container with network mode mode
// is to join when this runtime attaches it: ok is false when the mode is
// not a managed pod network (the engine handles it as before) or the
// runtime leaves pod networks to the engine (PodAttachDocker).
func (r *Runtime) podNetworkOf(ctx context.Context, mode string) (podNetwork, bool, error) {
	if r.podAttach != PodAttachKubelet || engineNetworkMode(mode) {
		return podNetwork{}, false, nil
	}
	if pn, ok := r.nets.get(mode); ok {
		return pn, true, nil
	}
	in, err := r.cli.NetworkInspect(ctx, mode, network.InspectOptions{})
	if client.IsErrNotFound(err) {
		return podNetwork{}, false, nil // the engine's create says so
	}
	if err != nil {
		return podNetwork{}, false, fmt.Errorf("inspect network %s: %w", mode, err)
	}
	pn, ok := toPodNetwork(in)
	if ok {
		r.nets.put(pn)
	}
	return pn, ok, nil
}

// networkCurrent reports whether pod network id still exists (a container
// labelled with a removed or replaced network has no address on it).
func (r *Runtime) networkCurrent(ctx context.Context, id string) bool {
	if cur, known := r.nets.isCurrent(id); known {
		return cur
	}
	in, err := r.cli.NetworkInspect(ctx, id, network.InspectOptions{})
	switch {
	case client.IsErrNotFound(err):
		r.nets.markGone(id)
		return false
	case err != nil:
		return true // not known now: ask again next time
	}
	if pn, ok := toPodNetwork(in); ok {
		r.nets.put(pn)
		return true
	}
	return false
}

// podIP fills in c.IP from LabelPodIP for a running container this runtime
// attached (the engine knows no address for it), while its network exists.
func (r *Runtime) podIP(ctx context.Context, c *runtime.Container) {
	ip := c.Labels[LabelPodIP]
	if ip == "" || c.IP != "" || c.State != runtime.StateRunning || c.Labels[LabelPodVeth] != "true" {
		return
	}
	if r.networkCurrent(ctx, c.Labels[LabelPodNetwork]) {
		c.IP = ip
	}
}

// podPlan is how Create puts a container on a pod network.
type podPlan struct {
	net  podNetwork
	addr netip.Addr
	veth bool // network mode none, attached at Start; else the engine's network at addr
}

// hasHostPorts reports whether spec publishes a port on the host.
func hasHostPorts(spec runtime.ContainerSpec) bool {
	for _, p := range spec.Ports {
		if p.HostPort != 0 {
			return true
		}
	}
	return false
}

// applyPodPlan sets what plan decides on the container's configuration:
// labels, network mode, the pod's own name in /etc/hosts, and for the
// engine's network the address.
func applyPodPlan(plan podPlan, spec runtime.ContainerSpec, cfg *container.Config, hc *container.HostConfig) *network.NetworkingConfig {
	cfg.Labels[LabelPodIP] = plan.addr.String()
	cfg.Labels[LabelPodNetwork] = plan.net.id
	if !plan.veth {
		return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			plan.net.name: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: plan.addr.String()}},
		}}
	}
	cfg.Labels[LabelPodVeth] = "true"
	hc.NetworkMode = "none"
	cfg.ExposedPorts = nil
	hc.PortBindings = nil
	if spec.Hostname != "" {
		hc.ExtraHosts = append(hc.ExtraHosts, spec.Hostname+":"+plan.addr.String())
	}
	return nil
}

// listIPHolders lists the containers holding an address on pn: managed
// ones by label (LabelPodNetwork, LabelPodIP) or as the engine's endpoints
// on it (containers made before, or with PodAttachDocker), and any other
// container the engine attached to it (docker run --network by hand).
func (r *Runtime) listIPHolders(ctx context.Context, pn podNetwork) ([]ipHolder, error) {
	out, err := r.engineEndpoints(ctx, pn)
	if err != nil {
		return nil, err
	}
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelManaged+"=true"))})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range list {
		live := c.State == "created" || c.State == "running" || c.State == "paused" || c.State == "restarting"
		if c.Labels[LabelPodNetwork] == pn.id {
			if a, err := netip.ParseAddr(c.Labels[LabelPodIP]); err == nil {
				out = append(out, ipHolder{id: c.ID, ip: a, live: live, pod: c.Labels[runtime.LabelPodUID]})
			}
		}
		if c.NetworkSettings == nil {
			continue
		}
		for _, e := range c.NetworkSettings.Networks {
			if e == nil || e.NetworkID != pn.id {
				continue
			}
			if a, err := netip.ParseAddr(e.IPAddress); err == nil {
				out = append(out, ipHolder{id: c.ID, ip: a, live: live, pod: c.Labels[runtime.LabelPodUID]})
			}
		}
	}
	return out, nil
}

// running reports whether container id runs (or is being created or
// started); a failed inspect says it does, so its address is not taken.
func (r *Runtime) running(ctx context.Context, id string) bool {
	in, err := r.cli.ContainerInspect(ctx, id)
	if client.IsErrNotFound(err) {
		return false
	}
	if err != nil || in.ContainerJSONBase == nil || in.State == nil {
		return true
	}
	return in.State.Running || in.State.Restarting || in.State.Status == "created"
}

// engineEndpoints lists the containers the engine itself attached to pn
// (host-port pods, and any container run on it by hand, which the engine
// gives addresses from the bottom of the subnet) with their addresses.
func (r *Runtime) engineEndpoints(ctx context.Context, pn podNetwork) ([]ipHolder, error) {
	in, err := r.cli.NetworkInspect(ctx, pn.id, network.InspectOptions{})
	if err != nil && !client.IsErrNotFound(err) {
		return nil, fmt.Errorf("inspect network %s: %w", pn.name, err)
	}
	var out []ipHolder
	for id, e := range in.Containers {
		if p, err := netip.ParsePrefix(e.IPv4Address); err == nil {
			out = append(out, ipHolder{id: id, ip: p.Addr(), live: true})
		}
	}
	return out, nil
}

// takePending returns and forgets the attachment Create planned for id.
func (r *Runtime) takePending(id string) (attachment, bool) {
	r.pendMu.Lock()
	defer r.pendMu.Unlock()
	a, ok := r.pending[id]
	delete(r.pending, id)
	return a, ok
}

// attach connects started container id to its pod network (a): the veth
// pair, eth0 and the route. The caller removes the container if it fails.
func (r *Runtime) attach(ctx context.Context, id string, a attachment) error {
	in, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if in.ContainerJSONBase == nil || in.State == nil || !in.State.Running || in.State.Pid <= 0 {
		return errors.New("the container is not running")
	}
	a.PID = in.State.Pid
	a.HostIf = vethName(id)
	return r.attacher.Attach(ctx, a)
}

// detachNetwork removes the veths of the running containers this runtime
// attached to network id (it is being removed: they lose their address, as
// the engine's disconnect does to its own).
func (r *Runtime) detachNetwork(ctx context.Context, id string) error {
	list, err := r.listAttached(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range list {
		r.cache.drop(c.ID) // List's cached inspect has the address
		if err := r.attacher.Detach(ctx, vethName(c.ID)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// attachedRunning counts the running containers this runtime attached to
// network id.
func (r *Runtime) attachedRunning(ctx context.Context, id string) (int, error) {
	list, err := r.listAttached(ctx, id)
	return len(list), err
}

// listAttached lists the running containers this runtime attached to
// network id.
func (r *Runtime) listAttached(ctx context.Context, id string) ([]container.Summary, error) {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", runtime.LabelManaged+"=true"), filters.Arg("label", LabelPodNetwork+"="+id), filters.Arg("label", LabelPodVeth+"=true"))})
	if err != nil {
		return nil, fmt.Errorf("list attached containers: %w", err)
	}
	return list, nil
}
