package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"kubelite/internal/api"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Probe is every side effect the checks need.
type Probe interface {
	// DockerVersion asks the engine at endpoint for its version and API version.
	DockerVersion(ctx context.Context, endpoint string) (version, apiVersion string, err error)
	// IPTables reads the filter table, proving iptables works here.
	IPTables(ctx context.Context) error
	// Get fetches url and returns the status, the server's Date header (zero
	// if absent) and the body (at most 1 MiB).
	Get(ctx context.Context, url string) (status int, date time.Time, body []byte, err error)
	// Dial opens and closes a TCP connection to addr.
	Dial(ctx context.Context, addr string) error
	// Routes returns the IPv4 routing table of this host.
	Routes() ([]Route, error)
	// Now is the local clock.
	Now() time.Time
	// Listen binds addr (TCP) and closes it again: nil when the port is free.
	Listen(addr string) error
	// Writable reports whether this process may create files in dir, or in
	// its nearest existing parent when dir does not exist yet (nothing is
	// created).
	Writable(dir string) error
	// ReadFile reads a small file (a /proc/sys setting).
	ReadFile(path string) ([]byte, error)
	// NATRules is iptables-save's text of the nat table.
	NATRules(ctx context.Context) (string, error)
}

// Modes of a doctor run.
const (
	// Preflight checks a machine before the role starts: its ports free,
	// Docker and iptables usable, the kernel settings the pod network
	// needs, the data directory writable; a minion's master reachable.
	Preflight = "preflight"
	// Running checks a node that runs the role: the API, etcd, the
	// kubelet, the proxy's rules, routes, clocks.
	Running = "check"
)

// Listener is a port the role will listen on.
type Listener struct {
	Flag string // the flag that sets it, e.g. "port"
	Addr string // host:port
}

// Route is one routing table entry.
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr // invalid when the route is on-link
	Dev     string
}

// Target says what to check; roles fill it from their config.
type Target struct {
	Role           string // "master", "minion" or "standalone"
	DockerEndpoint string // minion, standalone
	APIURL         string // the API to ask: a minion's --master, a master's own address
	Hostname       string // this minion's name (minion, standalone)
	KubeletAddr    string // host:port of the local kubelet (minion, standalone)
	EtcdURLs       []string
	Machines       []string // a master's static minion list
	KubeletPort    int
	MaxSkew        time.Duration // default 2s

	Mode      string     // Preflight or Running (default Running)
	Runtime   string     // "docker" or "fake": fake needs no Docker
	ProxyMode string     // "iptables", "userspace" or "none"
	Network   string     // "bridge" or "none"
	DataDir   string     // preflight: must be writable ("" skips)
	Listeners []Listener // preflight: must be free
}

// needsDocker, needsIPTables: what the flags make relevant.
func (t Target) needsDocker() bool { return t.Runtime != "fake" }
func (t Target) needsIPTables() bool {
	return t.ProxyMode != "none" || (t.Network != "none" && t.needsDocker())
}

// Result is the outcome of one check.
type Result struct {
	Check  string
	OK     bool
	Skip   bool
	Detail string
	Fix    string
}

// String renders r as one line.
func (r Result) String() string {
	mark := "ok  "
	switch {
	case r.Skip:
		mark = "skip"
	case !r.OK:
		mark = "FAIL"
	}
	s := fmt.Sprintf("%s %-14s %s", mark, r.Check, r.Detail)
	if !r.OK && !r.Skip && r.Fix != "" {
		s += "; fix: " + r.Fix
	}
	return s
}

// Check is one named check. It may read the results of earlier checks
// through state.
type Check struct {
	Name string
	Run  func(ctx context.Context, p Probe, t Target, s *State) Result
}

// State carries what earlier checks learned.
type State struct {
	APIUp          bool
	Minions        []minion // from the API, when it answered
	MinionsUnknown bool     // the API would not list them without a credential
}

type minion struct {
	ID          string `json:"id"`
	HostIP      string `json:"hostIP"`
	PodCIDR     string `json:"podCIDR"`
	KubeletPort int    `json:"kubeletPort"`
}

