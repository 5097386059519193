package proxy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/netfilter"
)

// Chains kubelite owns. Nothing else is ever flushed or deleted.
const (
	// chainUserspace is the tutorial's chain (userspace mode), nat table.
	chainUserspace netfilter.Chain = "KUBE-PROXY"
	// chainServices holds the portal matches (nat) and the rejects of
	// services without endpoints (filter).
	chainServices netfilter.Chain = "KUBELITE-SERVICES"
	// chainPostrouting masquerades packets marked by chainMarkMasq.
	chainPostrouting netfilter.Chain = "KUBELITE-POSTROUTING"
	chainMarkMasq    netfilter.Chain = "KUBELITE-MARK-MASQ"
	// chainForward (filter) accepts forwarded service traffic even where the
	// FORWARD policy is DROP (as Docker sets it).
	chainForward netfilter.Chain = "KUBELITE-FORWARD"
)

// Prefixes of the proxy's per-service chains.
const (
	svcChainPrefix = "KUBELITE-SVC-"
	affinityPrefix = "KUBELITE-AFF-"
	// legacySEPPrefix: per-endpoint chains of earlier kubelite builds,
	// still the proxy's to remove.
	legacySEPPrefix = "KUBELITE-SEP-"
)

// masqMark is the fwmark bit that asks KUBELITE-POSTROUTING to masquerade.
const masqMark = netfilter.MasqMark

// ownChain reports whether a chain belongs to the proxy. Other parts of
// kubelite (podnet's KUBELITE-PODNET, a lab's KUBELITE-LAB-*) have chains of
// their own in the same tables: the proxy names its chains one by one.
func ownChain(c netfilter.Chain) bool {
	switch c {
	case chainUserspace, chainServices, chainPostrouting, chainMarkMasq, chainForward:
		return true
	}
	for _, p := range []string{svcChainPrefix, affinityPrefix, legacySEPPrefix} {
		if strings.HasPrefix(string(c), p) {
			return true
		}
	}
	return false
}

// endpoint is one backend of a service.
type endpoint struct {
	IP   string
	Port int
}

func (e endpoint) String() string { return net.JoinHostPort(e.IP, strconv.Itoa(e.Port)) }

// service is what the planners need to know of one service: plain data,
// derived from an api.Service and its api.Endpoints by servicesFrom.
type service struct {
	Name      string // <namespace>/<id>
	PortalIP  string
	Port      int
	Protocol  string // "tcp" or "udp"
	PublicIPs []string
	Affinity  bool
	Endpoints []endpoint // sorted, no duplicates
}

