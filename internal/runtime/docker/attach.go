package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// attachment is what connecting one started container to a pod network
// takes: a veth pair, HostIf on Bridge, the other end eth0 in the network
// namespace of process PID with Addr, and a default route via Gateway.
type attachment struct {
	PID     int
	HostIf  string
	Bridge  string
	Addr    netip.Prefix // the container's address, with the subnet's length
	Gateway netip.Addr
}

// attacher plugs containers into pod networks (see attachment). Attach
// leaves nothing behind when it fails, as far as it can (the container's
// namespace going away takes the rest). Detach removes the host end of a
// veth; a missing one is not an error.
type attacher interface {
	Attach(ctx context.Context, a attachment) error
	Detach(ctx context.Context, hostIf string) error
}

// vethName is the host end of container id's veth: "klp" and the first 12
// characters of the ID (15, the kernel's limit). Distinct from the lab's
// "klv-<lab>-<i>".
func vethName(id string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	return "klp" + id
}

// nlAttacher is the real attacher: it speaks netlink (no ip or nsenter
// command): it makes the veth pair from the runtime's network namespace
// with its peer created as eth0 right in the container's (by its PID), the
// host end on the bridge, up, with the bridge's MTU and hairpin mode (a pod
// reaching itself through a service portal IP is sent back out of the port
// it came in on); then, through a netlink socket opened in the container's
// namespace, lo and eth0 up, the address and the default route.
//
// Last, eth0 announces its address (announce: a gratuitous ARP): a
// neighbour that asked for the address before the container had it (the
// host, probing a container the engine shows running a moment before its
// veth is attached), or that remembers the MAC of an earlier pod that had
// the address, learns eth0's at once instead of after its own timers (a
// second for a question unanswered, several for a stale answer).
type nlAttacher struct{}

var _ attacher = nlAttacher{}

// Attach implements attacher.
func (nlAttacher) Attach(ctx context.Context, a attachment) error {
	if a.PID <= 0 {
		return fmt.Errorf("attach %s: the container has no process", a.HostIf)
	}
	br, err := netlink.LinkByName(a.Bridge)
	if err != nil {
		return fmt.Errorf("attach %s: bridge %s: %w", a.HostIf, a.Bridge, err)
	}
	mtu := br.Attrs().MTU
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: a.HostIf, MTU: mtu, MasterIndex: br.Attrs().Index, Flags: net.FlagUp},
		PeerName:  "eth0", PeerMTU: uint32(mtu), PeerNamespace: netlink.NsPid(a.PID),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("attach %s to %s: veth pair: %w", a.HostIf, a.Bridge, err)
	}
	if err := setUp(ctx, a); err != nil {
		_ = nlAttacher{}.Detach(context.WithoutCancel(ctx), a.HostIf)
		return fmt.Errorf("attach %s to %s: %w", a.HostIf, a.Bridge, err)
	}
	return nil
}

// setUp sets hairpin mode on the host end of a's veth, then lo, eth0, its
// address and the default route in the container's namespace, and
// announces the address. The announcement is a speed-up, never a condition
// of the attach: when it fails the container is attached all the same and
// the failure logged (announceFailed).
func setUp(ctx context.Context, a attachment) error {
	host, err := netlink.LinkByName(a.HostIf)
	if err != nil {
		return fmt.Errorf("host end: %w", err)
	}
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("hairpin: %w", err)
	}
	ns, err := netns.GetFromPid(a.PID)
	if err != nil {
		return fmt.Errorf("the container's network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the container's namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("eth0: %w", err)
	}
	addr := &netlink.Addr{
		IPNet:     &net.IPNet{IP: a.Addr.Addr().AsSlice(), Mask: net.CIDRMask(a.Addr.Bits(), 32)},
		Broadcast: lastAddr(a.Addr).AsSlice(),
	}
	if err := h.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("eth0 address %s: %w", a.Addr, err)
	}
	if err := h.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("eth0 up: %w", err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: a.Gateway.AsSlice()}); err != nil {
		return fmt.Errorf("default route via %s: %w", a.Gateway, err)
	}
	if err := announce(ctx, ns, host.Attrs().Index, eth0.Attrs().Index, eth0.Attrs().HardwareAddr, a.Addr.Addr()); err != nil {
		announceFailed(a.HostIf, err)
	}
	return nil
}

// Detach implements attacher.
func (nlAttacher) Detach(ctx context.Context, hostIf string) error {
	l, err := netlink.LinkByName(hostIf)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil // most often the namespace went and the kernel removed the pair
		}
		return fmt.Errorf("detach %s: %w", hostIf, err)
	}
	if err := netlink.LinkDel(l); err != nil {
		if _, gone := netlink.LinkByName(hostIf); gone != nil {
			return nil
		}
		return fmt.Errorf("detach %s: %w", hostIf, err)
	}
	return nil
}
