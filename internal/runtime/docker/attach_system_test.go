package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"kubelite/internal/testutil"
)

// TestAttachAnnouncesAddress: a container the real attacher plugs in
// announces its address once its bridge port forwards, so the host's
// neighbour entry for it is right at once: when the host asked for the
// address before the container had it (the entry waits, unanswered), and
// when it remembers another MAC for it (an earlier pod's). The bridge's
// neighbour timers are set to 30 s, so without the announcement neither
// entry would change within the test's 5 s.
func TestAttachAnnouncesAddress(t *testing.T) {
	testutil.RequireRoot(t)
	pid := os.Getpid()
	bridge := fmt.Sprintf("klga%d", pid%1e7)
	subnet := netip.MustParsePrefix(fmt.Sprintf("10.251.%d.0/24", pid%250))
	gw := subnet.Addr().Next()
	// A MAC of its own, as an engine's bridges have: a bridge without one
	// takes its ports' lowest, and a change flushes its neighbour entries.
	brMAC, _ := net.ParseMAC("02:00:00:00:01:01")
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridge, HardwareAddr: brMAC}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatalf("bridge: %v", err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(br); err != nil {
			t.Errorf("cleanup: bridge %s: %v", bridge, err)
		}
	})
	if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(subnet.Bits(), 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	// A port up for the whole test, as an engine's bridge has its other
	// containers': a bridge with none loses its carrier, and with it its
	// neighbour entries.
	anchor := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("klgp%d", pid%1e7),
		MasterIndex: br.Attrs().Index, Flags: net.FlagUp}, PeerName: fmt.Sprintf("klgq%d", pid%1e7)}
	if err := netlink.LinkAdd(anchor); err != nil {
		t.Fatalf("anchor port: %v", err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(anchor); err != nil {
			t.Errorf("cleanup: %s: %v", anchor.Name, err)
		}
	})
	if peer, err := netlink.LinkByName(anchor.PeerName); err != nil {
		t.Fatal(err)
	} else if err := netlink.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() error {
		st, err := bridgePortState(anchor.Attrs().Index)
		if err == nil && st != brStateForwarding {
			err = fmt.Errorf("port state %d", st)
		}
		return err
	}, "the anchor port forwards")
	for knob, v := range map[string]string{"retrans_time_ms": "30000", "base_reachable_time_ms": "30000", "delay_first_probe_time": "30"} {
		if err := os.WriteFile("/proc/sys/net/ipv4/neigh/"+bridge+"/"+knob, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	brIndex := br.Attrs().Index
	earlierMAC, _ := net.ParseMAC("02:00:00:00:00:01")

	cases := []struct {
		name   string
		before func(t *testing.T, ip netip.Addr) // the host's entry for ip before the attach
	}{
		{"asked before it was there", func(t *testing.T, ip netip.Addr) {
			c, err := net.Dial("udp", net.JoinHostPort(ip.String(), "9"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 5*time.Second, func() error {
				n, err := neighbour(brIndex, ip)
				if err != nil {
					return err
				}
				if n.State != netlink.NUD_INCOMPLETE {
					return fmt.Errorf("entry in state %#x, want incomplete", n.State)
				}
				return nil
			}, "the host's question for %s", ip)
		}},
		{"an earlier pod's MAC", func(t *testing.T, ip netip.Addr) {
			err := netlink.NeighSet(&netlink.Neigh{LinkIndex: brIndex, Family: netlink.FAMILY_V4,
				IP: ip.AsSlice(), HardwareAddr: earlierMAC, State: netlink.NUD_STALE})
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	ip := gw
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ip = ip.Next()
			proc := exec.Command("sleep", "300")
			proc.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
			if err := proc.Start(); err != nil {
				t.Fatalf("a process in a network namespace of its own: %v", err)
			}
			t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })
			tc.before(t, ip)
			a := attachment{PID: proc.Process.Pid, HostIf: fmt.Sprintf("klgv%d%d", pid%1e6, i),
				Bridge: bridge, Addr: netip.PrefixFrom(ip, subnet.Bits()), Gateway: gw}
			if err := (nlAttacher{}).Attach(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := (nlAttacher{}).Detach(context.Background(), a.HostIf); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
			want := eth0MAC(t, proc.Process.Pid)
			testutil.Eventually(t, 5*time.Second, func() error {
				n, err := neighbour(brIndex, ip)
				if err != nil {
					return err
				}
				if n.State&nudValid == 0 || n.HardwareAddr.String() != want.String() {
					return fmt.Errorf("entry %s in state %#x, want %s", n.HardwareAddr, n.State, want)
				}
				return nil
			}, "the host's entry for %s after the attach", ip)
		})
	}
}

// nudValid are the states of a neighbour entry with a usable MAC (the
// kernel's NUD_VALID).
const nudValid = netlink.NUD_PERMANENT | netlink.NUD_NOARP | netlink.NUD_REACHABLE |
	netlink.NUD_PROBE | netlink.NUD_STALE | netlink.NUD_DELAY

// neighbour is the host's neighbour entry for ip on the link at index.
func neighbour(index int, ip netip.Addr) (netlink.Neigh, error) {
	ns, err := netlink.NeighList(index, netlink.FAMILY_V4)
	if err != nil {
		return netlink.Neigh{}, err
	}
	for _, n := range ns {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == ip {
			return n, nil
		}
	}
	return netlink.Neigh{}, fmt.Errorf("no entry for %s", ip)
}

// eth0MAC is the MAC of eth0 in the network namespace of process pid.
func eth0MAC(t *testing.T, pid int) net.HardwareAddr {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().HardwareAddr
}
