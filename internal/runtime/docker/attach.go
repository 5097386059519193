package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
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

// attachScripts returns the `ip -batch` text run in the runtime's network
// namespace (the veth pair, its host end on the bridge with hairpin mode:
// a pod reaching itself through a service portal IP is sent back out of
// the port it came in on) and the one run in the container's (lo, eth0,
// the default route). mtu is the bridge's.
func attachScripts(a attachment, mtu int) (host, inner string) {
	host = fmt.Sprintf("link add %s mtu %d type veth peer name eth0 mtu %d netns %d\n", a.HostIf, mtu, mtu, a.PID) +
		fmt.Sprintf("link set dev %s master %s up\n", a.HostIf, a.Bridge) +
		fmt.Sprintf("link set dev %s type bridge_slave hairpin on\n", a.HostIf)
	inner = "link set dev lo up\n" +
		fmt.Sprintf("addr add %s brd + dev eth0\n", a.Addr) +
		"link set dev eth0 up\n" +
		fmt.Sprintf("route add default via %s dev eth0\n", a.Gateway)
	return host, inner
}

// ipAttacher is the real attacher: it runs the ip command (iproute2) in
// the runtime's network namespace and, through nsenter (util-linux), in
// the container's. It reads the bridge's MTU through the net package
// (netlink: the calling process's namespace, whatever /sys shows).
type ipAttacher struct {
	// run runs argv with stdin and returns its output; nil runs it with os/exec.
	run func(ctx context.Context, stdin string, argv ...string) ([]byte, error)
}

var _ attacher = ipAttacher{}

func (ia ipAttacher) exec(ctx context.Context, stdin string, argv ...string) ([]byte, error) {
	if ia.run != nil {
		return ia.run(ctx, stdin, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Attach implements attacher.
func (ia ipAttacher) Attach(ctx context.Context, a attachment) error {
	if a.PID <= 0 {
		return fmt.Errorf("attach %s: the container has no process", a.HostIf)
	}
	br, err := net.InterfaceByName(a.Bridge)
	if err != nil {
		return fmt.Errorf("attach %s: bridge %s: %w", a.HostIf, a.Bridge, err)
	}
	host, inner := attachScripts(a, br.MTU)
	if _, err := ia.exec(ctx, host, "ip", "-batch", "-"); err != nil {
		_ = ia.Detach(context.WithoutCancel(ctx), a.HostIf)
		return fmt.Errorf("attach %s to %s: %w", a.HostIf, a.Bridge, err)
	}
	if _, err := ia.exec(ctx, inner, "nsenter", "-t", strconv.Itoa(a.PID), "-n", "ip", "-batch", "-"); err != nil {
		_ = ia.Detach(context.WithoutCancel(ctx), a.HostIf)
		return fmt.Errorf("attach %s: set up eth0 in the container: %w", a.HostIf, err)
	}
	return nil
}

// Detach implements attacher.
func (ia ipAttacher) Detach(ctx context.Context, hostIf string) error {
	if ia.run == nil {
		// Most often the container's namespace went with it and the
		// kernel removed the pair: no ip command for nothing.
		if _, err := net.InterfaceByName(hostIf); err != nil {
			return nil
		}
	}
	if _, err := ia.exec(ctx, "", "ip", "link", "del", "dev", hostIf); err != nil {
		if s := err.Error(); strings.Contains(s, "Cannot find device") || strings.Contains(s, "does not exist") {
			return nil
		}
		return fmt.Errorf("detach: %w", err)
	}
	return nil
}