// servicesFrom turns services and endpoints into planner input, sorted by
// name. Services without a usable portal IP, port or protocol are left out
// and reported in problems; so are malformed endpoints. publicIPs are kept
// only when hostIP is empty or equal to them: a minion answers on its own
// address.
func servicesFrom(svcs []*api.Service, eps []*api.Endpoints, hostIP string) (out []service, problems []string) {
	byName := map[string]*api.Endpoints{}
	for _, e := range eps {
		byName[nameOf(&e.TypeMeta)] = e
	}
	for _, s := range svcs {
		name := nameOf(&s.TypeMeta)
		ip := net.ParseIP(s.PortalIP)
		if ip == nil || ip.To4() == nil {
			problems = append(problems, fmt.Sprintf("service %s: portal IP %q is not an IPv4 address; skipped", name, s.PortalIP))
			continue
		}
		if s.Port <= 0 || s.Port > 65535 {
			problems = append(problems, fmt.Sprintf("service %s: port %d out of range; skipped", name, s.Port))
			continue
		}
		proto := strings.ToLower(s.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			problems = append(problems, fmt.Sprintf("service %s: protocol %q not supported; skipped", name, s.Protocol))
			continue
		}
		svc := service{
			Name:     name,
			PortalIP: ip.To4().String(),
			Port:     s.Port,
			Protocol: proto,
			Affinity: s.SessionAffinity == api.AffinityClientIP,
		}
		seenPub := map[string]bool{}
		for _, p := range s.PublicIPs {
			pip := net.ParseIP(p)
			if pip == nil || pip.To4() == nil {
				problems = append(problems, fmt.Sprintf("service %s: public IP %q is not an IPv4 address; ignored", name, p))
				continue
			}
			p = pip.To4().String()
			if (hostIP == "" || p == hostIP) && !seenPub[p] {
				seenPub[p] = true
				svc.PublicIPs = append(svc.PublicIPs, p)
			}
		}
		sort.Strings(svc.PublicIPs)
		if e, ok := byName[name]; ok {
			seen := map[endpoint]bool{}
			for _, hp := range e.Endpoints {
				ep, err := parseEndpoint(hp)
				if err != nil {
					problems = append(problems, fmt.Sprintf("service %s: endpoint %q: %v; ignored", name, hp, err))
					continue
				}
				if !seen[ep] {
					seen[ep] = true
					svc.Endpoints = append(svc.Endpoints, ep)
				}
			}
			sort.Slice(svc.Endpoints, func(i, j int) bool { return lessEndpoint(svc.Endpoints[i], svc.Endpoints[j]) })
		}
		out = append(out, svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, problems
}

func nameOf(m *api.TypeMeta) string {
	ns := m.Namespace
	if ns == "" {
		ns = api.DefaultNamespace
	}
	return ns + "/" + m.ID
}

func parseEndpoint(hp string) (endpoint, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return endpoint{}, fmt.Errorf("want ip:port")
	}
	ip := net.ParseIP(h)
	if ip == nil || ip.To4() == nil {
		return endpoint{}, fmt.Errorf("%q is not an IPv4 address", h)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return endpoint{}, fmt.Errorf("port %q out of range", p)
	}
	return endpoint{IP: ip.To4().String(), Port: port}, nil
}

func lessEndpoint(a, b endpoint) bool {
	ai, bi := net.ParseIP(a.IP).To4(), net.ParseIP(b.IP).To4()
	for k := range ai {
		if ai[k] != bi[k] {
			return ai[k] < bi[k]
		}
	}
	return a.Port < b.Port
}

// hashName returns a chain name: prefix plus 12 base32 characters of a hash
// of parts (iptables allows 28 characters).
func hashName(prefix string, parts ...string) netfilter.Chain {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:])
	return netfilter.Chain(prefix + enc[:12])
}

func svcChain(s service) netfilter.Chain { return hashName(svcChainPrefix, s.Name, s.Protocol) }

// affinityName names the -m recent table remembering the clients of one
// endpoint of a service.
func affinityName(s service, e endpoint) netfilter.Chain {
	return hashName(affinityPrefix, s.Name, s.Protocol, e.String())
}

// jump is a rule in a built-in chain that leads into one of kubelite's.
type jump struct {
	Table netfilter.Table
	Chain netfilter.Chain
	Args  []string
}

const (
	commentPortals = "kubelite service portals"
	commentReject  = "kubelite services without endpoints"
	commentPost    = "kubelite postrouting rules"
	commentForward = "kubelite forwarding rules"
)

// iptablesJumps are the rules iptables mode keeps in the built-in chains.
var iptablesJumps = []jump{
	{netfilter.TableNAT, netfilter.ChainPrerouting, []string{"-m", "comment", "--comment", commentPortals, "-j", string(chainServices)}},
	{netfilter.TableNAT, netfilter.ChainOutput, []string{"-m", "comment", "--comment", commentPortals, "-j", string(chainServices)}},
	{netfilter.TableNAT, netfilter.ChainPostrouting, []string{"-m", "comment", "--comment", commentPost, "-j", string(chainPostrouting)}},
	{netfilter.TableFilter, netfilter.ChainForward, []string{"-m", "comment", "--comment", commentForward, "-j", string(chainForward)}},
}

