package cli

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	ucli "github.com/urfave/cli/v2"

	"kubelite/config"
	"kubelite/internal/doctor"
)

// loopbackFor turns a listen address into one to connect to.
func loopbackFor(addr string) string {
	if ip, err := netip.ParseAddr(addr); err == nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return addr
}

func masterTarget(m *config.Master) doctor.Target {
	t := doctor.Target{
		Role:        "master",
		APIURL:      "http://" + net.JoinHostPort(loopbackFor(m.Address), strconv.Itoa(m.Port)),
		EtcdURLs:    m.EtcdServers,
		Machines:    m.Machines,
		KubeletPort: m.KubeletPort,
	}
	if m.EtcdEmbed {
		t.EtcdURLs = []string{"http://" + m.EtcdAddr}
	}
	return t
}

func minionTarget(n *config.Minion) doctor.Target {
	return doctor.Target{
		Role:           "minion",
		DockerEndpoint: n.DockerEndpoint,
		APIURL:         n.MasterURL,
		Hostname:       n.Hostname,
		KubeletAddr:    n.KubeletAddr(),
		KubeletPort:    n.Port,
	}
}

func standaloneTarget(s *config.Standalone) doctor.Target {
	t := masterTarget(&s.Master)
	n := minionTarget(&s.Minion)
	t.Role = "standalone"
	t.DockerEndpoint, t.Hostname, t.KubeletAddr = n.DockerEndpoint, n.Hostname, n.KubeletAddr
	return t
}

// runDoctor prints one line per check and fails when any check failed.
func runDoctor(c *ucli.Context, e *env, t doctor.Target) error {
	rs := doctor.Run(c.Context, doctor.OSProbe{}, t)
	for _, r := range rs {
		fmt.Fprintln(e.stdout, r.String())
	}
	if n := doctor.Failed(rs); n > 0 {
		return fmt.Errorf("doctor: %d of %d checks failed", n, len(rs))
	}
	return nil
}

// doctorCommand: `kubelite doctor [master|minion] [the role's flags]`.
// Without a role it checks a standalone setup with the standalone's flags.
func doctorCommand(e *env) *ucli.Command {
	s, sFlags := config.NewStandalone()
	m, mFlags := config.NewMaster()
	n, nFlags := config.NewMinion()
	return &ucli.Command{
		Name:     "doctor",
		Category: catTools,
		Usage:    "check this machine for a role: Docker, iptables, ports, etcd, the master, clocks, routes",
		Description: "Takes the same flags as the role it checks, e.g.\n" +
			"  kubelite doctor minion --master=192.168.1.200:8080\n" +
			"  kubelite doctor master --etcd-embed\n" +
			"  kubelite doctor                      (a standalone setup on this machine)",
		Flags: sFlags,
		Action: func(c *ucli.Context) error {
			if _, err := s.Load(c, e.sys); err != nil {
				return err
			}
			return runDoctor(c, e, standaloneTarget(s))
		},
		Subcommands: []*ucli.Command{
			{Name: "master", Usage: "check a master (takes kubelite master's flags)", Flags: mFlags, OnUsageError: usageError,
				Action: func(c *ucli.Context) error {
					if _, err := m.Load(c, e.sys); err != nil {
						return err
					}
					return runDoctor(c, e, masterTarget(m))
				}},
			{Name: "minion", Usage: "check a minion (takes kubelite minion's flags)", Flags: nFlags, OnUsageError: usageError,
				Action: func(c *ucli.Context) error {
					if _, err := n.Load(c, e.sys); err != nil {
						return err
					}
					return runDoctor(c, e, minionTarget(n))
				}},
		},
	}
}