// Checks returns the checks of t.Role in t.Mode, in the order they run.
func Checks(t Target) []Check {
	if t.Mode == Preflight {
		switch t.Role {
		case "master":
			return []Check{checkPorts, checkDataDir, checkEtcd}
		case "minion":
			return []Check{checkDocker, checkIPTables, checkKernel, checkPorts, checkAPI, checkClock}
		default: // standalone
			return []Check{checkDocker, checkIPTables, checkKernel, checkPorts, checkDataDir}
		}
	}
	switch t.Role {
	case "master":
		return []Check{checkEtcd, checkAPI, checkMinionsReachable}
	case "minion":
		return []Check{checkDocker, checkIPTables, checkAPI, checkClock, checkKubeletPort, checkProxyRules, checkRoutes}
	default: // standalone
		return []Check{checkDocker, checkIPTables, checkEtcd, checkAPI, checkKubeletPort, checkProxyRules}
	}
}

// Run runs t's checks in order.
func Run(ctx context.Context, p Probe, t Target) []Result {
	if t.MaxSkew == 0 {
		t.MaxSkew = 2 * time.Second
	}
	var s State
	var out []Result
	for _, c := range Checks(t) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r := c.Run(cctx, p, t, &s)
		cancel()
		r.Check = c.Name
		out = append(out, r)
	}
	return out
}

// Failed counts the failed results.
func Failed(rs []Result) int {
	n := 0
	for _, r := range rs {
		if !r.OK && !r.Skip {
			n++
		}
	}
	return n
}

func pass(format string, a ...any) Result { return Result{OK: true, Detail: fmt.Sprintf(format, a...)} }
func fail(fix, format string, a ...any) Result {
	return Result{Detail: fmt.Sprintf(format, a...), Fix: fix}
}
func skip(format string, a ...any) Result {
	return Result{Skip: true, Detail: fmt.Sprintf(format, a...)}
}

var checkDocker = Check{Name: "docker", Run: func(ctx context.Context, p Probe, t Target, _ *State) Result {
	if !t.needsDocker() {
		return skip("--runtime=%s needs no Docker", t.Runtime)
	}
	v, api, err := p.DockerVersion(ctx, t.DockerEndpoint)
	if err != nil {
		return fail(dockerFix(err), "cannot reach Docker at %s: %v", t.DockerEndpoint, err)
	}
	if n, err := strconv.ParseFloat(api, 64); err == nil && n < 1.41 {
		return fail("upgrade Docker to 20.10 or later", "Docker %s speaks API %s, kubelite needs 1.41", v, api)
	}
	return pass("Docker %s (API %s) at %s", v, api, t.DockerEndpoint)
}}

// dockerFix is the fix for an engine that did not answer: a socket this
// user may not open is not an engine that is down.
func dockerFix(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "permission denied"):
		return "the engine runs but this user may not use its socket: run kubelite as root (sudo), or add the user to the docker group (sudo usermod -aG docker $USER, then log in again), or point DOCKER_HOST/--docker-endpoint at an engine this user may use"
	case strings.Contains(msg, "doctor checks unix://"):
		return "point --docker-endpoint (or DOCKER_HOST) at the engine's unix socket, e.g. " + api.DefaultDockerEndpoint
	}
	return "start the engine (systemctl start docker) or point --docker-endpoint at its socket"
}

var checkIPTables = Check{Name: "iptables", Run: func(ctx context.Context, p Probe, t Target, _ *State) Result {
	if !t.needsIPTables() {
		return skip("--proxy-mode=none and no bridge network need no iptables")
	}
	if err := p.IPTables(ctx); err != nil {
		return fail("install iptables (apt-get install iptables) and run kubelite as root", "iptables unusable: %v", err)
	}
	return pass("iptables works")
}}

