package docker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Announcing a container's address (see nlAttacher).

// portWait bounds how long announce waits for the host end's bridge port
// to forward. A port forwards once the bridge has seen the veth's carrier,
// which comes up with eth0, a moment later (the kernel's link events are
// handled in the background): a frame sent before is dropped by the
// bridge. After portWait the announcement is sent anyway.
const portWait = time.Second

// announce sends one gratuitous ARP for ip from eth0 (index eth0, MAC
// mac) in network namespace ns, once the bridge port of the host end
// (index hostIf, in the caller's namespace) forwards.
func announce(ctx context.Context, ns netns.NsHandle, hostIf, eth0 int, mac net.HardwareAddr, ip netip.Addr) error {
	frame, err := garpFrame(mac, ip)
	if err != nil {
		return fmt.Errorf("announce %s: %w", ip, err)
	}
	if err := waitForwarding(ctx, hostIf, portWait); err != nil {
		return fmt.Errorf("announce %s: %w", ip, err)
	}
	err = inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: eth0, Halen: 6}
		copy(to.Addr[:], broadcastMAC)
		if err := unix.Sendto(fd, frame, 0, to); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce %s: %w", ip, err)
	}
	return nil
}

// inNetns runs f on an OS thread of its own in network namespace ns (a
// socket is made in its thread's namespace). The thread goes
// back to its namespace after f; when it cannot, it is never unlocked, so
// it ends with its goroutine and nothing else runs in ns.
func inNetns(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("this thread's network namespace: %w", err)
			return
		}
		defer own.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter the container's network namespace: %w", err)
			return
		}
		ferr := f()
		if err := netns.Set(own); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("back to the runtime's network namespace: %w", err))
			return // the thread stays locked and ends with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// announceWarned is set once a failed announcement has been logged as a
// warning: the rest are logged at debug level (the cause, a packet socket
// refused or netlink failing, is the same for every pod).
var announceWarned atomic.Bool

// announceFailed logs a failed announcement of the container attached
// through hostIf.
func announceFailed(hostIf string, err error) {
	log := logrus.WithFields(logrus.Fields{"component": "docker", "veth": hostIf})
	if announceWarned.CompareAndSwap(false, true) {
		log.WithError(err).Warn("a pod's address was not announced: neighbours that asked for it early, or remember an earlier pod's MAC, learn it by their own timers (further failures are logged at debug level)")
		return
	}
	log.WithError(err).Debug("a pod's address was not announced")
}

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// garpFrame is the Ethernet frame of a gratuitous ARP request for ip from
// mac: broadcast, the sender's and the target's address both ip, as the
// kernel's own announcements (arp_notify) are.
func garpFrame(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("MAC %q is not Ethernet's", mac)
	}
	if !ip.Is4() {
		return nil, fmt.Errorf("address %s is not IPv4", ip)
	}
	f := make([]byte, 0, 42)
	f = append(f, broadcastMAC...)
	f = append(f, mac...)
	f = binary.BigEndian.AppendUint16(f, unix.ETH_P_ARP)
	f = binary.BigEndian.AppendUint16(f, 1)             // hardware: Ethernet
	f = binary.BigEndian.AppendUint16(f, unix.ETH_P_IP) // protocol: IPv4
	f = append(f, 6, 4)                                 // their lengths
	f = binary.BigEndian.AppendUint16(f, 1)             // a request
	f = append(f, mac...)
	f = append(f, ip.AsSlice()...)
	f = append(f, make([]byte, 6)...) // the target's MAC: unknown
	f = append(f, ip.AsSlice()...)
	return f, nil
}

// waitForwarding waits until the bridge port of link index forwards, at
// most within; then it returns nil either way (the frame is sent anyway).
// Errors are netlink's.
func waitForwarding(ctx context.Context, index int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for pause := 100 * time.Microsecond; ; pause = min(2*pause, 20*time.Millisecond) {
		state, err := bridgePortState(index)
		if err != nil {
			return err
		}
		if state == brStateForwarding || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// brStateForwarding is a bridge port's state once it forwards
// (BR_STATE_FORWARDING).
const brStateForwarding = 3

// bridgePortState is the state of the bridge port of link index
// (IFLA_BRPORT_STATE), from a dump of the bridge ports of the caller's
// network namespace.
func bridgePortState(index int) (uint8, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
		return 0, fmt.Errorf("bridge ports: %w", err)
	}
	// An interrupted dump (the links changed while it ran) still holds
	// every port it read; one missing reads as not a port, and the caller
	// asks again.
	return portState(msgs, index)
}

// portState finds link index's IFLA_BRPORT_STATE in the messages of a
// bridge port dump.
func portState(msgs [][]byte, index int) (uint8, error) {
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			continue
		}
		info := nl.DeserializeIfInfomsg(m)
		if int(info.Index) != index {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			return 0, fmt.Errorf("bridge port %d: %w", index, err)
		}
		for _, a := range attrs {
			if a.Attr.Type&^unix.NLA_F_NESTED != unix.IFLA_PROTINFO {
				continue
			}
			port, err := nl.ParseRouteAttr(a.Value)
			if err != nil {
				return 0, fmt.Errorf("bridge port %d: %w", index, err)
			}
			for _, p := range port {
				if p.Attr.Type == nl.IFLA_BRPORT_STATE && len(p.Value) == 1 {
					return p.Value[0], nil
				}
			}
		}
		return 0, fmt.Errorf("bridge port %d: no state", index)
	}
	return 0, fmt.Errorf("link %d is no bridge port", index)
}

// htons is v in network byte order, as the packet socket's protocol fields
// take it.
func htons(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}
