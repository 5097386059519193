package docker

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"kubelite/internal/runtime"
)

// Bridge driver options kubelite sets on a pod network.
const (
	optBridgeName = "com.docker.network.bridge.name"
	// The engine would masquerade everything leaving the subnet, pod to pod
	// across minions included; podnet masquerades only what leaves the
	// cluster.
	optMasquerade = "com.docker.network.bridge.enable_ip_masquerade"
	optICC        = "com.docker.network.bridge.enable_icc"
)

func networkOptions(spec runtime.NetworkSpec) map[string]string {
	return map[string]string{optBridgeName: spec.Bridge, optMasquerade: "false", optICC: "true"}
}

// sameNetwork reports whether an existing network has spec's settings.
func sameNetwork(in network.Inspect, spec runtime.NetworkSpec) bool {
	if in.Driver != "bridge" || len(in.IPAM.Config) != 1 {
		return false
	}
	c := in.IPAM.Config[0]
	if c.Subnet != spec.Subnet || c.Gateway != spec.Gateway {
		return false
	}
	for k, v := range networkOptions(spec) {
		if in.Options[k] != v {
			return false
		}
	}
	return true
}

func toNetwork(in network.Inspect, spec runtime.NetworkSpec) runtime.Network {
	n := runtime.Network{ID: in.ID, Name: in.Name, Bridge: in.Options[optBridgeName], Labels: in.Labels}
	if len(in.IPAM.Config) > 0 {
		n.Subnet, n.Gateway = in.IPAM.Config[0].Subnet, in.IPAM.Config[0].Gateway
	}
	if n.Name == "" {
		n.Name = spec.Name
	}
	return n
}

// EnsureNetwork implements runtime.Runtime.
func (r *Runtime) EnsureNetwork(ctx context.Context, spec runtime.NetworkSpec) (runtime.Network, error) {
	spec, err := runtime.CheckNetworkSpec(spec)
	if err != nil {
		return runtime.Network{}, err
	}
	recreated := false
	in, err := r.cli.NetworkInspect(ctx, spec.Name, network.InspectOptions{})
	switch {
	case err == nil && !managed(in.Labels):
		return runtime.Network{}, fmt.Errorf("network %s: %w", spec.Name, runtime.ErrNetworkNotManaged)
	case err == nil && sameNetwork(in, spec):
		if pn, ok := toPodNetwork(in); ok {
			r.nets.put(pn)
		}
		return toNetwork(in, spec), nil
	case err == nil:
		if err := r.removeNetwork(ctx, in); err != nil {
			return runtime.Network{}, fmt.Errorf("replace network %s: %w", spec.Name, err)
		}
		recreated = true
	case !client.IsErrNotFound(err):
		return runtime.Network{}, fmt.Errorf("inspect network %s: %w", spec.Name, err)
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelManaged] = "true"
	created, err := r.cli.NetworkCreate(ctx, spec.Name, network.CreateOptions{
		Driver: "bridge",
		IPAM: &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{
			Subnet: spec.Subnet, Gateway: spec.Gateway,
		}}},
		Options: networkOptions(spec),
		Labels:  labels,
	})
	if err != nil {
		return runtime.Network{}, fmt.Errorf("create network %s (%s on %s): %w", spec.Name, spec.Subnet, spec.Bridge, err)
	}
	subnet, _ := netip.ParsePrefix(spec.Subnet) // CheckNetworkSpec parsed both
	gw, _ := netip.ParseAddr(spec.Gateway)
	r.nets.put(podNetwork{id: created.ID, name: spec.Name, bridge: spec.Bridge, subnet: subnet, gateway: gw})
	return runtime.Network{
		ID: created.ID, Name: spec.Name, Bridge: spec.Bridge, Subnet: spec.Subnet, Gateway: spec.Gateway,
		Labels: labels, Recreated: recreated,
	}, nil
}

// removeNetwork disconnects every container from in (the engine's and
// this runtime's), then removes it.
func (r *Runtime) removeNetwork(ctx context.Context, in network.Inspect) error {
	if err := r.detachNetwork(ctx, in.ID); err != nil {
		return err
	}
	for id := range in.Containers {
		if err := r.cli.NetworkDisconnect(ctx, in.ID, id, true); err != nil && !client.IsErrNotFound(err) {
			return fmt.Errorf("disconnect %s: %w", shortID(id), err)
		}
	}
	if err := r.cli.NetworkRemove(ctx, in.ID); err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove network %s: %w", in.Name, err)
	}
	r.nets.gone(in.Name, in.ID)
	r.pool.forget(in.ID)
	return nil
}

// RemoveNetwork implements runtime.Runtime.
func (r *Runtime) RemoveNetwork(ctx context.Context, name string) error {
	in, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if client.IsErrNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", name, err)
	}
	if !managed(in.Labels) {
		return fmt.Errorf("network %s: %w", name, runtime.ErrNetworkNotManaged)
	}
	// The engine refuses while its own endpoints run; this runtime's
	// attached containers are not its endpoints.
	n, err := r.attachedRunning(ctx, in.ID)
	if err != nil {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	if n > 0 {
		return fmt.Errorf("remove network %s: %d running containers are attached to it", name, n)
	}
	if err := r.cli.NetworkRemove(ctx, in.ID); err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	r.nets.gone(name, in.ID)
	r.pool.forget(in.ID)
	return nil
}
