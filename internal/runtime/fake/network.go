package fake

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	"kubelite/internal/runtime"
)

// network is a pod network in memory: its spec and the addresses in use.
type network struct {
	n    runtime.Network
	used map[netip.Addr]string // address -> container id
}

func sameNetwork(n runtime.Network, spec runtime.NetworkSpec) bool {
	return n.Bridge == spec.Bridge && n.Subnet == spec.Subnet && n.Gateway == spec.Gateway
}

// EnsureNetwork implements runtime.Runtime.
func (r *Runtime) EnsureNetwork(ctx context.Context, spec runtime.NetworkSpec) (runtime.Network, error) {
	spec, err := runtime.CheckNetworkSpec(spec)
	if err != nil {
		return runtime.Network{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	recreated := false
	if old, ok := r.networks[spec.Name]; ok {
		if sameNetwork(old.n, spec) {
			return cloneNetwork(old.n), nil
		}
		r.removeNetworkLocked(old)
		recreated = true
	}
	for _, o := range r.networks {
		if o.n.Bridge == spec.Bridge {
			return runtime.Network{}, fmt.Errorf("create network %s: bridge %s is used by network %s", spec.Name, spec.Bridge, o.n.Name)
		}
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelManaged] = "true"
	n := runtime.Network{
		ID: fmt.Sprintf("%064x", nextID.Add(1)), Name: spec.Name, Bridge: spec.Bridge,
		Subnet: spec.Subnet, Gateway: spec.Gateway, Labels: labels,
	}
	if r.networks == nil {
		r.networks = map[string]*network{}
	}
	r.networks[spec.Name] = &network{n: n, used: map[netip.Addr]string{}}
	r.rec("network %s %s", spec.Name, spec.Subnet)
	out := cloneNetwork(n)
	out.Recreated = recreated
	return out, nil
}

func cloneNetwork(n runtime.Network) runtime.Network {
	n.Labels = maps.Clone(n.Labels)
	return n
}

// RemoveNetwork implements runtime.Runtime.
func (r *Runtime) RemoveNetwork(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.networks[name]
	if !ok {
		return nil
	}
	if len(n.used) > 0 {
		return fmt.Errorf("remove network %s: %d containers are attached", name, len(n.used))
	}
	r.removeNetworkLocked(n)
	return nil
}

// removeNetworkLocked disconnects the network's containers (they keep
// running without an address, as on Docker) and forgets it.
func (r *Runtime) removeNetworkLocked(n *network) {
	for _, id := range n.used {
		if c, ok := r.containers[id]; ok {
			c.c.IP = ""
		}
	}
	delete(r.networks, n.n.Name)
	r.rec("network-remove %s", n.n.Name)
}

// Networks returns the networks present (for tests).
func (r *Runtime) Networks() []runtime.Network {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.Network
	for _, n := range r.networks {
		out = append(out, cloneNetwork(n.n))
	}
	return out
}

// allocLocked gives container id the lowest free host address of network
// name, skipping the gateway and the broadcast address.
func (r *Runtime) allocLocked(name, id string) (string, error) {
	n, ok := r.networks[name]
	if !ok {
		return "", fmt.Errorf("network %s not found", name)
	}
	p := netip.MustParsePrefix(n.n.Subnet)
	gw := netip.MustParseAddr(n.n.Gateway)
	for a := p.Addr().Next(); p.Contains(a) && p.Contains(a.Next()); a = a.Next() {
		if _, taken := n.used[a]; taken || a == gw {
			continue
		}
		n.used[a] = id
		return a.String(), nil
	}
	return "", fmt.Errorf("network %s: no address left in %s", name, n.n.Subnet)
}

// releaseLocked frees the address container c holds on its network.
func (r *Runtime) releaseLocked(c *ctr) {
	n, ok := r.networks[c.spec.NetworkMode]
	if !ok || c.c.IP == "" {
		return
	}
	if a, err := netip.ParseAddr(c.c.IP); err == nil && n.used[a] == c.c.ID {
		delete(n.used, a)
	}
	c.c.IP = "" // as on Docker: a stopped container has no address

}
