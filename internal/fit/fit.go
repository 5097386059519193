package fit

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"kubelite/internal/api"
)

// Reasons a predicate gives; stable texts so they can be counted.
const (
	ReasonNotReady      = "minion NotReady"
	ReasonUnschedulable = "minion unschedulable"
	ReasonCPU           = "insufficient cpu"
	ReasonMemory        = "insufficient memory"
	ReasonNodeSelector  = "nodeSelector mismatch"
)

// Check returns why pod does not fit on minion given the pods already bound
// to it (pod itself, if among them, is skipped); nil means it fits.
func Check(pod *api.Pod, minion *api.Minion, podsOnMinion []*api.Pod) []string {
	n := NewNode(minion)
	for _, p := range podsOnMinion {
		if p == nil || samePod(p, pod) {
			continue
		}
		n.Add(p)
	}
	return n.Check(pod)
}

func samePod(a, b *api.Pod) bool {
	return a.ID == b.ID && ns(a.Namespace) == ns(b.Namespace)
}

func ns(s string) string {
	if s == "" {
		return api.DefaultNamespace
	}
	return s
}

// Terminated reports whether a pod has finished (Succeeded or Failed) and so
// holds no ports or resources.
func Terminated(p *api.Pod) bool {
	ph := p.CurrentState.Phase
	return ph == api.PodPhaseSucceeded || ph == api.PodPhaseFailed
}

// Requests returns the cpu millicores and memory bytes a pod asks for.
func Requests(p *api.Pod) (cpu, mem int64) {
	for _, c := range p.DesiredState.Manifest.Containers {
		cpu += c.CPU
		mem += c.Memory
	}
	return cpu, mem
}

// HostPort is one port a pod binds on its minion.
type HostPort struct {
	Protocol string // TCP or UDP
	IP       string // "" for every address
	Port     int
}

// String renders "8080" for TCP and "53/UDP" otherwise (the host IP, when
// set, as "127.0.0.1:8080").
func (h HostPort) String() string {
	s := strconv.Itoa(h.Port)
	if h.IP != "" {
		s = h.IP + ":" + s
	}
	if h.Protocol != "TCP" {
		s += "/" + h.Protocol
	}
	return s
}

// HostPorts returns the host ports a pod binds, normalized (protocol upper
// case, TCP by default; host IP "" for any address).
func HostPorts(p *api.Pod) []HostPort {
	var out []HostPort
	for _, c := range p.DesiredState.Manifest.Containers {
		for _, port := range c.Ports {
			if port.HostPort <= 0 {
				continue
			}
			out = append(out, normPort(port))
		}
	}
	return out
}

func normPort(p api.Port) HostPort {
	proto := strings.ToUpper(p.Protocol)
	if proto == "" {
		proto = "TCP"
	}
	ip := p.HostIP
	if ip == "0.0.0.0" || ip == "::" {
		ip = ""
	}
	return HostPort{Protocol: proto, IP: ip, Port: p.HostPort}
}

type protoPort struct {
	proto string
	port  int
}

// Node aggregates what the pods bound to one minion hold. Not safe for
// concurrent use; the zero value is not usable: use NewNode.
type Node struct {
	Minion *api.Minion

	// Pods counts the (non-terminated) pods added.
	Pods int
	// CPU and Memory are the sums of the pods' requests.
	CPU, Memory int64

	ports  map[protoPort]map[string]int // proto/port -> host IP ("" = any) -> users
	groups map[string]*LabelGroup       // canonical label set -> group

	own   api.Minion // SetMinion's copy, which Minion then points at
	ready bool       // own's condition is Ready
}

// SetMinion points Minion at a copy of m held in the node itself (nil: no
// minion). A scheduler reads every node's minion for every pod; a minion
// decoded afresh at each heartbeat lies wherever that decode put it, and at
// 5,000 minions reading their conditions was a cache miss each, 13% of a
// busy master's CPU. The copy is shallow: m's maps are shared, as cached
// objects are never changed.
func (n *Node) SetMinion(m *api.Minion) {
	if m == nil {
		n.Minion, n.own, n.ready = nil, api.Minion{}, false
		return
	}
	n.own = *m
	n.Minion, n.ready = &n.own, m.Status.Condition == api.MinionReady
}

// LabelGroup counts the pods on a minion that carry one exact label set.
type LabelGroup struct {
	Labels map[string]string
	Count  int
}