var checkEtcd = Check{Name: "etcd", Run: func(ctx context.Context, p Probe, t Target, _ *State) Result {
	if len(t.EtcdURLs) == 0 {
		return skip("no etcd configured")
	}
	if t.Mode == Preflight && t.Role != "minion" && len(t.Listeners) > 0 && t.embedsEtcd() {
		return skip("the embedded etcd starts with the master (its ports are checked above)")
	}
	var bad []string
	for _, u := range t.EtcdURLs {
		status, _, body, err := p.Get(ctx, strings.TrimSuffix(u, "/")+"/health")
		var h struct {
			Health string `json:"health"`
		}
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", u, err))
		case status != 200 || json.Unmarshal(body, &h) != nil || h.Health != "true":
			bad = append(bad, fmt.Sprintf("%s: unhealthy (HTTP %d %s)", u, status, strings.TrimSpace(string(body))))
		}
	}
	if len(bad) > 0 {
		return fail("start etcd (kubelite master --etcd-embed runs one) or fix --etcd_servers; open port 4001 to the master",
			"%s", strings.Join(bad, "; "))
	}
	return pass("healthy: %s", strings.Join(t.EtcdURLs, ", "))
}}

var checkAPI = Check{Name: "api", Run: func(ctx context.Context, p Probe, t Target, s *State) Result {
	if t.APIURL == "" {
		return skip("no API address (--master) given")
	}
	status, _, _, err := p.Get(ctx, t.APIURL+"/healthz")
	if err != nil || status != 200 {
		why := fmt.Sprintf("HTTP %d", status)
		if err != nil {
			why = err.Error()
		}
		fix := "start kubelite master there, and open its port in the firewall (iptables -I INPUT -p tcp --dport 8080 -j ACCEPT)"
		if t.Role != "minion" {
			fix = "start kubelite " + t.Role + " first"
		}
		return fail(fix, "API %s not reachable: %s", t.APIURL, why)
	}
	s.APIUp = true
	status, _, body, err := p.Get(ctx, t.APIURL+"/api/v1beta1/minions")
	if err == nil && (status == 401 || status == 403) {
		s.MinionsUnknown = true
		return pass("API %s answers /healthz (listing minions needs a credential: doctor has none here)", t.APIURL)
	}
	if err == nil && status == 200 {
		var list struct {
			Items []minion `json:"items"`
		}
		if json.Unmarshal(body, &list) == nil {
			s.Minions = list.Items
		}
	}
	return pass("API %s answers /healthz (%d minions registered)", t.APIURL, len(s.Minions))
}}

var checkClock = Check{Name: "clock", Run: func(ctx context.Context, p Probe, t Target, s *State) Result {
	if !s.APIUp {
		return skip("needs the API")
	}
	before := p.Now()
	_, date, _, err := p.Get(ctx, t.APIURL+"/healthz")
	after := p.Now()
	if err != nil || date.IsZero() {
		return skip("the API sent no Date header")
	}
	// Date has one-second resolution: compare with the middle of the request.
	local := before.Add(after.Sub(before) / 2)
	skew := local.Sub(date)
	if skew < 0 {
		skew = -skew
	}
	if skew > t.MaxSkew+time.Second {
		return fail("synchronise clocks (the tutorial installs ntpdate; chrony or systemd-timesyncd work too)",
			"this host's clock differs from the master's by %s", skew.Round(time.Second))
	}
	return pass("within %s of the master's", (t.MaxSkew + time.Second).Round(time.Second))
}}

var checkKubeletPort = Check{Name: "kubelet-port", Run: func(ctx context.Context, p Probe, t Target, _ *State) Result {
	if t.KubeletAddr == "" {
		return skip("no kubelet address")
	}
	addr := t.KubeletAddr
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "0.0.0.0" || host == "::" || host == "") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	// A joined kubelet speaks TLS; an --insecure cluster's plain HTTP.
	var why string
	for _, scheme := range []string{"https", "http"} {
		status, _, _, err := p.Get(ctx, scheme+"://"+addr+"/healthz")
		if err == nil && status == 200 {
			return pass("kubelet answers on %s (%s)", addr, scheme)
		}
		if why == "" {
			why = fmt.Sprintf("HTTP %d", status)
			if err != nil {
				why = err.Error()
			}
		}
	}
	return fail("start the kubelet (kubelite "+t.Role+"), or free the port it needs", "kubelet on %s does not answer /healthz: %s", addr, why)
}}

