package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"kubelite/internal/endpoint"
	"kubelite/internal/logging"
)

// origin returns " (from FILE:LINE)" when flag name's value came from a file.
func origin(src map[string]Arg, name string) string {
	if a, ok := src[name]; ok {
		return " (from " + a.Where() + ")"
	}
	return ""
}

func flagErr(src map[string]Arg, name, value, why string) error {
	return fmt.Errorf("--%s=%s%s: %s", name, value, origin(src, name), why)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func checkIP(src map[string]Arg, name, v string) error {
	if _, err := netip.ParseAddr(v); err != nil {
		return flagErr(src, name, v, "not an IP address (e.g. 0.0.0.0 for all interfaces)")
	}
	return nil
}

func checkPort(src map[string]Arg, name string, p int) error {
	if p < 1 || p > 65535 {
		return flagErr(src, name, strconv.Itoa(p), "port must be 1-65535")
	}
	return nil
}

func checkHostPort(src map[string]Arg, name, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return flagErr(src, name, v, "want HOST:PORT")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return flagErr(src, name, v, "HOST must be an IP address")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return flagErr(src, name, v, "port must be 1-65535")
	}
	return nil
}

func parsePrefix(src map[string]Arg, name, v string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Prefix{}, flagErr(src, name, v, "want an IPv4 range like 10.254.0.0/16 (at most /30)")
	}
	if p.Masked() != p {
		return netip.Prefix{}, flagErr(src, name, v, fmt.Sprintf("not a network address; did you mean %s?", p.Masked()))
	}
	return p, nil
}

// parseEtcdServers checks a comma list of http(s)://HOST:PORT URLs; a bare
// HOST:PORT gets http://.
func parseEtcdServers(src map[string]Arg, raw string) ([]string, error) {
	list := splitList(raw)
	for i, s := range list {
		if !strings.Contains(s, "://") {
			s = "http://" + s
			list[i] = s
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, flagErr(src, "etcd_servers", raw, fmt.Sprintf("%q is not a URL like http://192.168.1.10:4001", s))
		}
	}
	return list, nil
}

func checkDuration(src map[string]Arg, cCtx *cli.Context, name string) error {
	if d := cCtx.Duration(name); d <= 0 {
		return flagErr(src, name, d.String(), "must be positive")
	}
	return nil
}

// noteOverride shows, in the settings --print-config prints, the
// config-file flag that gave way to its exclusive partner.
func (m *Master) noteOverride(ss []Setting) {
	for i := range ss {
		if m.raw.overridden == "" || ss[i].Flag != m.raw.overridden {
			continue
		}
		switch ss[i].Flag {
		case "etcd-embed":
			ss[i].Value = fmt.Sprint(m.EtcdEmbed)
		case "etcd_servers":
			ss[i].Value = ""
		}
		ss[i].Source += ", overridden by --" + m.raw.winner + " on the command line"
	}
}

// Load reads the master's config files from --config-dir, applies them under
// the command line, checks every value and fills the derived fields.
func (m *Master) Load(cCtx *cli.Context, sys System) ([]Setting, error) {
	src, read, ss, err := load(cCtx, "master", m.ConfigDir, MasterFiles)
	if err != nil {
		return nil, err
	}
	m.Files = read
	if err := m.resolve(cCtx, src); err != nil {
		return nil, err
	}
	m.noteOverride(ss)
	if len(m.EtcdServers) == 0 && !m.EtcdEmbed {
		return nil, fmt.Errorf("the master needs etcd: add --etcd-embed, or --etcd_servers=http://HOST:4001 for an external etcd")
	}
	if m.Restore != "" && (!m.EtcdEmbed || m.Join != "") {
		return nil, fmt.Errorf("--restore needs --etcd-embed, and no --join (restore one master, then join the others to it)")
	}
	if m.Join != "" && (!m.EtcdEmbed || m.Insecure || m.JoinToken == "") {
		return nil, fmt.Errorf("--join needs --etcd-embed and --token (the running master's `kubelite token --master`), and no --insecure")
	}
	return ss, nil
}

