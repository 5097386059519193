package cli

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

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
		Listeners:   []doctor.Listener{{Flag: "port", Addr: m.APIAddr()}},
		DataDir:     m.DataDir, // the cluster's CA and tokens, with any etcd
	}
	if m.EtcdEmbed {
		t.EtcdURLs = []string{"http://" + m.EtcdAddr}
		t.Listeners = append(t.Listeners, doctor.Listener{Flag: "etcd-addr", Addr: m.EtcdAddr},
			doctor.Listener{Flag: "etcd-peer-addr", Addr: m.EtcdPeerAddr})
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
		Runtime:        n.Runtime,
		ProxyMode:      n.ProxyMode,
		Network:        n.Network,
		Listeners:      []doctor.Listener{{Flag: "port", Addr: n.KubeletAddr()}},
	}
}

func standaloneTarget(s *config.Standalone) doctor.Target {
	t := masterTarget(&s.Master)
	n := minionTarget(&s.Minion)
	t.Role = "standalone"
	t.DockerEndpoint, t.Hostname, t.KubeletAddr = n.DockerEndpoint, n.Hostname, n.KubeletAddr
	t.Runtime, t.ProxyMode, t.Network = n.Runtime, n.ProxyMode, n.Network
	t.DataDir = s.Master.DataDir
	// The API first: whether it listens picks the mode (doctor.ChooseMode).
	t.Listeners = append([]doctor.Listener{t.Listeners[0], {Flag: "kubelet_port", Addr: n.KubeletAddr}}, t.Listeners[1:]...)
	return t
}

// Doctor's --mode values.
const (
	modeAuto      = "auto"
	modePreflight = "preflight"
	modeCheck     = "check"
)

// runDoctor prints one line per check and fails when any check failed;
// pre are results found while loading the config (a missing token).
func runDoctor(c *ucli.Context, e *env, t doctor.Target, mode string, pre ...doctor.Result) error {
	p := doctor.OSProbe{}
	switch mode {
	case modeAuto:
		t.Mode = doctor.ChooseMode(p, t)
		why := "nothing listens on " + t.Listeners[0].Addr + " yet"
		if t.Mode == doctor.Running {
			why = "something listens on " + t.Listeners[0].Addr
		}
		fmt.Fprintf(e.stdout, "mode %s: %s (--mode=preflight or --mode=check to choose)\n", t.Mode, why)
	case modePreflight:
		t.Mode = doctor.Preflight
	case modeCheck:
		t.Mode = doctor.Running
	default:
		return fmt.Errorf("doctor: --mode=%s: want auto, preflight or check", mode)
	}
	rs := append(pre, doctor.Run(c.Context, p, t)...)
	for _, r := range rs {
		fmt.Fprintln(e.stdout, r.String())
	}
	if n := doctor.Failed(rs); n > 0 {
		return fmt.Errorf("doctor: %d of %d checks failed", n, len(rs))
	}
	return nil
}

// doctorFlags are, per role, the flags doctor reads; the role's other
// flags are accepted (a role's command line can be pasted after `kubelite
// doctor`) but hidden from its help, since they change nothing it checks.
var doctorFlags = map[string]map[string]bool{
	"master": set("address", "port", "kubelet_port", "machines", "etcd_servers", "etcd-embed", "etcd-addr",
		"etcd-peer-addr", "data-dir", "config-dir", "print-config"),
	"minion": set("master", "hostname_override", "address", "port", "docker-endpoint", "runtime", "proxy-mode",
		"network", "config-dir", "print-config"),
	"standalone": set("address", "port", "kubelet_port", "etcd_servers", "etcd-addr", "etcd-peer-addr", "data-dir",
		"docker-endpoint", "runtime", "proxy-mode", "network", "config-dir", "print-config"),
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// forDoctor hides the flags doctor does not read for role and adds --mode.
func forDoctor(role string, flags []ucli.Flag, mode *string) []ucli.Flag {
	for _, f := range flags {
		if doctorFlags[role][f.Names()[0]] {
			continue
		}
		if v := reflect.ValueOf(f); v.Kind() == reflect.Pointer {
			if h := v.Elem().FieldByName("Hidden"); h.IsValid() && h.CanSet() && h.Kind() == reflect.Bool {
				h.SetBool(true)
			}
		}
	}
	return append(flags, &ucli.StringFlag{Name: "mode", Value: modeAuto, Destination: mode,
		Usage: "preflight (before the role starts: ports free, Docker, iptables, kernel, data dir), check (a running node: API, etcd, kubelet, proxy rules), or auto: preflight unless the role's first port is in use"})
}

// doctorAction loads the role's config like the role does; --print-config
// prints it, as the role would.
func doctorAction(e *env, load func(*ucli.Context, config.System) ([]config.Setting, error), printConfig *bool,
	target func() doctor.Target, mode *string) ucli.ActionFunc {
	return func(c *ucli.Context) error {
		ss, err := load(c, e.sys)
		var pre []doctor.Result
		if errors.Is(err, config.ErrNoToken) {
			// Not a reason to check nothing: the token is one of the checks.
			pre = append(pre, doctor.Result{Check: "token", Detail: "no join token",
				Fix: strings.TrimPrefix(err.Error(), config.ErrNoToken.Error()+": ")})
			err = nil
		}
		if err != nil {
			return err
		}
		if *printConfig {
			_, err := fmt.Fprint(e.stdout, config.FormatSettings(ss))
			return err
		}
		return runDoctor(c, e, target(), *mode, pre...)
	}
}

// doctorCommand: `kubelite doctor [master|minion] [the role's flags]`.
// Without a role it checks a standalone setup with the standalone's flags.
func doctorCommand(e *env) *ucli.Command {
	s, sFlags := config.NewStandalone()
	m, mFlags := config.NewMaster()
	n, nFlags := config.NewMinion()
	var sMode, mMode, nMode string
	return &ucli.Command{
		Name:     "doctor",
		Category: catTools,
		Usage:    "check this machine for a role: Docker, iptables, ports, etcd, the master, clocks, routes",
		Description: "Takes the same flags as the role it checks (its whole command line may be pasted; --help lists\n" +
			"those doctor reads). Before the role starts it checks what the start needs (--mode=preflight),\n" +
			"on a running node that the parts work (--mode=check); by default it picks by whether the role's port is in use.\n" +
			"  kubelite doctor minion --master=192.168.1.200:8080\n" +
			"  kubelite doctor master --etcd-embed\n" +
			"  kubelite doctor                      (a standalone setup on this machine)",
		Flags:  forDoctor("standalone", sFlags, &sMode),
		Action: doctorAction(e, s.Load, &s.Master.PrintConfig, func() doctor.Target { return standaloneTarget(s) }, &sMode),
		Subcommands: []*ucli.Command{
			{Name: "master", Usage: "check a master (takes kubelite master's flags)", Flags: forDoctor("master", mFlags, &mMode), OnUsageError: usageError,
				Action: doctorAction(e, m.Load, &m.PrintConfig, func() doctor.Target { return masterTarget(m) }, &mMode)},
			{Name: "minion", Usage: "check a minion (takes kubelite minion's flags)", Flags: forDoctor("minion", nFlags, &nMode), OnUsageError: usageError,
				Action: doctorAction(e, n.Load, &n.PrintConfig, func() doctor.Target { return minionTarget(n) }, &nMode)},
		},
	}
}