// NewNode returns an empty aggregate for minion (which may be nil until known).
func NewNode(minion *api.Minion) *Node {
	return &Node{Minion: minion, ports: map[protoPort]map[string]int{}, groups: map[string]*LabelGroup{}}
}

// LabelKey renders a label set canonically (sorted k=v joined by commas).
// Renderings are interned (labelKeys): the scheduler and the registry's
// index key every pod's group by it, several times a change, and a cluster
// has few label sets, so equal sets share one string and a set seen before
// costs no allocation.
func LabelKey(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	var keyArr [8]string
	keys := keyArr[:0]
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var buf [256]byte
	b := buf[:0]
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, labels[k]...)
	}
	return labelKeys.intern(b)
}

// maxLabelKeys bounds the interned renderings: past it the table starts
// afresh (strings already handed out stay valid, only no longer shared).
const maxLabelKeys = 1 << 16

var labelKeys = newInterner(maxLabelKeys)

// interner hands out one string for equal byte strings, up to max of them.
type interner struct {
	max int
	mu  sync.RWMutex
	m   map[string]string
}

func newInterner(max int) *interner { return &interner{max: max, m: map[string]string{}} }

func (in *interner) intern(b []byte) string {
	in.mu.RLock()
	s, ok := in.m[string(b)]
	in.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	in.mu.Lock()
	defer in.mu.Unlock()
	if t, ok := in.m[s]; ok {
		return t
	}
	if len(in.m) >= in.max {
		in.m = make(map[string]string, len(in.m)/4)
	}
	in.m[s] = s
	return s
}

// Add accounts pod on the node; terminated pods are ignored. Remove with the
// same pod undoes it.
func (n *Node) Add(p *api.Pod) { n.apply(p, 1) }

// Remove undoes Add of the same pod.
func (n *Node) Remove(p *api.Pod) { n.apply(p, -1) }

func (n *Node) apply(p *api.Pod, d int) {
	if Terminated(p) {
		return
	}
	cpu, mem := Requests(p)
	n.Pods += d
	n.CPU += int64(d) * cpu
	n.Memory += int64(d) * mem
	for _, hp := range HostPorts(p) {
		k := protoPort{hp.Protocol, hp.Port}
		m := n.ports[k]
		if m == nil {
			m = map[string]int{}
			n.ports[k] = m
		}
		m[hp.IP] += d
		if m[hp.IP] <= 0 {
			delete(m, hp.IP)
			if len(m) == 0 {
				delete(n.ports, k)
			}
		}
	}
	lk := LabelKey(p.Labels)
	g := n.groups[lk]
	if g == nil {
		if d < 0 {
			return
		}
		g = &LabelGroup{Labels: p.Labels}
		n.groups[lk] = g
	}
	g.Count += d
	if g.Count <= 0 {
		delete(n.groups, lk)
	}
}

// PortInUse reports whether hp conflicts with a port a pod on the node binds.
func (n *Node) PortInUse(hp HostPort) bool {
	m := n.ports[protoPort{hp.Protocol, hp.Port}]
	if len(m) == 0 {
		return false
	}
	if hp.IP == "" {
		return true // any address collides with every address
	}
	return m[""] > 0 || m[hp.IP] > 0
}

// Matching counts the pods on the node whose labels include every label of
// sel (the spreading count: pods of the same controller or service).
func (n *Node) Matching(sel map[string]string) int {
	if len(sel) == 0 {
		return 0
	}
	total := 0
	for _, g := range n.groups {
		if isSubset(sel, g.Labels) {
			total += g.Count
		}
	}
	return total
}