func (m *Master) resolve(cCtx *cli.Context, src map[string]Arg) error {
	if err := checkIP(src, "address", m.Address); err != nil {
		return err
	}
	if err := checkPort(src, "port", m.Port); err != nil {
		return err
	}
	if err := checkPort(src, "kubelet_port", m.KubeletPort); err != nil {
		return err
	}
	var err error
	if m.EtcdServers, err = parseEtcdServers(src, m.raw.etcdServers); err != nil {
		return err
	}
	if m.EtcdEmbed && len(m.EtcdServers) > 0 {
		// The command line (or environment) beats a config file, also
		// across an exclusive pair: the tutorial's /etc/kubernetes/config
		// sets --etcd_servers, and `kubelite master --etcd-embed` means it.
		_, embedFromFile := src["etcd-embed"]
		_, serversFromFile := src["etcd_servers"]
		switch {
		case embedFromFile && !serversFromFile:
			m.EtcdEmbed = false
			m.raw.overridden, m.raw.winner = "etcd-embed", "etcd_servers"
		case serversFromFile && !embedFromFile:
			m.EtcdServers, m.raw.etcdServers = nil, ""
			m.raw.overridden, m.raw.winner = "etcd_servers", "etcd-embed"
		default:
			return fmt.Errorf("--etcd-embed%s and --etcd_servers%s exclude each other: keep one", origin(src, "etcd-embed"), origin(src, "etcd_servers"))
		}
	}
	if err := checkHostPort(src, "etcd-addr", m.EtcdAddr); err != nil {
		return err
	}
	if err := checkHostPort(src, "etcd-peer-addr", m.EtcdPeerAddr); err != nil {
		return err
	}
	if m.EtcdAddr == m.EtcdPeerAddr {
		return fmt.Errorf("--etcd-addr and --etcd-peer-addr are both %s: they need different ports", m.EtcdAddr)
	}
	if m.DataDir == "" {
		return fmt.Errorf("--data-dir is empty")
	}
	if m.PortalNet, err = parsePrefix(src, "portal_net", m.raw.portalNet); err != nil {
		return err
	}
	if m.ClusterCIDR, err = parsePrefix(src, "cluster_cidr", m.raw.clusterCIDR); err != nil {
		return err
	}
	if m.PortalNet.Overlaps(m.ClusterCIDR) {
		return fmt.Errorf("--portal_net %s and --cluster_cidr %s overlap: services and pods need separate ranges", m.PortalNet, m.ClusterCIDR)
	}
	if m.raw.machines != "" && strings.ContainsAny(m.raw.machines, " \t") {
		return flagErr(src, "machines", m.raw.machines, "no spaces inside the list")
	}
	m.Machines = splitList(m.raw.machines)
	if err := checkDuration(src, cCtx, "node_monitor_grace_period"); err != nil {
		return err
	}
	if err := checkDuration(src, cCtx, "pod_eviction_timeout"); err != nil {
		return err
	}
	if d := cCtx.Duration("replica_eviction_timeout"); d < 0 {
		return flagErr(src, "replica_eviction_timeout", d.String(), "must be 0 or more")
	}
	if d := cCtx.Duration("leader-lease"); d < 2*time.Second {
		return flagErr(src, "leader-lease", d.String(), "must be at least 2s (etcd's shortest lease)")
	}
	if m.Logging.V < 0 {
		return flagErr(src, "v", strconv.Itoa(m.Logging.V), "must be 0 or more")
	}
	if _, err := logging.ParseFormat(m.Logging.Format); err != nil {
		return flagErr(src, "log-format", m.Logging.Format, "must be one of "+logging.FormatNames())
	}
	m.TLSSANs = splitList(m.raw.tlsSANs)
	for _, f := range []struct {
		name string
		v    int
	}{{"max-replicas", m.MaxReplicas}, {"max-objects-per-namespace", m.MaxObjectsPerNamespace}, {"etcd-quota-mb", m.EtcdQuotaMB}} {
		if f.v < 1 {
			return flagErr(src, f.name, strconv.Itoa(f.v), "must be 1 or more")
		}
	}
	if m.MemoryLimitMB < 0 {
		return flagErr(src, "memory-limit-mb", strconv.Itoa(m.MemoryLimitMB), "must be 0 (automatic) or more")
	}
	if (m.EtcdCertFile == "") != (m.EtcdKeyFile == "") {
		return fmt.Errorf("--etcd-certfile and --etcd-keyfile go together: give both or neither")
	}
	if (m.EtcdCAFile != "" || m.EtcdCertFile != "") && m.EtcdEmbed {
		return fmt.Errorf("--etcd-cafile, --etcd-certfile and --etcd-keyfile are for an external etcd (--etcd_servers); the embedded etcd uses the cluster's CA")
	}
	return nil
}

