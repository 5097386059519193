package podnet

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/sirupsen/logrus"

	"kubelite/internal/netfilter"
)

// Minion is one minion's place in the pod network.
type Minion struct {
	Name    string
	HostIP  netip.Addr   // its address on the minions' shared segment
	PodCIDR netip.Prefix // its pod subnet; invalid (zero) until the master assigns one
}

// Config describes the minion podnet runs on.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry `json:"-"`
	// Self is this minion's name in the minion list; HostIP its address. A
	// minion matching either is this one and gets no route.
	Self   string
	HostIP netip.Addr
	// ClusterCIDR holds every pod subnet (10.244.0.0/16 by default).
	ClusterCIDR netip.Prefix
}

// Route is "Dst via Via".
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

func (r Route) String() string { return r.Dst.String() + " via " + r.Via.String() }

// Plan is what podnet wants on this minion.
type Plan struct {
	Routes   []Route  // sorted by destination
	Problems []string // minions left out, and why
}

// MakePlan computes the routes to every other minion's pod subnet. Minions
// without a pod subnet or host address yet, with a subnet outside the
// cluster CIDR, or whose subnet overlaps another minion's (including this
// one's) get no route and are named in Problems.
func MakePlan(cfg Config, minions []Minion) Plan {
	var p Plan
	sorted := append([]Minion(nil), minions...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	isSelf := func(m Minion) bool {
		return (cfg.Self != "" && m.Name == cfg.Self) || (cfg.HostIP.IsValid() && m.HostIP == cfg.HostIP)
	}
	var valid []Minion
	for _, m := range sorted {
		switch {
		case !m.PodCIDR.IsValid():
			if !isSelf(m) {
				p.Problems = append(p.Problems, fmt.Sprintf("minion %s: no pod subnet yet", m.Name))
			}
			continue
		case !m.HostIP.IsValid() && !isSelf(m):
			p.Problems = append(p.Problems, fmt.Sprintf("minion %s: no host address", m.Name))
			continue
		case !m.PodCIDR.Addr().Is4() || (m.HostIP.IsValid() && !m.HostIP.Is4()):
			p.Problems = append(p.Problems, fmt.Sprintf("minion %s: not IPv4 (%s, %s)", m.Name, m.PodCIDR, m.HostIP))
			continue
		case cfg.ClusterCIDR.IsValid() && !(cfg.ClusterCIDR.Contains(m.PodCIDR.Addr()) && m.PodCIDR.Bits() >= cfg.ClusterCIDR.Bits()):
			p.Problems = append(p.Problems, fmt.Sprintf("minion %s: pod subnet %s outside cluster CIDR %s", m.Name, m.PodCIDR, cfg.ClusterCIDR))
			continue
		}
		valid = append(valid, m)
	}
	for i, m := range valid {
		if isSelf(m) {
			continue
		}
		clash := ""
		for j, o := range valid {
			if i != j && m.PodCIDR.Overlaps(o.PodCIDR) {
				clash = o.Name
				break
			}
		}
		if clash != "" {
			p.Problems = append(p.Problems, fmt.Sprintf("minion %s: pod subnet %s overlaps minion %s's", m.Name, m.PodCIDR, clash))
			continue
		}
		p.Routes = append(p.Routes, Route{Dst: m.PodCIDR.Masked(), Via: m.HostIP})
	}
	sort.Slice(p.Routes, func(i, j int) bool { return p.Routes[i].Dst.String() < p.Routes[j].Dst.String() })
	return p
}

// DiffRoutes returns the routes to set (add or replace) and to delete to turn
// current (podnet's own routes on the host) into desired.
func DiffRoutes(current, desired []Route) (set, del []Route) {
	have := map[netip.Prefix]netip.Addr{}
	for _, r := range current {
		have[r.Dst.Masked()] = r.Via
	}
	want := map[netip.Prefix]bool{}
	for _, r := range desired {
		want[r.Dst.Masked()] = true
		if via, ok := have[r.Dst.Masked()]; !ok || via != r.Via {
			set = append(set, r)
		}
	}
	for _, r := range current {
		if !want[r.Dst.Masked()] {
			del = append(del, r)
		}
	}
	return set, del
}

// Chains and jumps podnet owns.
const (
	NATChain    netfilter.Chain = "KUBELITE-PODNET"
	FilterChain netfilter.Chain = "KUBELITE-PODNET-FWD"
	natJump                     = "-j " + string(NATChain)
	filterJump                  = "-j " + string(FilterChain)
)

// Rules returns the iptables-restore text (--noflush) that (re)writes
// podnet's two chains for cluster CIDR cluster. The jumps into them are
// ensured separately, first in their built-in chains.
func Rules(cluster netip.Prefix) []byte {
	c := cluster.Masked().String()
	var b netfilter.Builder
	b.DeclareChain(netfilter.TableNAT, NATChain)
	// The proxy marks a pod's packet to its own service that came back to
	// itself (hairpin) for masquerading: let it through to the proxy's rule.
	b.AddRule(netfilter.TableNAT, NATChain, "-m", "mark", "--mark", netfilter.MasqMark, "-m", "comment", "--comment", "kubelite service hairpin: the proxy masquerades", "-j", "RETURN")
	b.AddRule(netfilter.TableNAT, NATChain, "-s", c, "-d", c, "-m", "comment", "--comment", "kubelite pod to pod: no NAT", "-j", "ACCEPT")
	b.AddRule(netfilter.TableNAT, NATChain, "-s", c, "!", "-d", c, "-m", "comment", "--comment", "kubelite pod leaving the cluster", "-j", "MASQUERADE")
	b.DeclareChain(netfilter.TableFilter, FilterChain)
	b.AddRule(netfilter.TableFilter, FilterChain, "-s", c, "-j", "ACCEPT")
	b.AddRule(netfilter.TableFilter, FilterChain, "-d", c, "-j", "ACCEPT")
	return b.Bytes()
}

// jumpFix says how to make jump the first rule of a chain whose rules are
// given: how many copies of it to delete first, and whether to insert it at
// the top afterwards.
func jumpFix(rules []string, jump string) (deletes int, insert bool) {
	if len(rules) > 0 && rules[0] == jump {
		for _, r := range rules[1:] {
			if r == jump {
				deletes++
			}
		}
		if deletes > 0 { // deleting removes the first copy: take them all, put one back
			return deletes + 1, true
		}
		return 0, false
	}
	for _, r := range rules {
		if r == jump {
			deletes++
		}
	}
	return deletes, true
}