func isSubset(sub, set map[string]string) bool {
	if len(sub) > len(set) {
		return false
	}
	for k, v := range sub {
		if w, ok := set[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// PodInfo is what the predicates need of a pod, computed once so that one
// pod can be checked against many nodes cheaply.
type PodInfo struct {
	Pod       *api.Pod
	Ports     []HostPort // deduplicated
	CPU, Mem  int64
	Selector  map[string]string // nodeSelector
	SpreadSet map[string]string // labels: pods carrying all of them are "the same kind"
}

// NewPodInfo computes p's PodInfo.
func NewPodInfo(p *api.Pod) *PodInfo {
	pi := &PodInfo{Pod: p, Selector: p.NodeSelector, SpreadSet: p.Labels}
	pi.CPU, pi.Mem = Requests(p)
	seen := map[HostPort]bool{}
	for _, hp := range HostPorts(p) {
		if !seen[hp] {
			seen[hp] = true
			pi.Ports = append(pi.Ports, hp)
		}
	}
	return pi
}

// Check returns why pod does not fit on the node; nil means it fits. The
// node's Minion must be set.
func (n *Node) Check(pod *api.Pod) []string { return n.CheckInfo(NewPodInfo(pod)) }

// CheckInfo is Check for a precomputed PodInfo: the reasons of every
// predicate in Predicates, in order.
func (n *Node) CheckInfo(pi *PodInfo) []string {
	if n.Minion == nil {
		return []string{"minion unknown"}
	}
	var reasons []string
	for _, p := range Predicates {
		reasons = p.Check(n, pi, reasons)
	}
	return reasons
}

// Predicate is one rule a minion must pass for a pod to fit. Check appends
// the reasons it fails (stable texts, counted by Summarize) to reasons and
// returns them; it appends nothing when the pod passes. n.Minion is set.
type Predicate struct {
	Name  string
	Check func(n *Node, pi *PodInfo, reasons []string) []string
}

// Predicates are the rules the scheduler and the registry's binding check
// apply, in the order their reasons are reported. A new rule is one more
// entry here (with a row in fit_test.go).
var Predicates = []Predicate{
	{"MinionReady", minionReady},
	{"Schedulable", schedulable},
	{"HostPorts", hostPortsFree},
	{"Resources", resourcesFit},
	{"NodeSelector", nodeSelectorMatches},
}

func minionReady(n *Node, _ *PodInfo, reasons []string) []string {
	if n.ready && n.Minion == &n.own {
		return reasons
	}
	switch c := n.Minion.Status.Condition; c {
	case api.MinionReady:
		return reasons
	case api.MinionNotReady:
		return append(reasons, ReasonNotReady)
	case "":
		return append(reasons, "minion "+string(api.MinionUnknown))
	default:
		return append(reasons, "minion "+string(c))
	}
}

func schedulable(n *Node, _ *PodInfo, reasons []string) []string {
	if n.Minion.Unschedulable {
		reasons = append(reasons, ReasonUnschedulable)
	}
	return reasons
}

func hostPortsFree(n *Node, pi *PodInfo, reasons []string) []string {
	for _, hp := range pi.Ports {
		if n.PortInUse(hp) {
			reasons = append(reasons, "hostPort "+hp.String()+" in use")
		}
	}
	return reasons
}

func resourcesFit(n *Node, pi *PodInfo, reasons []string) []string {
	capacity := n.Minion.Resources.Capacity
	if c := capacity.CPU; c > 0 && pi.CPU > 0 && n.CPU+pi.CPU > c {
		reasons = append(reasons, ReasonCPU)
	}
	if c := capacity.Memory; c > 0 && pi.Mem > 0 && n.Memory+pi.Mem > c {
		reasons = append(reasons, ReasonMemory)
	}
	return reasons
}

func nodeSelectorMatches(n *Node, pi *PodInfo, reasons []string) []string {
	if !isSubset(pi.Selector, n.Minion.Labels) {
		reasons = append(reasons, ReasonNodeSelector)
	}
	return reasons
}

// Summarize renders why a pod fits none of total minions, counting each
// reason over the minions: "0/2 minions fit: 2 hostPort 8080 in use".
// byMinion holds the reasons of each minion that did not fit.
func Summarize(total int, byMinion map[string][]string) string {
	if total == 0 {
		return "0/0 minions fit: no minions registered"
	}
	counts := map[string]int{}
	for _, rs := range byMinion {
		for _, r := range rs {
			counts[r]++
		}
	}
	type rc struct {
		r string
		n int
	}
	var list []rc
	for r, n := range counts {
		list = append(list, rc{r, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].r < list[j].r
	})
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprintf("%d %s", x.n, x.r)
	}
	fits := total - len(byMinion)
	return fmt.Sprintf("%d/%d minions fit: %s", fits, total, strings.Join(parts, ", "))
}

// GroupCount returns how many pods on the node carry exactly the label set
// whose LabelKey is key.
func (n *Node) GroupCount(key string) int {
	if g := n.groups[key]; g != nil {
		return g.Count
	}
	return 0
}

// LabelSets calls f with every distinct label set of the node's pods.
func (n *Node) LabelSets(f func(key string, labels map[string]string)) {
	for k, g := range n.groups {
		f(k, g.Labels)
	}
}

// IsSubset reports whether every label of sub is in set with the same value.
func IsSubset(sub, set map[string]string) bool { return isSubset(sub, set) }