// ErrNoToken is Minion.Load's error for a minion of a secure master without
// a join token; every other field is resolved when it is returned.
var ErrNoToken = errors.New("no join token")

// Load reads the minion's config files from --config-dir, applies them under
// the command line, checks every value and fills the derived fields.
func (n *Minion) Load(cCtx *cli.Context, sys System) ([]Setting, error) {
	src, read, ss, err := load(cCtx, "minion", n.ConfigDir, MinionFiles)
	if err != nil {
		return nil, err
	}
	n.Files = read
	if n.Master == "" && !n.CleanupIPTables {
		return nil, fmt.Errorf("the minion needs --master=HOST:PORT of the API, e.g. --master=192.168.1.200:8080")
	}
	if err := n.resolve(cCtx, src, sys); err != nil {
		return nil, err
	}
	if n.CleanupIPTables || strings.HasPrefix(n.MasterURL, "http://") {
		n.Token = "" // an --insecure master takes anonymous minions
		return ss, nil
	}
	if n.Token == "" {
		if n.Token, err = readToken(n.TokenFile); err != nil {
			return nil, flagErr(src, "token-file", n.TokenFile, err.Error())
		}
	}
	if n.Token == "" && !n.PrintConfig {
		return nil, fmt.Errorf("%w: run `kubelite token` on the master, then pass it with --token=K10..., "+
			"the environment variable KUBELITE_TOKEN, or the file %s (--token-file)", ErrNoToken, n.TokenFile)
	}
	return ss, nil
}

// readToken reads a join token file: "" when the file does not exist.
func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the join token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// CheckDockerEndpoint accepts unix:// sockets, and tcp:// only with TLS
// configured in the environment (DOCKER_TLS_VERIFY and DOCKER_CERT_PATH).
func CheckDockerEndpoint(ep string, getenv func(string) string) error {
	u, err := url.Parse(ep)
	if err != nil {
		return fmt.Errorf("want %s", DefaultDockerEndpoint)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return fmt.Errorf("want unix:///PATH/docker.sock")
		}
		return nil
	case "tcp", "http", "https":
		if getenv != nil && getenv("DOCKER_TLS_VERIFY") != "" && getenv("DOCKER_CERT_PATH") != "" && u.Scheme != "http" {
			return nil
		}
		return fmt.Errorf("a Docker Engine on TCP without TLS gives root on this host to anyone who can reach the port; use %s (or set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)", DefaultDockerEndpoint)
	}
	return fmt.Errorf("unsupported scheme %q: use %s", u.Scheme, DefaultDockerEndpoint)
}