var checkMinionsReachable = Check{Name: "minion-ports", Run: func(ctx context.Context, p Probe, t Target, s *State) Result {
	port := t.KubeletPort
	if port == 0 {
		port = api.DefaultKubeletPort
	}
	addrs := map[string]string{} // addr -> minion name
	for _, m := range t.Machines {
		addrs[net.JoinHostPort(m, strconv.Itoa(port))] = m
	}
	for _, m := range s.Minions {
		host := m.HostIP
		if host == "" {
			host = m.ID
		}
		p := port
		if m.KubeletPort != 0 {
			p = m.KubeletPort
		}
		addrs[net.JoinHostPort(host, strconv.Itoa(p))] = m.ID
	}
	if len(addrs) == 0 {
		return skip("no minions known (none registered, no --machines)")
	}
	var bad []string
	for _, a := range sortedKeys(addrs) {
		if err := p.Dial(ctx, a); err != nil {
			bad = append(bad, a)
		}
	}
	if len(bad) > 0 {
		return fail("on each of those minions open the kubelet port to the master: iptables -I INPUT -s MASTER_IP -p tcp --dport "+strconv.Itoa(port)+" -j ACCEPT",
			"kubelet port not reachable from here: %s", strings.Join(bad, ", "))
	}
	return pass("%d minion kubelet port(s) reachable", len(addrs))
}}

var checkRoutes = Check{Name: "pod-routes", Run: func(ctx context.Context, p Probe, t Target, s *State) Result {
	if !s.APIUp {
		return skip("needs the API")
	}
	if s.MinionsUnknown {
		return skip("needs the list of minions, which the API gives only with a credential")
	}
	routes, err := p.Routes()
	if err != nil {
		return fail("check that /proc/net/route is readable", "cannot read routes: %v", err)
	}
	missing := MissingRoutes(t.Hostname, s.Minions, routes)
	if len(missing) > 0 {
		return fail("keep kubelite minion running (it installs these routes), or add them: ip route add SUBNET via MINION_IP",
			"no route to pod subnets: %s", strings.Join(missing, ", "))
	}
	return pass("routes to every other minion's pod subnet present")
}}