// rejectJumps lead to the filter rules that reject services without endpoints (both modes).
var rejectJumps = []jump{
	{netfilter.TableFilter, netfilter.ChainInput, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", commentReject, "-j", string(chainServices)}},
	{netfilter.TableFilter, netfilter.ChainForward, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", commentReject, "-j", string(chainServices)}},
	{netfilter.TableFilter, netfilter.ChainOutput, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", commentReject, "-j", string(chainServices)}},
}

// userspaceJumps are the tutorial's jumps into KUBE-PROXY.
var userspaceJumps = []jump{
	{netfilter.TableNAT, netfilter.ChainPrerouting, []string{"-j", string(chainUserspace)}},
	{netfilter.TableNAT, netfilter.ChainOutput, []string{"-j", string(chainUserspace)}},
}

// jumpsFor returns the jumps mode keeps; mode none keeps none.
func jumpsFor(mode Mode) []jump {
	switch mode {
	case ModeIptables:
		return append(append([]jump(nil), iptablesJumps...), rejectJumps...)
	case ModeUserspace:
		return append(append([]jump(nil), userspaceJumps...), rejectJumps...)
	}
	return nil
}

// allJumps is every jump any mode ever writes (for cleanup and mode switches).
func allJumps() []jump {
	return append(append(append([]jump(nil), iptablesJumps...), userspaceJumps...), rejectJumps...)
}

// existingChains are kubelite's chains found in iptables, per table.
type existingChains map[netfilter.Table][]netfilter.Chain

// deleteStale adds to b the deletion of every existing kubelite chain that b
// did not declare.
func deleteStale(b *netfilter.Builder, want map[netfilter.Table]map[netfilter.Chain]bool, existing existingChains) {
	tables := make([]netfilter.Table, 0, len(existing))
	for t := range existing {
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i] > tables[j] }) // nat before filter
	for _, t := range tables {
		for _, c := range existing[t] {
			if ownChain(c) && !want[t][c] {
				b.DeleteChain(t, c)
			}
		}
	}
}

// planRejects writes the filter chain: REJECT for each portal and public IP
// of services without endpoints.
func planRejects(b *netfilter.Builder, want map[netfilter.Table]map[netfilter.Chain]bool, svcs []service) {
	declare(b, want, netfilter.TableFilter, chainServices)
	for _, s := range svcs {
		if len(s.Endpoints) > 0 {
			continue
		}
		for _, dst := range append([]string{s.PortalIP}, s.PublicIPs...) {
			b.AddRule(netfilter.TableFilter, chainServices,
				"-m", "comment", "--comment", s.Name+" has no endpoints",
				"-d", dst+"/32", "-p", s.Protocol, "--dport", strconv.Itoa(s.Port),
				"-j", "REJECT", "--reject-with", "icmp-port-unreachable")
		}
	}
}

func declare(b *netfilter.Builder, want map[netfilter.Table]map[netfilter.Chain]bool, t netfilter.Table, c netfilter.Chain) {
	if want[t] == nil {
		want[t] = map[netfilter.Chain]bool{}
	}
	want[t][c] = true
	b.DeclareChain(t, c)
}

// planIptables returns the restore transaction of iptables mode for svcs:
// every chain it needs is
// declared (so rewritten from scratch), every other existing kubelite chain
// is deleted. One chain per service keeps the chain count (which dominates
// the cost of iptables-restore and iptables-save on nf_tables) at services+3.
func planIptables(svcs []service, existing existingChains, affinityTimeout time.Duration) *netfilter.Builder {
	var b netfilter.Builder
	want := map[netfilter.Table]map[netfilter.Chain]bool{}
	nat := netfilter.TableNAT
	declare(&b, want, nat, chainServices)
	declare(&b, want, nat, chainPostrouting)
	declare(&b, want, nat, chainMarkMasq)
	b.AddRule(nat, chainPostrouting, "-m", "mark", "!", "--mark", masqMark, "-j", "RETURN")
	b.AddRule(nat, chainPostrouting, "-j", "MARK", "--xor-mark", "0x4000")
	b.AddRule(nat, chainPostrouting, "-m", "comment", "--comment", "kubelite service traffic requiring SNAT", "-j", "MASQUERADE")
	b.AddRule(nat, chainMarkMasq, "-j", "MARK", "--or-mark", "0x4000")

	affSeconds := strconv.Itoa(max(1, int(affinityTimeout/time.Second)))
	for _, s := range svcs {
		if len(s.Endpoints) == 0 {
			continue // rejected in the filter table
		}
		port := strconv.Itoa(s.Port)
		svcC := svcChain(s)
		declare(&b, want, nat, svcC)
		b.AddRule(nat, chainServices,
			"-m", "comment", "--comment", s.Name+" portal",
			"-d", s.PortalIP+"/32", "-p", s.Protocol, "--dport", port, "-j", string(svcC))
		for _, pub := range s.PublicIPs {
			// Replies from an endpoint elsewhere must come back through here.
			b.AddRule(nat, chainServices,
				"-m", "comment", "--comment", s.Name+" public IP",
				"-d", pub+"/32", "-p", s.Protocol, "--dport", port, "-j", string(chainMarkMasq))
			b.AddRule(nat, chainServices,
				"-m", "comment", "--comment", s.Name+" public IP",
				"-d", pub+"/32", "-p", s.Protocol, "--dport", port, "-j", string(svcC))
		}
		// Hairpin: an endpoint reaching its own service may be sent to
		// itself; its reply must come back through here.
		seenIP := map[string]bool{}
		for _, e := range s.Endpoints {
			if !seenIP[e.IP] {
				seenIP[e.IP] = true
				b.AddRule(nat, svcC, "-m", "comment", "--comment", s.Name,
					"-s", e.IP+"/32", "-j", string(chainMarkMasq))
			}
		}
		names := make([]string, len(s.Endpoints))
		for i, e := range s.Endpoints {
			names[i] = string(affinityName(s, e))
		}
		if s.Affinity {
			// A client seen within the timeout goes where it went before
			// (--update also refreshes its timestamp).
			for i, e := range s.Endpoints {
				b.AddRule(nat, svcC, "-m", "comment", "--comment", s.Name,
					"-m", "recent", "--name", names[i], "--update", "--seconds", affSeconds, "--reap",
					"-p", s.Protocol, "-j", "DNAT", "--to-destination", e.String())
			}
		}
		n := len(s.Endpoints)
		for i, e := range s.Endpoints {
			args := []string{"-m", "comment", "--comment", s.Name}
			if i < n-1 {
				// Equal weights: the i-th rule takes 1/(n-i) of what reaches it.
				args = append(args, "-m", "statistic", "--mode", "random", "--probability", fmt.Sprintf("%0.10f", 1.0/float64(n-i)))
			}
			if s.Affinity {
				args = append(args, "-m", "recent", "--name", names[i], "--set")
			}
			b.AddRule(nat, svcC, append(args, "-p", s.Protocol, "-j", "DNAT", "--to-destination", e.String())...)
		}
	}
	// Forwarded service traffic: new connections marked above (public IPs,
	// hairpin) and the rest of every DNATed connection.
	declare(&b, want, netfilter.TableFilter, chainForward)
	b.AddRule(netfilter.TableFilter, chainForward, "-m", "comment", "--comment", "kubelite traffic marked for SNAT",
		"-m", "mark", "--mark", masqMark, "-j", "ACCEPT")
	b.AddRule(netfilter.TableFilter, chainForward, "-m", "comment", "--comment", "kubelite DNATed connections",
		"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT")
	planRejects(&b, want, svcs)
	deleteStale(&b, want, existing)
	return &b
}

// planUserspace returns the restore transaction of userspace mode: the tutorial's
// KUBE-PROXY chain redirecting each portal (and public IP) of a service with
// endpoints to its local proxy port, plus the rejects. Services without a
// proxy port in ports are left out.
func planUserspace(svcs []service, ports map[string]int, existing existingChains) *netfilter.Builder {
	var b netfilter.Builder
	want := map[netfilter.Table]map[netfilter.Chain]bool{}
	declare(&b, want, netfilter.TableNAT, chainUserspace)
	for _, s := range svcs {
		pp, ok := ports[s.Name]
		if !ok || len(s.Endpoints) == 0 {
			continue
		}
		for _, dst := range append([]string{s.PortalIP}, s.PublicIPs...) {
			b.AddRule(netfilter.TableNAT, chainUserspace,
				"-m", "comment", "--comment", s.Name,
				"-d", dst+"/32", "-p", s.Protocol, "--dport", strconv.Itoa(s.Port),
				"-j", "REDIRECT", "--to-ports", strconv.Itoa(pp))
		}
	}
	planRejects(&b, want, svcs)
	deleteStale(&b, want, existing)
	return &b
}

// planCleanup returns the restore text deleting every existing kubelite chain.
func planCleanup(existing existingChains) []byte {
	var b netfilter.Builder
	deleteStale(&b, nil, existing)
	return b.Bytes()
}
