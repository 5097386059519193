package lab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
)

// Config describes a lab. Only Name and Minions are needed; the rest has defaults.
type Config struct {
	// Name identifies the lab: 1 to 8 characters of [a-z0-9]. Every name the lab
	// gives to a link, namespace, chain or directory derives from it, which is
	// what lets Cleanup(Name) find the leftovers of a crashed run.
	Name string
	// Minions is the number of minion hosts, 1 to 15 (0 means 2).
	Minions int
	// Masters is the number of master hosts, 1 to 8 (0 means 1). One master
	// is the host "master" at .2; several are master1..N at .2, .3, ...
	// With several masters every host also has a host name of its own (its
	// namespace's name, in a UTS namespace of each process the lab runs
	// there), as separate machines have: masters name their etcd members and
	// leader identity after their host name.
	Masters int
	// Index picks the lab's subnets so that labs with different names can run at
	// once: hosts live in 198.18.<Index>.0/24 and minion i's docker0 in
	// 198.19.<Index*16+i>.0/24. 0 to 15.
	Index int
	// Root holds the engines' data roots and the logs (default
	// /var/lib/kubelite-lab/<Name>); RunDir their exec roots, sockets and pid
	// files (default /run/kubelite-lab/<Name>). Both are removed on teardown.
	Root   string
	RunDir string
	// LogDir receives the log of every process the lab starts (default
	// <Root>/logs, removed on teardown; set it elsewhere to keep the logs).
	LogDir string
	// StorageDriver of the minion engines (default overlay2).
	StorageDriver string
	// SourceDocker is the engine LoadImages copies images from (default: the
	// DOCKER_HOST environment variable, else api.DefaultDockerEndpoint).
	SourceDocker string
}

var nameRE = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if !nameRE.MatchString(c.Name) {
		return c, fmt.Errorf("lab name %q: want 1 to 8 characters of [a-z0-9]", c.Name)
	}
	if c.Minions == 0 {
		c.Minions = 2
	}
	if c.Minions < 1 || c.Minions > 15 {
		return c, fmt.Errorf("lab %s: %d minions: want 1 to 15", c.Name, c.Minions)
	}
	if c.Masters == 0 {
		c.Masters = 1
	}
	if c.Masters < 1 || c.Masters > 8 {
		return c, fmt.Errorf("lab %s: %d masters: want 1 to 8", c.Name, c.Masters)
	}
	if c.Index < 0 || c.Index > 15 {
		return c, fmt.Errorf("lab %s: index %d: want 0 to 15", c.Name, c.Index)
	}
	if c.Root == "" {
		c.Root = filepath.Join("/var/lib/kubelite-lab", c.Name)
	}
	if c.RunDir == "" {
		c.RunDir = runDir(c.Name)
	}
	if c.LogDir == "" {
		c.LogDir = filepath.Join(c.Root, "logs")
	}
	if c.StorageDriver == "" {
		c.StorageDriver = "overlay2"
	}
	return c, nil
}

func runDir(name string) string { return filepath.Join("/run/kubelite-lab", name) }

// Names shared by the plan and by Cleanup, which knows only the lab's name.
func bridgeName(name string) string { return "klb-" + name }
func chainName(name string) string  { return "KUBELITE-LAB-" + name }
func nsPrefix(name string) string   { return "klb-" + name + "-" }
func vethPrefix(name string) string { return "klv-" + name + "-" }

// plan is everything the lab is made of, computed from a Config without I/O.
type plan struct {
	cfg     Config
	bridge  string       // the host's bridge
	gateway netip.Prefix // the bridge's address, every host's default route
	chain   string       // the host's FORWARD chain isolating the lab
	hosts   []*Host      // the masters first, then minion1..N
}