// ParseLabels parses k=v,k2=v2.
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("label %q given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

func (n *Minion) resolve(cCtx *cli.Context, src map[string]Arg, sys System) error {
	var err error
	if n.Master != "" {
		urls, err := endpoint.NormalizeList(n.Master, "https")
		if err != nil {
			return flagErr(src, "master", n.Master, err.Error())
		}
		for _, u := range urls[1:] {
			if strings.HasPrefix(u, "https://") != strings.HasPrefix(urls[0], "https://") {
				return flagErr(src, "master", n.Master, "every master of a list speaks TLS, or every one is an --insecure http:// master")
			}
		}
		n.MasterURL, n.MoreMasterURLs = urls[0], urls[1:]
	}
	if err := checkIP(src, "address", n.Address); err != nil {
		return err
	}
	if err := checkPort(src, "port", n.Port); err != nil {
		return err
	}
	if n.HostIP != "" {
		if err := checkIP(src, "host-ip", n.HostIP); err != nil {
			return err
		}
	}
	if n.Labels, err = ParseLabels(n.raw.labels); err != nil {
		return flagErr(src, "labels", n.raw.labels, err.Error())
	}
	if err := CheckDockerEndpoint(n.DockerEndpoint, sys.Getenv); err != nil {
		return flagErr(src, "docker-endpoint", n.DockerEndpoint, err.Error())
	}
	if n.RootDir == "" || !filepath.IsAbs(n.RootDir) {
		return flagErr(src, "root-dir", n.RootDir, "must be an absolute path")
	}
	if err := oneOf(src, "runtime", n.Runtime, "docker", "fake"); err != nil {
		return err
	}
	if err := oneOf(src, "proxy-mode", n.ProxyMode, "iptables", "userspace", "none"); err != nil {
		return err
	}
	if err := oneOf(src, "network", n.Network, "bridge", "none"); err != nil {
		return err
	}
	if err := oneOf(src, "pod-attach", n.PodAttach, "kubelet", "docker"); err != nil {
		return err
	}
	if err := oneOf(src, "pod-infra", n.PodInfra, "auto", "always"); err != nil {
		return err
	}
	if err := checkDuration(src, cCtx, "sync_frequency"); err != nil {
		return err
	}
	if n.EtcdServers, err = parseEtcdServers(src, n.raw.etcdServers); err != nil {
		return err
	}
	if n.raw.clusterCIDR != "" {
		if n.ClusterCIDR, err = parsePrefix(src, "cluster_cidr", n.raw.clusterCIDR); err != nil {
			return err
		}
	}
	n.Hostname = strings.ToLower(strings.TrimSpace(n.HostnameOverride))
	if n.Hostname == "" {
		h, err := sys.Hostname()
		if err != nil || h == "" {
			return fmt.Errorf("cannot read this host's name (%v): set --hostname_override", err)
		}
		n.Hostname = strings.ToLower(h)
	}
	if n.Logging.V < 0 {
		return flagErr(src, "v", strconv.Itoa(n.Logging.V), "must be 0 or more")
	}
	if _, err := logging.ParseFormat(n.Logging.Format); err != nil {
		return flagErr(src, "log-format", n.Logging.Format, "must be one of "+logging.FormatNames())
	}
	return nil
}

func oneOf(src map[string]Arg, name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return flagErr(src, name, v, "must be one of "+strings.Join(allowed, ", "))
}

// Load reads the standalone's config files (only when --config-dir is set),
// resolves the master half, then derives the minion half from it.
func (s *Standalone) Load(cCtx *cli.Context, sys System) ([]Setting, error) {
	m, n := &s.Master, &s.Minion
	src, read, ss, err := load(cCtx, "standalone", m.ConfigDir, StandaloneFiles)
	if err != nil {
		return nil, err
	}
	m.Files = read
	if m.DataDir == "" {
		m.DataDir = DefaultDataDir
		if sys.UID != 0 && sys.Home != "" {
			m.DataDir = filepath.Join(sys.Home, ".kubelite")
		}
	}
	if err := m.resolve(cCtx, src); err != nil {
		return nil, err
	}
	m.noteOverride(ss)
	m.EtcdEmbed = len(m.EtcdServers) == 0
	// The minion half: same process, talks to the local API.
	n.Address = m.Address
	n.Port = m.KubeletPort
	n.Master = m.LocalAPIURL()
	n.EtcdServers = nil
	n.ClusterCIDR = m.ClusterCIDR
	n.AllowPrivileged = m.AllowPrivileged
	n.Logging = m.Logging
	n.ConfigDir = m.ConfigDir
	n.Files = read
	if n.RootDir == "" {
		n.RootDir = filepath.Join(m.DataDir, "kubelet")
	}
	if m.Port == n.Port {
		return nil, fmt.Errorf("--port and --kubelet_port are both %d: the API and the kubelet need different ports", m.Port)
	}
	if err := n.resolve(cCtx, src, sys); err != nil {
		return nil, err
	}
	for i := range ss {
		switch ss[i].Flag {
		case "data-dir":
			ss[i].Value = m.DataDir
		case "root-dir":
			ss[i].Value = n.RootDir
		case "etcd-embed":
			ss[i].Value = fmt.Sprint(m.EtcdEmbed)
		}
	}
	if s.Yes && !s.Reset {
		return nil, fmt.Errorf("--yes only goes with --reset")
	}
	return ss, nil
}