// MissingRoutes lists the pod subnets of the other minions that no route
// in routes reaches through that minion's host IP ("10.244.2.0/24 via 192.168.1.202").
func MissingRoutes(self string, minions []minion, routes []Route) []string {
	var missing []string
	for _, m := range minions {
		if m.ID == self || m.PodCIDR == "" {
			continue
		}
		sub, err := netip.ParsePrefix(m.PodCIDR)
		if err != nil {
			continue
		}
		gw, _ := netip.ParseAddr(m.HostIP)
		found := false
		for _, r := range routes {
			if r.Dst == sub && (!gw.IsValid() || r.Gateway == gw) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s via %s", sub, m.HostIP))
		}
	}
	return missing
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// embedsEtcd: the target's etcd is the one it starts (an etcd port among
// its listeners).
func (t Target) embedsEtcd() bool {
	for _, l := range t.Listeners {
		if l.Flag == "etcd-addr" {
			return true
		}
	}
	return false
}

var checkPorts = Check{Name: "ports", Run: func(_ context.Context, p Probe, t Target, _ *State) Result {
	if len(t.Listeners) == 0 {
		return skip("no ports to listen on")
	}
	var busy, denied, free []string
	for _, l := range t.Listeners {
		switch err := p.Listen(l.Addr); {
		case errors.Is(err, syscall.EACCES):
			denied = append(denied, fmt.Sprintf("--%s %s", l.Flag, l.Addr))
		case err != nil:
			busy = append(busy, fmt.Sprintf("--%s %s: %v", l.Flag, l.Addr, err))
		default:
			free = append(free, l.Addr)
		}
	}
	if len(denied) > 0 {
		return fail("run kubelite as root, or choose ports above 1023 with the flags",
			"not allowed to listen on %s (ports below 1024 need root)", strings.Join(denied, ", "))
	}
	if len(busy) > 0 {
		return fail("stop what listens there (ss -ltnp shows it; a kubelite already running? then run doctor --mode=check), or choose another port with the flag",
			"in use: %s", strings.Join(busy, "; "))
	}
	return pass("free: %s", strings.Join(free, ", "))
}}

var checkDataDir = Check{Name: "data-dir", Run: func(_ context.Context, p Probe, t Target, _ *State) Result {
	if t.DataDir == "" {
		return skip("no data directory")
	}
	if err := p.Writable(t.DataDir); err != nil {
		return fail("run as root, or give --data-dir a directory this user may write (standalone: ~/.kubelite when not root)",
			"%s is not writable: %v", t.DataDir, err)
	}
	return pass("%s writable", t.DataDir)
}}

// Kernel settings the pod network and the proxy need.
const (
	sysctlForward  = "/proc/sys/net/ipv4/ip_forward"
	sysctlBridgeNF = "/proc/sys/net/bridge/bridge-nf-call-iptables"
)

var checkKernel = Check{Name: "kernel", Run: func(_ context.Context, p Probe, t Target, _ *State) Result {
	if !t.needsIPTables() {
		return skip("no proxy and no bridge network")
	}
	var bad []string
	var fixes []string
	if b, err := p.ReadFile(sysctlForward); err != nil || strings.TrimSpace(string(b)) != "1" {
		bad = append(bad, "IP forwarding is off ("+sysctlForward+")")
		fixes = append(fixes, "sysctl -w net.ipv4.ip_forward=1")
	}
	if t.needsDocker() && t.Network != "none" {
		b, err := p.ReadFile(sysctlBridgeNF)
		switch {
		case err != nil:
			bad = append(bad, "br_netfilter is not loaded (no "+sysctlBridgeNF+")")
			fixes = append(fixes, "modprobe br_netfilter")
		case strings.TrimSpace(string(b)) != "1":
			bad = append(bad, "bridged traffic skips iptables ("+sysctlBridgeNF+" is 0)")
			fixes = append(fixes, "sysctl -w net.bridge.bridge-nf-call-iptables=1")
		}
	}
	if len(bad) > 0 {
		return fail(strings.Join(fixes, "; ")+" (as root; Docker sets them when it starts)", "%s", strings.Join(bad, "; "))
	}
	return pass("IP forwarding on, bridged traffic through iptables")
}}

var checkProxyRules = Check{Name: "proxy-rules", Run: func(ctx context.Context, p Probe, t Target, _ *State) Result {
	// internal/proxy's chains: KUBELITE-SERVICES holds the portals (iptables
	// mode) and one KUBELITE-SVC-* chain per service port; userspace mode
	// keeps the tutorial's KUBE-PROXY.
	chain := "KUBELITE-SERVICES"
	switch t.ProxyMode {
	case "none":
		return skip("--proxy-mode=none")
	case "userspace":
		chain = "KUBE-PROXY"
	}
	rules, err := p.NATRules(ctx)
	if err != nil {
		return fail("install iptables and run doctor as root", "cannot read the nat table: %v", err)
	}
	if !strings.Contains(rules, ":"+chain+" ") {
		return fail("start kubelite "+t.Role+" (its proxy writes them within a second), or check its log for the proxy's errors",
			"no %s chain in the nat table: the service proxy is not running here", chain)
	}
	if t.ProxyMode == "userspace" {
		return pass("%s present, %d portal rules", chain, strings.Count(rules, "-A KUBE-PROXY "))
	}
	return pass("%s present, %d service chains", chain, strings.Count(rules, ":KUBELITE-SVC-"))
}}

// ChooseMode picks Running when something listens on the target's first
// listener (the API, or a minion's kubelet), else Preflight. Only "address
// in use" means something listens: a port this user may not bind (below
// 1024 without root) is preflight's ports check to report.
func ChooseMode(p Probe, t Target) string {
	if len(t.Listeners) > 0 && errors.Is(p.Listen(t.Listeners[0].Addr), syscall.EADDRINUSE) {
		return Running
	}
	return Preflight
}
