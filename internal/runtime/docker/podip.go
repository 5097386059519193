package docker

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
)

// pickIP returns an address for a new pod in subnet: a host address (not
// the network or broadcast address, not gateway) that held does not
// contain. It searches downwards from the one below from (from the top of
// the subnet at first), wrapping: the engine's own address management hands
// out addresses from the bottom (a container someone runs on the network by
// hand), so the two meet only in a full subnet; and an address just
// released is reused last (other hosts' ARP and conntrack entries for it
// age out meanwhile). When every address is held it falls back to one held
// only by a container that no longer runs (held[a] == false): an exited
// container keeps its label until it is removed, but holds no address on
// the wire. ok is false when all are held by live containers.
func pickIP(subnet netip.Prefix, gateway, from netip.Addr, held map[netip.Addr]bool) (netip.Addr, bool) {
	subnet = subnet.Masked()
	first := subnet.Addr().Next()  // lowest host address
	top := lastAddr(subnet).Prev() // highest host address
	if !first.IsValid() || !top.IsValid() || top.Less(first) {
		return netip.Addr{}, false
	}
	start := top
	if p := from.Prev(); from.IsValid() && subnet.Contains(from) && p.IsValid() && !p.Less(first) && !top.Less(p) {
		start = p
	}
	var dead netip.Addr
	a := start
	for {
		if a != gateway {
			live, isHeld := held[a]
			if !isHeld {
				return a, true
			}
			if !live && !dead.IsValid() {
				dead = a
			}
		}
		if a == first {
			a = top
		} else {
			a = a.Prev()
		}
		if a == start {
			break
		}
	}
	return dead, dead.IsValid()
}

// lastAddr is the last address of p (its broadcast address).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := 32 - p.Bits()
	for i := 3; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	return netip.AddrFrom4(b)
}

// ipHolder is a managed container that holds an address on a pod network,
// as the engine's container list shows it.
type ipHolder struct {
	id   string
	ip   netip.Addr
	live bool   // created or running: the address is (or is about to be) in use
	pod  string // its pod's uid label ("" for none)
}

// ipPool hands out pod addresses on the pod networks this runtime attaches
// containers to (see pickIP), one set per network ID. What it knows: the
// containers that hold an address (from a list of the engine's managed
// containers, taken the first time a network is used and again when its
// addresses look exhausted) and the reservations and containers this
// runtime made since. Release forgets a removed container's address.
type ipPool struct {
	mu   sync.Mutex
	gen  uint64 // counts holds: a list taken before a hold does not drop it
	nets map[string]*netIPs
}

type netIPs struct {
	loaded bool
	last   netip.Addr // the address handed out last (pickIP's from)
	held   map[netip.Addr]heldIP
	byID   map[string]netip.Addr
}

type heldIP struct {
	id   string // "" while the container is being created
	live bool
	gen  uint64
	pod  string // the holder's pod uid ("" for none)
}

func newIPPool() *ipPool { return &ipPool{nets: map[string]*netIPs{}} }

func (p *ipPool) net(id string) *netIPs {
	n := p.nets[id]
	if n == nil {
		n = &netIPs{held: map[netip.Addr]heldIP{}, byID: map[string]netip.Addr{}}
		p.nets[id] = n
	}
	return n
}

// reserve picks and holds an address on pn for a container of pod (its
// uid; "" for none) about to be created (bind names it once it is). The
// address an earlier container of the same pod holds is taken back once
// running says that container no longer runs: a pod whose one container
// holds its network (no infra) keeps its address across restarts. Else
// pickIP chooses. load lists the engine's holders of addresses on pn; it is
// called before the network's first reservation and once more when no
// address is free.
func (p *ipPool) reserve(ctx context.Context, pn podNetwork, pod string, eng poolEngine) (netip.Addr, error) {
	// The engine's own endpoints are asked every time: a container run on
	// the network by hand gets an address the pool would not know of
	// until its next reload (the engine's bottom-up addresses meet the
	// pool's top-down ones once it has wrapped around the subnet).
	eps, err := eng.endpoints(ctx, pn)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("pod network %s: %w", pn.name, err)
	}
	reloaded, asked := false, pod == ""
	for {
		p.mu.Lock()
		n := p.net(pn.id)
		if n.loaded {
			p.holdEndpoints(n, eps, pn.subnet)
		}
		if n.loaded && !asked {
			if a, h, ok := n.podAddr(pod); ok {
				p.mu.Unlock()
				up := eng.running(ctx, h.id)
				asked = true
				p.mu.Lock()
				if cur, ok := n.held[a]; !up && ok && cur.id == h.id {
					a = p.take(n, a, pod)
					p.mu.Unlock()
					return a, nil
				}
				p.mu.Unlock()
				continue
			}
			asked = true
		}
		if n.loaded {
			held := make(map[netip.Addr]bool, len(n.held))
			for a, h := range n.held {
				held[a] = h.live
			}
			if a, ok := pickIP(pn.subnet, pn.gateway, n.last, held); ok {
				a = p.take(n, a, pod)
				n.last = a
				p.mu.Unlock()
				return a, nil
			}
			if reloaded {
				p.mu.Unlock()
				return netip.Addr{}, fmt.Errorf("pod network %s: no free address in %s (%d held by running or new containers)", pn.name, pn.subnet, len(n.held))
			}
		}
		gen := p.gen
		p.mu.Unlock()
		hs, err := eng.load(ctx, pn)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("pod network %s: list the addresses in use: %w", pn.name, err)
		}
		p.mu.Lock()
		p.net(pn.id).rebuild(hs, gen, pn.subnet)
		p.mu.Unlock()
		reloaded = true
	}
}