func newPlan(c Config) (*plan, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &plan{
		cfg:     c,
		bridge:  bridgeName(c.Name),
		gateway: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(c.Index), 1}), 24),
		chain:   chainName(c.Name),
	}
	for i := 0; i < c.Masters+c.Minions; i++ {
		h := &Host{Index: i}
		switch {
		case c.Masters == 1 && i == 0:
			h.Name = "master"
			h.Addr = netip.AddrFrom4([4]byte{198, 18, byte(c.Index), 2})
		case i < c.Masters:
			h.Name = "master" + strconv.Itoa(i+1)
			h.Addr = netip.AddrFrom4([4]byte{198, 18, byte(c.Index), byte(2 + i)})
		default:
			h.Minion = i - c.Masters + 1
			h.Name = "minion" + strconv.Itoa(h.Minion)
			h.Addr = netip.AddrFrom4([4]byte{198, 18, byte(c.Index), byte(10 + h.Minion)})
		}
		h.NetNS = nsPrefix(c.Name) + h.Name
		h.NSPath = "/run/netns/" + h.NetNS
		h.Veth = vethPrefix(c.Name) + strconv.Itoa(i)
		if c.Masters > 1 {
			h.Hostname = h.NetNS
		}
		if h.Minion > 0 {
			dir := filepath.Join(c.RunDir, h.Name)
			h.Engine = &Engine{
				DataRoot:     filepath.Join(c.Root, h.Name, "docker"),
				ExecRoot:     filepath.Join(dir, "exec"),
				Socket:       filepath.Join(dir, "docker.sock"),
				PidFile:      filepath.Join(dir, "docker.pid"),
				Config:       filepath.Join(dir, "daemon.json"),
				Bridge:       netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(c.Index*16 + h.Minion), 1}), 24),
				Log:          filepath.Join(c.LogDir, h.Name+"-dockerd.log"),
				CgroupParent: "/" + h.NetNS,
			}
		}
		p.hosts = append(p.hosts, h)
	}
	return p, nil
}

// firewall returns the iptables commands isolating the lab: traffic between
// the lab's hosts is accepted (bridged traffic passes the host's FORWARD
// chain, whose policy may be DROP), anything forwarded from the lab to another
// interface, or from another interface into the lab, is dropped.
func (p *plan) firewall() [][]string {
	return [][]string{
		{"iptables", "-w", "-N", p.chain},
		{"iptables", "-w", "-A", p.chain, "-i", p.bridge, "-o", p.bridge, "-j", "ACCEPT"},
		{"iptables", "-w", "-A", p.chain, "-i", p.bridge, "-j", "DROP"},
		{"iptables", "-w", "-A", p.chain, "-o", p.bridge, "-j", "DROP"},
		{"iptables", "-w", "-I", "FORWARD", "1", "-j", p.chain},
	}
}

// network returns the commands building the bridge and the hosts' namespaces,
// in order, after the firewall is in place.
func (p *plan) network() [][]string {
	cmds := [][]string{
		{"ip", "link", "add", p.bridge, "type", "bridge"},
		{"sysctl", "-q", "-w", "net.ipv6.conf." + p.bridge + ".disable_ipv6=1"},
		{"ip", "addr", "add", p.gateway.String(), "dev", p.bridge},
		{"ip", "link", "set", p.bridge, "up"},
	}
	for _, h := range p.hosts {
		addr := netip.PrefixFrom(h.Addr, p.gateway.Bits()).String()
		cmds = append(cmds,
			[]string{"ip", "netns", "add", h.NetNS},
			// sysctls first: no IPv6 chatter, bridged pod traffic through iptables.
			[]string{"nsenter", "--net=" + h.NSPath, "sysctl", "-q", "-w",
				"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
				"net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"},
			[]string{"ip", "link", "add", h.Veth, "type", "veth", "peer", "name", "eth0", "netns", h.NetNS},
			[]string{"ip", "link", "set", h.Veth, "master", p.bridge},
			[]string{"ip", "link", "set", h.Veth, "up"},
			[]string{"ip", "-n", h.NetNS, "link", "set", "lo", "up"},
			[]string{"ip", "-n", h.NetNS, "addr", "add", addr, "dev", "eth0"},
			[]string{"ip", "-n", h.NetNS, "link", "set", "eth0", "up"},
			[]string{"ip", "-n", h.NetNS, "route", "add", "default", "via", p.gateway.Addr().String()},
		)
	}
	return cmds
}

// dockerd returns the command line starting h's engine inside h's namespace.
// nsenter --net, not ip netns exec: the latter remounts /sys and dockerd then
// fails with "Devices cgroup isn't mounted".
func (p *plan) dockerd(h *Host) []string {
	e := h.Engine
	return []string{"nsenter", "--net=" + h.NSPath, "--",
		"dockerd",
		"--config-file", e.Config,
		"--data-root", e.DataRoot,
		"--exec-root", e.ExecRoot,
		"-H", "unix://" + e.Socket,
		"--pidfile", e.PidFile,
		"--bip", e.Bridge.String(),
		"--storage-driver", p.cfg.StorageDriver,
		"--cgroup-parent", e.CgroupParent,
	}
}