// poolEngine is what the pool asks the engine (the Runtime's methods; fakes
// in tests).
type poolEngine struct {
	// load lists every holder of an address on a pod network (the pool's
	// first use of the network, and when no address looks free).
	load func(context.Context, podNetwork) ([]ipHolder, error)
	// endpoints lists the containers the engine attached to it, asked
	// before every reservation.
	endpoints func(context.Context, podNetwork) ([]ipHolder, error)
	// running reports whether a container still runs.
	running func(ctx context.Context, id string) bool
}

// holdEndpoints records the engine's endpoints eps on n as live holders
// where the pool knows of no live holder (p.mu held).
func (p *ipPool) holdEndpoints(n *netIPs, eps []ipHolder, subnet netip.Prefix) {
	for _, e := range eps {
		if h, ok := n.held[e.ip]; !subnet.Contains(e.ip) || ok && (h.live || h.id == e.id) {
			continue
		}
		p.gen++
		n.held[e.ip] = heldIP{id: e.id, live: true, gen: p.gen}
		n.byID[e.id] = e.ip
	}
}

// podAddr returns the address a container of pod holds on n (the newest
// such hold), if any.
func (n *netIPs) podAddr(pod string) (netip.Addr, heldIP, bool) {
	var best netip.Addr
	var bh heldIP
	for a, h := range n.held {
		if h.pod == pod && h.id != "" && (!best.IsValid() || h.gen > bh.gen) {
			best, bh = a, h
		}
	}
	return best, bh, best.IsValid()
}

// take holds a on n for a new container of pod (p.mu held), dropping the
// earlier holder's claim, and returns a.
func (p *ipPool) take(n *netIPs, a netip.Addr, pod string) netip.Addr {
	if old, ok := n.held[a]; ok && old.id != "" {
		delete(n.byID, old.id) // an exited container's address, taken over
	}
	p.gen++
	n.held[a] = heldIP{live: true, gen: p.gen, pod: pod}
	return a
}

// rebuild replaces what n knows by hs, keeping the reservations in flight
// and whatever was held after the list began (gen).
func (n *netIPs) rebuild(hs []ipHolder, gen uint64, subnet netip.Prefix) {
	held := map[netip.Addr]heldIP{}
	byID := map[string]netip.Addr{}
	for _, h := range hs {
		if !subnet.Contains(h.ip) {
			continue
		}
		if old, ok := held[h.ip]; ok && old.live && !h.live {
			continue // a running holder wins over an exited one
		}
		held[h.ip] = heldIP{id: h.id, live: h.live, pod: h.pod}
		byID[h.id] = h.ip
	}
	for a, h := range n.held {
		if h.id == "" || h.gen > gen {
			held[a] = h
			if h.id != "" {
				byID[h.id] = a
			}
		}
	}
	n.held, n.byID, n.loaded = held, byID, true
}

// bind names the container (of pod) that got the reservation a; with id ""
// it drops the reservation (the create failed).
func (p *ipPool) bind(netID string, a netip.Addr, id, pod string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.net(netID)
	if id == "" {
		if h, ok := n.held[a]; ok && h.id == "" {
			delete(n.held, a)
		}
		return
	}
	p.gen++
	n.held[a] = heldIP{id: id, live: true, gen: p.gen, pod: pod}
	n.byID[id] = a
}

// release forgets the address of container id (removed), on any network.
func (p *ipPool) release(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.nets {
		if a, ok := n.byID[id]; ok {
			delete(n.byID, id)
			if n.held[a].id == id {
				delete(n.held, a)
			}
		}
	}
}

// forget drops a network's addresses (the network was removed or replaced).
func (p *ipPool) forget(netID string) {
	p.mu.Lock()
	delete(p.nets, netID)
	p.mu.Unlock()
}
